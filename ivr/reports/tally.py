"""From routing events and contact records to 15-minute counters: the one fold both the
live aggregates and a rebuild run, so the two cannot disagree.

Counters are kept per 15-minute slot of UTC time (slot = epoch ms // 900000). Every
time zone in use is a whole number of quarter hours from UTC, so any report interval
(15, 30, 60 minutes or a day, in any queue's zone) is a union of slots; days and
hours are added up when a report is read, never stored twice.

Each event counts in the slot in which it happened: `offered` when the caller entered,
`answered` when they were connected, handle time when the agent's call completed,
available time when it was spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.flows.model import QueueConfig
from ivr.reports.contacts import Contact

SLOT_MS = 900_000

QUEUE_COUNTERS = ("offered", "answered", "abandoned", "short_abandoned", "overflowed",
                  "callbacks", "answered_in_sl", "wait_answered", "handled", "talk", "hold",
                  "wrap", "longest_wait", "transfers_out", "surveys", "survey_total")
AGENT_COUNTERS = ("handled", "talk", "hold", "wrap", "available_ms", "missed",
                  "transfers_out", "surveys", "survey_total")
QUEUE_CHAT_COUNTERS = ("chats_offered", "chats_handled", "chats_abandoned", "chats_overflowed",
                       "chats_callbacks", "chat_transfers_out", "chat_replies",
                       "chat_frt_total", "chat_parts", "chat_handle", "chat_wrap",
                       "chat_surveys", "chat_survey_total")
AGENT_CHAT_COUNTERS = ("chats_handled", "chats_missed", "chat_transfers_out", "chat_replies",
                       "chat_frt_total", "chat_parts", "chat_handle", "chat_wrap",
                       "chat_surveys", "chat_survey_total")
"""Text conversations with agents (the `chat_*` routing events) have counters of their own,
so that no call figure moves because of a chat: a chat is not a call."""
QUEUE_ALL = QUEUE_COUNTERS + QUEUE_CHAT_COUNTERS
AGENT_ALL = AGENT_COUNTERS + AGENT_CHAT_COUNTERS
MAX_COUNTERS = frozenset({"longest_wait"})

Cell = tuple[str, str, int, str]
"""(scope, queue or agent, slot, counter). Scopes: "q" a queue's and "a" an agent's
quarter hours (slot = epoch ms // 900000); "d" a queue's days in its own time zone
(slot = the local date's ordinal), kept beside the quarters so that daily figures (the
wallboard's since-midnight, daily reports) are one small read."""


class Tally:
    """Counter changes, by cell: sums, and maxima for `MAX_COUNTERS`. With `zones` (a
    queue's time zone by name), every queue change also counts in the queue's day."""

    def __init__(self, zones: Callable[[str], ZoneInfo] | None = None) -> None:
        self.cells: dict[Cell, int] = {}
        self.zones = zones

    def add(self, scope: str, name: str, at_ms: int, counter: str, by: int = 1) -> None:
        self._put((scope, name, at_ms // SLOT_MS, counter), by)
        if scope == "q" and self.zones is not None:
            day = datetime.fromtimestamp(at_ms / 1000, self.zones(name)).date().toordinal()
            self._put(("d", name, day, counter), by)

    def _put(self, cell: Cell, by: int) -> None:
        if cell[3] in MAX_COUNTERS:
            self.cells[cell] = max(self.cells.get(cell, by), by)
        else:
            self.cells[cell] = self.cells.get(cell, 0) + by

    def add_span(self, scope: str, name: str, start_ms: int, end_ms: int, counter: str) -> None:
        """Milliseconds from start to end, split across the slots they cover."""
        t = start_ms
        while t < end_ms:
            edge = min(end_ms, (t // SLOT_MS + 1) * SLOT_MS)
            self.add(scope, name, t, counter, edge - t)
            t = edge

    def merge(self, other: Tally) -> None:
        for cell, value in other.cells.items():
            self._put(cell, value)

    def nonzero(self) -> dict[Cell, int]:
        return {cell: v for cell, v in self.cells.items() if v or cell[3] in MAX_COUNTERS}


@dataclass
class AgentTrack:
    """What the fold knows of an agent between events: available or not, and busy (on a
    call: -1; in wrap-up: until that time in ms; 0: free) since `t` (ms); and when they
    joined each text conversation they hold (chat id -> ms), for the handle time of a
    part that ends in a transfer."""

    available: bool = False
    busy: int = 0
    t: int = 0
    chats: dict[str, int] = field(default_factory=dict)

    def to_list(self) -> list[Any]:
        out: list[Any] = [int(self.available), self.busy, self.t]
        if self.chats:
            out.append(self.chats)
        return out

    @classmethod
    def from_list(cls, raw: list[Any]) -> AgentTrack:
        chats = raw[3] if len(raw) > 3 and isinstance(raw[3], dict) else {}
        return cls(bool(raw[0]), int(raw[1]), int(raw[2]),
                   {str(k): int(v) for k, v in chats.items()})


def fold_events(tally: Tally, agents: dict[str, AgentTrack],
                events: Iterable[tuple[int, dict[str, str]]],
                queue_config: Callable[[str], QueueConfig]) -> None:
    """Add events ((time ms, fields), oldest first) to the tally; `agents` is the state the
    previous fold left and is brought up to date."""
    for at, f in events:
        kind = f.get("type", "")
        queue = f.get("queue") or ""
        agent = f.get("agent") or ""
        wait = _int(f.get("wait"))
        if agent and kind in ("status", "connect", "complete"):
            track = agents.setdefault(agent, AgentTrack(t=at))
            _credit_idle(tally, agent, track, at)
            if kind == "status":
                track.available = f.get("status") == "available"
            elif kind == "connect":
                track.busy = -1
            else:
                track.busy = at + _wrap(f, queue, queue_config) * 1000
        if not queue:
            continue
        if kind == "enter":
            tally.add("q", queue, at, "offered")
        elif kind == "connect" and f.get("kind") != "callback" and not f.get("again"):
            sl = queue_config(queue).service_level
            tally.add("q", queue, at, "answered")
            tally.add("q", queue, at, "wait_answered", wait)
            tally.add("q", queue, at, "longest_wait", wait)
            if wait <= sl:
                tally.add("q", queue, at, "answered_in_sl")
        elif kind == "abandon" and f.get("again"):
            pass  # undoes a connect that counted nothing here (answered once, earlier)
        elif kind == "abandon":
            config = queue_config(queue)
            tally.add("q", queue, at, "longest_wait", wait)
            if f.get("was") == "connected":  # the bridge never happened: not answered after all
                tally.add("q", queue, at, "answered", -1)
                tally.add("q", queue, at, "wait_answered", -wait)
                if wait <= config.service_level:
                    tally.add("q", queue, at, "answered_in_sl", -1)
                tally.add("q", queue, at, "abandoned")
            elif wait < config.short_abandon:
                tally.add("q", queue, at, "short_abandoned")
            else:
                tally.add("q", queue, at, "abandoned")
        elif kind == "overflow":
            tally.add("q", queue, at, "overflowed")
            tally.add("q", queue, at, "longest_wait", wait)
        elif kind == "callback":
            tally.add("q", queue, at, "callbacks")
        elif kind == "complete":
            talk, wrap = _int(f.get("talk")), _wrap(f, queue, queue_config)
            hold = _int(f.get("hold"))
            for scope, name in (("q", queue), ("a", agent)):
                if name:
                    tally.add(scope, name, at, "handled")
                    tally.add(scope, name, at, "talk", talk)
                    tally.add(scope, name, at, "hold", hold)
                    tally.add(scope, name, at, "wrap", wrap)
        elif kind == "transfer":
            # out of the agent's hands (cold, or a consult completed), from the queue the
            # call was in; a transfer into a queue is offered there
            for scope, name in (("q", queue), ("a", agent)):
                if name:
                    tally.add(scope, name, at, "transfers_out")
            into = f.get("to") or ""
            if into.startswith("queue:") and len(into) > len("queue:"):
                tally.add("q", into[len("queue:"):], at, "offered")
        elif kind == "miss" and agent:
            tally.add("a", agent, at, "missed")
        elif kind.startswith("chat_"):
            _fold_chat(tally, agents, kind, at, queue, agent, f)


CHAT_ENDS = {"abandoned": "chats_abandoned", "overflowed": "chats_overflowed",
             "callback": "chats_callbacks"}
CHAT_PART_MAX_MS = 7 * 86_400_000  # a part's start forgotten after that (its end was lost)


def _fold_chat(tally: Tally, agents: dict[str, AgentTrack], kind: str, at: int, queue: str,
               agent: str, f: dict[str, str]) -> None:
    """A text conversation's event: its own counters, for the queue and the agent (no
    call figure: the agent's availability and occupancy are the calls')."""
    both = [(scope, name) for scope, name in (("q", queue), ("a", agent)) if name]
    chat = f.get("chat") or ""
    joined = agents[agent].chats.pop(chat, None) \
        if agent and agent in agents and kind in ("chat_transfer", "chat_end") else None
    if kind == "chat_enter":
        tally.add("q", queue, at, "chats_offered")
    elif kind == "chat_connect":
        for scope, name in both:
            tally.add(scope, name, at, "chats_handled")
        if agent and chat:
            track = agents.setdefault(agent, AgentTrack(t=at))
            track.chats = {c: t for c, t in track.chats.items() if at - t < CHAT_PART_MAX_MS}
            track.chats[chat] = at
    elif kind == "chat_miss" and agent:
        tally.add("a", agent, at, "chats_missed")
    elif kind == "chat_reply":
        for scope, name in both:
            tally.add(scope, name, at, "chat_replies")
            tally.add(scope, name, at, "chat_frt_total", _int(f.get("frt")))
    elif kind == "chat_transfer":
        # out of the agent's hands; the conversation's `chat_enter` in the queue it goes to
        # is offered there
        for scope, name in both:
            tally.add(scope, name, at, "chat_transfers_out")
        # the agent's part ends here: its handle time (the event's, else since they joined)
        if agent and f.get("handle") is not None:
            _chat_part(tally, both, at, _int(f.get("handle")))
        elif agent and joined is not None:
            _chat_part(tally, both, at, round((at - joined) / 1000))
    elif kind == "chat_end":
        # part: how it ended in the queue it was last in (answered there, or not); older
        # or simpler events: the conversation's outcome
        part = f.get("part") or f.get("outcome") or ""
        # an opt-out while waiting is an abandon; with an agent, the conversation was served
        counter = CHAT_ENDS.get(part) or (
            "chats_abandoned" if part == "stopped" and not agent else None)
        if counter:
            tally.add("q", queue, at, counter)
        if agent and part in ("answered", "stopped"):
            _chat_part(tally, both, at, _int(f.get("handle")))
    elif kind == "chat_wrap":
        for scope, name in both:
            tally.add(scope, name, at, "chat_wrap", _int(f.get("wrap")))


def _chat_part(tally: Tally, both: list[tuple[str, str]], at: int, handle: int) -> None:
    """One agent's part of a conversation ended: its handle time (connect to DONE)."""
    for scope, name in both:
        tally.add(scope, name, at, "chat_parts")
        tally.add(scope, name, at, "chat_handle", handle)


def _credit_idle(tally: Tally, agent: str, track: AgentTrack, now: int) -> None:
    """Available idle time from the track's last event to now: available, not on a call,
    not in wrap-up."""
    if track.available and track.busy != -1:
        start = max(track.t, track.busy)
        if start < now:
            tally.add_span("a", agent, start, now, "available_ms")
    track.t = max(track.t, now)


def _wrap(f: dict[str, str], queue: str, queue_config: Callable[[str], QueueConfig]) -> int:
    """The wrap-up the router gave the agent (the event carries it; older events: the
    queue's setting)."""
    if f.get("wrap") is not None:
        return _int(f.get("wrap"))
    return queue_config(queue).wrap_up if queue else 0


def _int(raw: Any) -> int:
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def contact_parts(contact: Contact, zones: Callable[[str], ZoneInfo] | None = None
                  ) -> dict[str, Tally]:
    """What a contact record adds to the counters, by part: "survey" (its score, for the
    queue and the agent who last served it, when given). Each part is counted once (a
    record may be written again). Hold and transfers come from the event log (each agent's
    part: its `complete` event has its hold; each `transfer` event is one transfer out)."""
    parts: dict[str, Tally] = {}
    if contact.survey is not None:
        t = Tally(zones)
        at = int((contact.survey_at or contact.end) * 1000)
        # a text conversation with an agent is scored apart from the calls
        surveys, total = ("chat_surveys", "chat_survey_total") if contact.is_chat else \
            ("surveys", "survey_total")
        for scope, name in (("q", contact.queue), ("a", contact.agent)):
            if name:
                t.add(scope, name, at, surveys)
                t.add(scope, name, at, total, contact.survey)
        parts["survey"] = t
    return parts
