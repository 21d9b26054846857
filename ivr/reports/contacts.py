"""Contact records: one per customer call and per text conversation, kept in Redis.

Why one JSON string per record with its own expiry, plus one time index: a
record is written once when the contact ends (rarely patched by a late
callback), read by time range for the API and the exports, and must vanish by
itself after `IVR_RETENTION_DAYS` so memory stays bounded by the traffic of
that window. The index (a sorted set by start time) is trimmed on every write,
so it never outlives the records it points to.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import redis

from ivr import keys
from ivr.flows import optout

OUTCOMES = ("connected", "abandoned", "overflowed", "called back", "ended in the flow",
            "stopped")
"""A queue's four outcomes (each caller ends in exactly one), or a contact no queue served;
a text conversation with an agent may also be `stopped` (the texter opted out)."""

CSV_HEADERS = ("id", "channel", "start", "end", "number", "service_number", "flow", "steps",
               "queue", "wait", "agents", "transfers", "talk", "hold", "wrap", "outcome",
               "disposition", "notes", "survey", "recording")
CHAT_ONLY = ("first_response", "transcript")
MAX_LIST = 10_000  # records one query returns at most
DAY = 86_400


@dataclass
class Contact:
    """One customer call or text conversation, as reports and the desk read it."""

    id: str  # the CallSid; for texts "sms-" + the first MessageSid; a chat's id ("ch-...")
    channel: str  # "voice" or "sms"; a chat with an agent: "sms" or "whatsapp"
    start: float  # epoch seconds
    end: float
    number: str  # the customer's number (no whatsapp: prefix)
    service_number: str = ""  # the number they called or texted
    flow: str = ""
    steps: list[str] = field(default_factory=list)  # "flow.step" reached, in order
    queue: str | None = None  # the last queue that served them
    wait: int | None = None  # seconds in that queue before an agent answered or they left
    agents: list[str] = field(default_factory=list)  # who served them (transfers add more)
    transfers: int = 0  # transfers out of an agent's hands
    talk: int = 0  # seconds
    hold: int = 0
    wrap: int = 0
    outcome: str = "ended in the flow"
    disposition: str | None = None
    notes: str | None = None
    survey: int | None = None  # the score given (1..scale)
    survey_scale: int | None = None
    survey_at: float | None = None
    recording: str | None = None  # RecordingSid
    # Text conversations with an agent only (None otherwise, and left out of the stored JSON):
    first_response: int | None = None  # seconds from connect to the agent's first reply
    transcript: list[dict[str, Any]] | None = None  # {at (epoch s), by, agent, body, media}

    @property
    def is_chat(self) -> bool:
        """A text conversation with an agent (scored and counted apart from calls)."""
        return self.transcript is not None

    @property
    def agent(self) -> str | None:
        """The agent who last served them (surveys are scored against them)."""
        return self.agents[-1] if self.agents else None

    def to_json(self) -> str:
        data = asdict(self)
        for name in CHAT_ONLY:  # a call's record stays as small as it was
            if data[name] is None:
                del data[name]
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Contact:
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Contact:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def row(self) -> list[str]:
        """The record as one CSV row (times in ISO 8601, UTC; lists joined with spaces)."""
        d = asdict(self)
        out: list[str] = []
        for name in CSV_HEADERS:
            value = d[name]
            if name in ("start", "end"):
                value = iso(value)
            elif isinstance(value, list):
                value = " ".join(str(v) for v in value)
            out.append("" if value is None else str(value))
        return out


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_csv(contacts: Iterable[Contact]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for c in contacts:
        writer.writerow(c.row())
    return buf.getvalue()


class ContactStore:
    """Writes, patches and lists contact records (see the module docstring for why so)."""

    def __init__(self, store: redis.Redis, *, retention_days: int = 90,
                 clock: Callable[[], float]) -> None:
        self.db: Any = store  # str replies (decode_responses=True)
        self.retention = retention_days * DAY
        self.clock = clock

    def ttl(self, contact: Contact) -> int:
        """Seconds left of the record's retention, counted from its end (at least a minute)."""
        return max(60, int(contact.end + self.retention - self.clock()))

    def put(self, contact: Contact, pipe: redis.client.Pipeline | None = None) -> None:
        """Write (or overwrite) a record; the index is trimmed in the same round trip."""
        own = pipe is None
        p = pipe if pipe is not None else self.db.pipeline(transaction=False)
        p.set(keys.contact(contact.id), contact.to_json(), ex=self.ttl(contact))
        p.zadd(keys.contacts_by_time(), {contact.id: int(contact.start * 1000)})
        cutoff = int((self.clock() - self.retention) * 1000)
        p.zremrangebyscore(keys.contacts_by_time(), "-inf", f"({cutoff}")
        if contact.number:  # the number's own index (the desk's previous contacts)
            by_number = keys.contacts_of_number(contact.number)
            p.zadd(by_number, {contact.id: int(contact.start * 1000)})
            p.zremrangebyscore(by_number, "-inf", f"({cutoff}")
            p.expire(by_number, self.ttl(contact))
        if own:
            p.execute()

    def delete(self, contact_id: str, number: str = "") -> None:
        """Forget a record and its index entries (a text flow's record, when the texter went
        on to an agent by text: that conversation's record has the flow)."""
        pipe = self.db.pipeline(transaction=False)
        pipe.delete(keys.contact(contact_id))
        pipe.zrem(keys.contacts_by_time(), contact_id)
        if number:
            pipe.zrem(keys.contacts_of_number(number), contact_id)
        pipe.execute()

    def get(self, contact_id: str) -> Contact | None:
        raw = self.db.get(keys.contact(contact_id))
        return Contact.from_json(raw) if raw else None

    def update(self, contact_id: str, changes: Callable[[Contact], None]) -> Contact | None:
        """Apply a late callback's changes (a recording, a survey reply, a disposition) to a
        record, safely against another worker patching the same one (WATCH, retried)."""
        key = keys.contact(contact_id)
        with self.db.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if not raw:
                        pipe.reset()
                        return None
                    contact = Contact.from_json(raw)
                    changes(contact)
                    pipe.multi()
                    pipe.set(key, contact.to_json(), keepttl=True)
                    pipe.execute()
                    return contact
                except redis.WatchError:
                    continue

    def find(self, *, number: str | None = None, queue: str | None = None,
             agent: str | None = None, start: float | None = None, end: float | None = None,
             limit: int = 1000) -> list[Contact]:
        """Records that started in [start, end], oldest first, filtered; at most `limit`."""
        wanted = optout.bare_number(number) if number else None
        out: list[Contact] = []
        for c in self._scan(start, end):
            if wanted is not None and c.number != wanted:
                continue
            if queue is not None and c.queue != queue:
                continue
            if agent is not None and agent not in c.agents:
                continue
            out.append(c)
            if len(out) >= min(limit, MAX_LIST):
                break
        return out

    def of_number(self, number: str, *, start: float, limit: int = 50) -> list[Contact]:
        """One number's records that started since `start`, newest first, at most `limit`
        (two round trips, whatever the traffic: the number's own index)."""
        ids = self.db.zrevrangebyscore(keys.contacts_of_number(optout.bare_number(number)),
                                       "+inf", int(start * 1000), start=0, num=limit)
        if not ids:
            return []
        return [Contact.from_json(raw) for raw in self.db.mget([keys.contact(i) for i in ids])
                if raw]

    def _scan(self, start: float | None, end: float | None, batch: int = 500
              ) -> Iterator[Contact]:
        lo = int(start * 1000) if start is not None else "-inf"
        hi = int(end * 1000) if end is not None else "+inf"
        offset = 0
        while True:
            ids = self.db.zrangebyscore(keys.contacts_by_time(), lo, hi, start=offset,
                                        num=batch)
            if not ids:
                return
            offset += len(ids)
            for raw in self.db.mget([keys.contact(i) for i in ids]):
                if raw:  # expired since the index was last trimmed
                    yield Contact.from_json(raw)
            if len(ids) < batch:
                return

    def all(self) -> Iterator[Contact]:
        """Every record kept (for rebuilding reports), oldest first."""
        return self._scan(None, None)
