"""Where call recordings are kept: one hash per recording, a time index, a set per call.

Why so: a recording is written once (its status callback, or the later fetch when the
callback was lost), read by time range with filters (the API), by call (the desk, the
contact record), and deleted after `IVR_RETENTION_DAYS` (the timers) or by hand. The
time index is what retention walks, so every recording kept here is found by the sweep
even if its hash were gone; memory stays bounded by one retention window of traffic.
Twilio's media URL is kept in the hash for the server's own use and never leaves it
(`Recording.public()` leaves it out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import redis

from ivr import keys

DAY = 86_400
MAX_LIST = 10_000  # recordings one query returns at most
DELETED_TTL = 7 * DAY  # a deleted recording is not taken back from a late callback for so long
SOURCES = ("conference", "dial", "call")


@dataclass
class Recording:
    sid: str  # RecordingSid (RE...)
    call: str  # the customer's CallSid: the call (and contact record) it belongs to
    start: float  # epoch seconds
    duration: int = 0  # seconds
    channels: int = 1
    status: str = "completed"
    source: str = "dial"  # "conference" (the bridge's conference) or "dial" (a dial step)
    queue: str | None = None
    agent: str | None = None
    conference: str | None = None  # ConferenceSid, for a conference recording
    step: str | None = None  # "FLOW.STEP" of the dial step that recorded it, else None
    media_url: str = ""  # Twilio's URL: server-side only

    def public(self) -> dict[str, Any]:
        """What the API shows: everything but Twilio's URL."""
        out = asdict(self)
        del out["media_url"]
        return out

    def fields(self) -> dict[str, str]:
        return {k: "" if v is None else str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> Recording | None:
        if not raw.get("sid") or not raw.get("call"):
            return None
        return cls(
            sid=raw["sid"], call=raw["call"], start=float(raw.get("start") or 0),
            duration=int(raw.get("duration") or 0), channels=int(raw.get("channels") or 1),
            status=raw.get("status") or "completed", source=raw.get("source") or "dial",
            queue=raw.get("queue") or None, agent=raw.get("agent") or None,
            conference=raw.get("conference") or None, step=raw.get("step") or None,
            media_url=raw.get("media_url") or "",
        )


class RecordingStore:
    """Keeps, finds and forgets recordings (see the module docstring for the layout)."""

    def __init__(self, store: redis.Redis, *, retention_days: int = 90,
                 clock: Callable[[], float]) -> None:
        self.db: Any = store  # str replies (decode_responses=True)
        self.retention = retention_days * DAY
        self.clock = clock

    def ttl(self, rec: Recording) -> int:
        """Seconds the hash may live: the retention and a week more, as a backstop (the
        timers delete it, at Twilio first, at the retention; the time index outlives it)."""
        return max(60, int(rec.start + self.retention + DELETED_TTL - self.clock()))

    def add(self, rec: Recording) -> bool:
        """Keep a recording; True the first time. A recording kept already, or deleted
        here lately, is left as it is (callbacks come twice; a fetch may follow one)."""
        key = keys.recording(rec.sid)
        with self.db.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key, keys.recording_deleted(rec.sid))
                    if pipe.exists(key) or pipe.exists(keys.recording_deleted(rec.sid)):
                        pipe.reset()
                        return False
                    pipe.multi()
                    pipe.hset(key, mapping=rec.fields())
                    pipe.expire(key, self.ttl(rec))
                    pipe.zadd(keys.recordings_by_time(), {rec.sid: int(rec.start * 1000)})
                    pipe.sadd(keys.recordings_of_call(rec.call), rec.sid)
                    pipe.expire(keys.recordings_of_call(rec.call), self.ttl(rec))
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def get(self, sid: str) -> Recording | None:
        return Recording.from_fields(self.db.hgetall(keys.recording(sid)))

    def exists(self, sid: str) -> bool:
        return bool(self.db.exists(keys.recording(sid)))

    def was_deleted(self, sid: str) -> bool:
        return bool(self.db.exists(keys.recording_deleted(sid)))

    def of_call(self, call_sid: str) -> list[Recording]:
        sids = sorted(self.db.smembers(keys.recordings_of_call(call_sid)))
        found = (self.get(sid) for sid in sids)
        return sorted((r for r in found if r is not None), key=lambda r: r.start)

    def remove(self, sid: str, call_sid: str | None = None) -> None:
        """Forget a recording here (after Twilio deleted it) and remember it was deleted."""
        if call_sid is None:
            call_sid = self.db.hget(keys.recording(sid), "call")
        pipe = self.db.pipeline(transaction=True)
        pipe.delete(keys.recording(sid))
        pipe.zrem(keys.recordings_by_time(), sid)
        pipe.zrem(keys.recordings_unlinked(), sid)
        if call_sid:
            pipe.srem(keys.recordings_of_call(call_sid), sid)
        pipe.set(keys.recording_deleted(sid), "1", ex=DELETED_TTL)
        pipe.execute()

    def older_than(self, cutoff: float, limit: int = 100) -> list[str]:
        """RecordingSids that started before `cutoff` (epoch seconds), oldest first."""
        result: list[str] = self.db.zrangebyscore(
            keys.recordings_by_time(), "-inf", f"({int(cutoff * 1000)}", start=0, num=limit)
        return result

    def find(self, *, call: str | None = None, queue: str | None = None,
             agent: str | None = None, start: float | None = None, end: float | None = None,
             limit: int = 1000) -> list[Recording]:
        """Recordings that started in [start, end], oldest first, filtered; at most `limit`."""
        limit = min(limit, MAX_LIST)
        if call is not None:
            found: Iterator[Recording] = iter(self.of_call(call))
        else:
            found = self._scan(start, end)
        out: list[Recording] = []
        for rec in found:
            if start is not None and rec.start < start:
                continue
            if end is not None and rec.start > end:
                continue
            if queue is not None and rec.queue != queue:
                continue
            if agent is not None and rec.agent != agent:
                continue
            out.append(rec)
            if len(out) >= limit:
                break
        return out

    def _scan(self, start: float | None, end: float | None, batch: int = 500
              ) -> Iterator[Recording]:
        lo = int(start * 1000) if start is not None else "-inf"
        hi = int(end * 1000) if end is not None else "+inf"
        offset = 0
        while True:
            sids = self.db.zrangebyscore(keys.recordings_by_time(), lo, hi, start=offset,
                                         num=batch)
            if not sids:
                return
            offset += len(sids)
            pipe = self.db.pipeline(transaction=False)
            for sid in sids:
                pipe.hgetall(keys.recording(sid))
            for raw in pipe.execute():
                rec = Recording.from_fields(raw)
                if rec is not None:
                    yield rec
            if len(sids) < batch:
                return
