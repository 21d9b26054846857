"""Interval reports: the 15-minute counters kept as the day goes, and reports read from them.

The live counters are the routing event log folded incrementally (`fold`, run on
the router's timer thread and before each report is read) plus what contact
records add (`add_contact`: surveys). Both go through
`ivr.reports.tally`, which `rebuild` also runs over the whole log and every
record kept, so a rebuild equals the live figures.

Storage: one hash per queue or agent and UTC day (`keys.report_slots`), field
"<slot>:<counter>", expiring IVR_RETENTION_DAYS after that day.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import redis

from ivr import keys
from ivr.flows.model import Callflows, QueueConfig
from ivr.reports.chats import ChatContacts
from ivr.reports.contacts import DAY, Contact, ContactStore
from ivr.reports.tally import (
    AGENT_ALL,
    MAX_COUNTERS,
    QUEUE_ALL,
    SLOT_MS,
    AgentTrack,
    Cell,
    Tally,
    contact_parts,
    fold_events,
)
from ivr.routing.events import at_ms
from ivr.store import execute_pipeline, queue_script

log = logging.getLogger("ivr.reports")

FOLD_SCRIPT = (resources.files("ivr.reports") / "lua" / "fold.lua").read_text()
SUM_SCRIPT = (resources.files("ivr.reports") / "lua" / "sum.lua").read_text()
BATCH = 1000  # events folded per script call
FOLD_EVERY = 1.0  # seconds between folds on the timer thread
TICK_BATCHES = 5  # batches one tick folds at most: a long backlog never stalls the timers
PENDING_TTL = 4 * 3600  # the longest call: a record comes within that or never
ONCE_TTL = 2 * 86_400  # a contact's parts are counted within hours of its end; kept 2 days
INTERVALS = ("15", "30", "60", "day")

QUEUE_COLUMNS = ("interval_start", "queue", "offered", "answered", "abandoned",
                 "short_abandoned", "overflowed", "callbacks", "answered_in_sl",
                 "service_level", "abandon_rate", "asa", "aht", "avg_talk", "avg_hold",
                 "avg_wrap", "longest_wait", "transfers_out", "surveys", "csat")
AGENT_COLUMNS = ("interval_start", "agent", "handled", "talk", "hold", "wrap", "available",
                 "occupancy", "missed", "transfers_out", "surveys", "csat")
"""The CSV columns (other tools parse them: never changed). JSON rows also have the text
conversations' fields below, after these."""
QUEUE_CHAT_FIELDS = ("chats_offered", "chats_handled", "chats_abandoned", "chats_overflowed",
                     "chats_callbacks", "chat_transfers_out", "chat_frt", "chat_aht",
                     "chat_surveys", "chat_csat")
AGENT_CHAT_FIELDS = ("chats_handled", "chats_missed", "chat_transfers_out", "chat_frt",
                     "chat_aht", "chat_surveys", "chat_csat")


def ratio(top: float, bottom: float, places: int = 4) -> float | None:
    """top / bottom, or None when there is nothing to divide by."""
    return round(top / bottom, places) if bottom > 0 else None


def queue_row(c: dict[str, int]) -> dict[str, Any]:
    """A queue's columns from its counters (the definitions of docs/reports.md); a counter
    missing is 0."""
    return queue_cells([c.get(k, 0) for k in QUEUE_ALL])


def queue_cells(v: Sequence[int]) -> dict[str, Any]:
    """`queue_row` from the counters as a sequence in `QUEUE_ALL` order: a long
    report builds hundreds of thousands of these, so no dict of counters in between
    and `ratio` written out."""
    (offered, answered, abandoned, short_abandoned, overflowed, callbacks, in_sl,
     wait_answered, handled, talk, hold, wrap, longest_wait, transfers_out, surveys,
     survey_total, chats_offered, chats_handled, chats_abandoned, chats_overflowed,
     chats_callbacks, chat_transfers_out, chat_replies, chat_frt_total, chat_parts,
     chat_handle, chat_wrap, chat_surveys, chat_survey_total) = v
    offered_long = offered - short_abandoned
    return {
        "offered": offered, "answered": answered, "abandoned": abandoned,
        "short_abandoned": short_abandoned, "overflowed": overflowed,
        "callbacks": callbacks, "answered_in_sl": in_sl,
        "service_level": round(in_sl / offered, 4) if offered > 0 else None,
        "abandon_rate": round(abandoned / offered_long, 4) if offered_long > 0 else None,
        "asa": round(wait_answered / answered, 2) if answered > 0 else None,
        "aht": round((talk + hold + wrap) / handled, 2) if handled > 0 else None,
        "avg_talk": round(talk / handled, 2) if handled > 0 else None,
        "avg_hold": round(hold / handled, 2) if handled > 0 else None,
        "avg_wrap": round(wrap / handled, 2) if handled > 0 else None,
        "longest_wait": longest_wait,
        "transfers_out": transfers_out, "surveys": surveys,
        "csat": round(survey_total / surveys, 2) if surveys > 0 else None,
        "chats_offered": chats_offered, "chats_handled": chats_handled,
        "chats_abandoned": chats_abandoned, "chats_overflowed": chats_overflowed,
        "chats_callbacks": chats_callbacks, "chat_transfers_out": chat_transfers_out,
        "chat_frt": round(chat_frt_total / chat_replies, 2) if chat_replies > 0 else None,
        "chat_aht": round((chat_handle + chat_wrap) / chat_parts, 2) if chat_parts > 0
        else None,
        "chat_surveys": chat_surveys,
        "chat_csat": round(chat_survey_total / chat_surveys, 2) if chat_surveys > 0 else None,
    }


def agent_row(c: dict[str, int]) -> dict[str, Any]:
    """An agent's columns from its counters; a counter missing is 0."""
    return agent_cells([c.get(k, 0) for k in AGENT_ALL])


def agent_cells(v: Sequence[int]) -> dict[str, Any]:
    """`agent_row` from the counters as a sequence in `AGENT_ALL` order."""
    (handled, talk, hold, wrap, available_ms, missed, transfers_out, surveys, survey_total,
     chats_handled, chats_missed, chat_transfers_out, chat_replies, chat_frt_total,
     chat_parts, chat_handle, chat_wrap, chat_surveys, chat_survey_total) = v
    work = talk + hold + wrap
    available = available_ms / 1000.0
    return {
        "handled": handled, "talk": talk, "hold": hold, "wrap": wrap,
        "available": round(available),
        "occupancy": ratio(work, work + available),
        "missed": missed, "transfers_out": transfers_out, "surveys": surveys,
        "csat": round(survey_total / surveys, 2) if surveys > 0 else None,
        "chats_handled": chats_handled, "chats_missed": chats_missed,
        "chat_transfers_out": chat_transfers_out,
        "chat_frt": round(chat_frt_total / chat_replies, 2) if chat_replies > 0 else None,
        "chat_aht": round((chat_handle + chat_wrap) / chat_parts, 2) if chat_parts > 0
        else None,
        "chat_surveys": chat_surveys,
        "chat_csat": round(chat_survey_total / chat_surveys, 2) if chat_surveys > 0 else None,
    }


def apply_completion(contact: Contact, patch: dict[str, Any]) -> None:
    """An agent's completed call on its contact record: the caller's talk so far (every
    part that has ended, hold excluded), the wrap-up, the agent."""
    contact.talk = int(patch.get("talk") or 0)
    if patch.get("wrap") is not None:
        contact.wrap = int(patch["wrap"])
    agent = patch.get("agent")
    if agent and agent not in contact.agents:
        contact.agents.append(agent)


def _utc_day(slot: int) -> str:
    return datetime.fromtimestamp(slot * SLOT_MS / 1000, UTC).date().isoformat()


class Reports:
    """The live interval counters of every queue and agent, and the reports read from them."""

    def __init__(self, store: redis.Redis, callflows: Callable[[], Callflows],
                 contacts: ContactStore, *, retention_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        self.db: Any = store
        self.callflows = callflows
        self.contacts = contacts
        self.retention = retention_days * DAY
        self.clock = clock
        self.chats = ChatContacts(store, contacts)  # text conversations' contact records
        self._fold = store.register_script(FOLD_SCRIPT)
        self._sum = store.register_script(SUM_SCRIPT)
        self._lock = threading.Lock()  # one fold at a time in this process
        self._last_fold = 0.0

    def queue_config(self, name: str) -> QueueConfig:
        queue = self.callflows().queues.get(name)
        return queue if queue is not None else QueueConfig(name=name)

    def zone_of(self, queue: str) -> ZoneInfo:
        """The queue's time zone: where its days begin."""
        return zone(self.queue_config(queue).timezone)

    # --- keeping the counters ---------------------------------------------------------

    def tick(self) -> None:
        """The timer thread's call: fold new events, at most once a second."""
        now = time.monotonic()
        if now - self._last_fold < FOLD_EVERY:
            return
        self._last_fold = now
        self.fold(TICK_BATCHES)

    def fold(self, max_batches: int = 100) -> int:
        """Fold the events logged since the last fold into the counters; how many were
        folded here. Safe from any number of threads and workers: each batch is applied
        once (fold.lua compares and sets the cursor)."""
        folded = 0
        with self._lock:
            for _ in range(max_batches):
                cursor = self.db.get(keys.report_cursor()) or ""
                batch = self.db.xrange(keys.acd("events"), min=f"({cursor}" if cursor else "-",
                                       max="+", count=BATCH)
                if not batch:
                    break
                raw_agents = self.db.get(keys.report_agents())
                agents = {a: AgentTrack.from_list(v)
                          for a, v in json.loads(raw_agents or "{}").items()}
                tally = Tally(self.zone_of)
                fold_events(tally, agents, ((at_ms(i, f), f) for i, f in batch),
                            self.queue_config)
                if not self._apply(tally, cursor=cursor, last=batch[-1][0], agents=agents):
                    continue  # another worker folded it; read the cursor again
                folded += len(batch)
                for event_id, f in batch:
                    kind = f.get("type") or ""
                    if kind == "complete" and f.get("call"):
                        self._complete_contact(f)
                    elif kind.startswith("chat_"):
                        self.chats.event(at_ms(event_id, f), f)
                if len(batch) < BATCH:
                    break
        return folded

    def _layout(self, tally: Tally) -> tuple[list[str], list[int], list[list[Any]]]:
        """The hashes a tally touches, their expiry times, and its changes as
        [hash index (from 1), field, "+" or "max", value]."""
        hashes: list[str] = []
        index: dict[str, int] = {}
        expiry: list[int] = []
        ops: list[list[Any]] = []
        for (scope, name, slot, counter), value in tally.nonzero().items():
            day = date.fromordinal(slot).isoformat() if scope == "d" else _utc_day(slot)
            key = keys.report_slots(scope, name, day)
            if key not in index:
                index[key] = len(hashes) + 1
                hashes.append(key)
                end_of_day = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)
                expiry.append(int(end_of_day.timestamp()) + self.retention)
            ops.append([index[key], f"{slot}:{counter}",
                        "max" if counter in MAX_COUNTERS else "+", value])
        return hashes, expiry, ops

    def _apply(self, tally: Tally, *, cursor: str, last: str,
               agents: dict[str, AgentTrack]) -> bool:
        """One folded batch, applied if nobody folded from `cursor` yet (fold.lua)."""
        hashes, expiry, ops = self._layout(tally)
        applied = self._fold(
            keys=[keys.report_cursor(), keys.report_agents(), *hashes],
            args=[cursor, last, json.dumps({a: t.to_list() for a, t in agents.items()}),
                  json.dumps(expiry), json.dumps(ops)])
        return bool(applied)

    def _add(self, tally: Tally) -> None:
        """A contact's part (sums only): added as it is, in one round trip."""
        hashes, expiry, ops = self._layout(tally)
        pipe = self.db.pipeline(transaction=False)
        for key, at in zip(hashes, expiry, strict=True):
            pipe.expireat(key, at)
        for i, field, _, value in ops:
            pipe.hincrby(hashes[i - 1], field, value)
        pipe.execute()

    def _complete_contact(self, f: dict[str, str]) -> None:
        """An agent's call completed: the record takes the talk and wrap-up the router
        counted (events are folded in order: the last one has the caller's whole talk); a
        record not written yet (the caller is still in the flow) finds them waiting for
        it (`keys.contact_pending`)."""
        # a consulted agent's part, or one the caller never joined: not the caller's
        if f.get("consult") or f.get("lost"):
            return
        # ctalk: the caller's talk over every part so far (older events: the part's)
        talk = f.get("ctalk") if f.get("ctalk") is not None else f.get("talk")
        patch = {"talk": int(talk or 0), "agent": f.get("agent") or ""}
        if f.get("wrap") is not None:
            patch["wrap"] = int(f.get("wrap") or 0)
        call = f["call"]
        if self.contacts.update(call, lambda c: apply_completion(c, patch)) is not None:
            return
        self.db.set(keys.contact_pending(call), json.dumps(patch), ex=PENDING_TTL)
        # the record may have been written in between: then it is patched here
        if self.contacts.update(call, lambda c: apply_completion(c, patch)) is not None:
            self.db.delete(keys.contact_pending(call))

    def add_contact(self, contact: Contact) -> None:
        """Count what a contact record adds (its survey), each part once however often the
        record is written."""
        for part, tally in contact_parts(contact, self.zone_of).items():
            once = keys.report_once(contact.id, part)
            if self.db.set(once, "1", nx=True, ex=ONCE_TTL):
                self._add(tally)

    # --- rebuilding -------------------------------------------------------------------

    def rebuild(self) -> dict[Cell, int]:
        """Every counter recomputed from the event log and the contact records kept."""
        tally = Tally(self.zone_of)
        agents: dict[str, AgentTrack] = {}
        events = self._all_events()
        fold_events(tally, agents, events, self.queue_config)
        for contact in self.contacts.all():
            for part in contact_parts(contact, self.zone_of).values():
                tally.merge(part)
        return tally.nonzero()

    def _all_events(self) -> Iterable[tuple[int, dict[str, str]]]:
        start = "-"
        while True:
            got = self.db.xrange(keys.acd("events"), min=start, max="+", count=BATCH)
            if not got:
                return
            for event_id, fields in got:
                yield at_ms(event_id, fields), fields
            start = f"({got[-1][0]}"

    def stored(self) -> dict[Cell, int]:
        """The live counters, in the shape `rebuild` returns (for comparing)."""
        out: dict[Cell, int] = {}
        for scope in ("q", "a", "d"):
            for key in self.db.scan_iter(match=keys.report_slots(scope, "*", "*"), count=500):
                name = _name_of(key, scope)
                for field, value in self.db.hgetall(key).items():
                    slot, counter = field.split(":", 1)
                    if int(value) or counter in MAX_COUNTERS:
                        out[(scope, name, int(slot), counter)] = int(value)
        return out

    # --- reading reports --------------------------------------------------------------

    def report(self, *, scope: str, names: list[str], start: datetime, end: datetime,
               interval: str) -> list[dict[str, Any]]:
        """Rows for each name and each interval in [start, end) (see `quarters`); a queue's
        days in its own zone come from its day totals."""
        if scope == "q" and interval == "day" and all(
                self.zone_of(n).key == getattr(start.tzinfo, "key", None) for n in names):
            return self.days(names, start, end)
        return self.quarters(scope=scope, names=names, start=start, end=end,
                             interval=interval)

    def days(self, names: list[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Queues' rows by day, from the day totals the fold keeps (one small hash a day)."""
        bounds = interval_bounds(start, end, "day")
        pipe = self.db.pipeline(transaction=False)
        for name in names:
            for lo, _ in bounds:
                pipe.hgetall(keys.report_slots("d", name, lo.date().isoformat()))
        replies = iter(pipe.execute())
        rows: list[dict[str, Any]] = []
        for name in names:
            for lo, _ in bounds:
                total = dict.fromkeys(QUEUE_ALL, 0)
                for field, value in next(replies).items():
                    counter = field.split(":", 1)[1]
                    if counter in total:
                        total[counter] = int(value)
                rows.append({"interval_start": lo.isoformat(), "queue": name,
                             **queue_row(total)})
        return rows

    def today(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """Each queue's columns since midnight in its time zone (the wallboard's cards)."""
        pipe = self.db.pipeline(transaction=False)
        for name in names:
            local = datetime.fromtimestamp(self.clock(), self.zone_of(name)).date()
            pipe.hgetall(keys.report_slots("d", name, local.isoformat()))
        out: dict[str, dict[str, Any]] = {}
        for name, raw in zip(names, pipe.execute(), strict=True):
            total = dict.fromkeys(QUEUE_ALL, 0)
            for field, value in raw.items():
                counter = field.split(":", 1)[1]
                if counter in total:
                    total[counter] = int(value)
            out[name] = queue_row(total)
        return out

    def quarters(self, *, scope: str, names: list[str], start: datetime, end: datetime,
                 interval: str) -> list[dict[str, Any]]:
        """Rows for each name and each interval in [start, end) (aware datetimes in the
        report's time zone), oldest first within each name. The quarters are added up in
        Redis (sum.lua): a 90-day report reads a few numbers per interval, not every
        quarter."""
        bounds = interval_bounds(start, end, interval)
        counters = QUEUE_ALL if scope == "q" else AGENT_ALL
        rows: list[dict[str, Any]] = []
        if not bounds:
            return rows
        edges = [_slot_of(lo) for lo, _ in bounds] + [_slot_of(bounds[-1][1])]
        # the first interval may start before `start` (floored): read from its UTC day
        days = _utc_days(bounds[0][0], bounds[-1][1])
        args = json.dumps({"edges": edges, "counters": list(counters),
                           "max": sorted(MAX_COUNTERS)})
        pipe = self.db.pipeline(transaction=False)
        for name in names:
            queue_script(pipe, self._sum, [keys.report_slots(scope, name, d) for d in days],
                         [args])
        width = len(counters)
        cells = queue_cells if scope == "q" else agent_cells
        label = "queue" if scope == "q" else "agent"
        # the same interval starts for every name; quiet intervals all share one set of
        # columns (copied: each row stays its own dict, in the same key order)
        starts = [lo.isoformat() for lo, _ in bounds]
        empty_cells = cells((0,) * width)
        for name, flat in zip(names, execute_pipeline(self.db, pipe), strict=True):
            empty: dict[str, Any] = {"interval_start": "", label: name, **empty_cells}
            at = 0
            for start_text in starts:
                values = flat[at:at + width]
                at += width
                if any(values):
                    row: dict[str, Any] = {"interval_start": start_text, label: name,
                                           **cells(values)}
                else:
                    row = empty.copy()
                    row["interval_start"] = start_text
                rows.append(row)
        return rows


def _slot_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1000) // SLOT_MS


def _utc_days(start: datetime, end: datetime) -> list[str]:
    day = start.astimezone(UTC).date()
    last = end.astimezone(UTC).date()
    days: list[str] = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _name_of(key: str, scope: str) -> str:
    """The queue or agent of a report hash key (names are words: no colons)."""
    prefix = keys.report_slots(scope, "", "")[:-1]  # "ivr:{rep}:q:"
    return key[len(prefix):].rsplit(":", 1)[0]


def interval_bounds(start: datetime, end: datetime, interval: str
                    ) -> list[tuple[datetime, datetime]]:
    """The intervals covering [start, end), in start's time zone: days from local midnight;
    15/30/60 minutes from the local start floored to the interval."""
    tz = start.tzinfo
    out: list[tuple[datetime, datetime]] = []
    if interval == "day":
        d = start.date()
        while True:
            lo = datetime(d.year, d.month, d.day, tzinfo=tz)
            if lo >= end:
                break
            d += timedelta(days=1)
            out.append((lo, datetime(d.year, d.month, d.day, tzinfo=tz)))
        return out
    minutes = int(interval)
    floored = start.replace(minute=start.minute - start.minute % minutes, second=0,
                            microsecond=0)
    t = floored.astimezone(UTC)
    stop = end.astimezone(UTC)
    step = timedelta(minutes=minutes)
    while t < stop:
        out.append((t.astimezone(tz), (t + step).astimezone(tz)))
        t += step
    return out


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")
