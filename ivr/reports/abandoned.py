"""Today's abandoned callers, and calling them back from the wallboard.

A supervisor running the day wants the callers who gave up in line, newest first,
and a button that puts a callback in their queue *at their original place* (their
arrival time, so the callback is not sent behind everyone who came after them).
The list is read from the contact records (`ContactStore`): one per call, with the
queue, the wait and the outcome. "Today" is each queue's own day (its time zone).
A caller who got through later today (another call of theirs connected, or a
callback of theirs reached them) is marked `reached`, so nobody is called twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from ivr import keys
from ivr.flows.model import Callflows
from ivr.reports.contacts import Contact, ContactStore

KEEP_S = 2 * 86_400  # how long "a callback was asked for this caller" is remembered
REACHED = ("connected", "called back")


class AlreadyCalledBack(Exception):
    """A callback was asked for this abandoned caller before (its caller id)."""


def _midnight(now: float, timezone: str) -> float:
    tz = ZoneInfo(timezone or "UTC")
    local = datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def abandoned_today(contacts: ContactStore, callflows: Callflows, store: redis.Redis,
                    now: float) -> list[dict[str, Any]]:
    """Today's abandoned calls of every queue, newest first (see module docstring)."""
    starts = {name: _midnight(now, q.timezone) for name, q in callflows.queues.items()}
    if not starts:
        return []
    today = contacts.find(start=min(starts.values()), end=now)
    gone = [c for c in today if c.outcome == "abandoned" and c.channel == "voice"
            and c.queue in starts and c.start >= starts[c.queue]]
    if not gone:
        return []
    asked = store.mget([keys.abandoned_callback(c.id) for c in gone])
    rows: list[dict[str, Any]] = []
    for contact, callback in zip(gone, asked, strict=True):
        config = callflows.queues[contact.queue or ""]
        reached = any(later.number == contact.number and later.start > contact.start
                      and later.outcome in REACHED for later in today)
        rows.append({
            "id": contact.id, "number": contact.number, "queue": contact.queue,
            "service_number": contact.service_number, "at": contact.end,
            "wait": contact.wait, "short": (contact.wait or 0) < config.short_abandon,
            "reached": reached,
            # when a callback was asked from the wallboard (epoch s), "pending" meanwhile
            "callback": (float(callback) if callback != "pending" else callback)
            if callback else None,
        })
    return sorted(rows, key=lambda r: float(r["at"] or 0), reverse=True)


def entered_at(contact: Contact) -> float:
    """When the caller joined the queue: they left it `wait` seconds after, at the end."""
    return contact.end - (contact.wait or 0)


def call_back(contact: Contact, store: redis.Redis, request: Callable[[Contact, int], int],
              *, now: float) -> int:
    """Queue one callback for an abandoned caller (AlreadyCalledBack the second time);
    `request(contact, entered_ms)` asks the router and returns the callback's place in
    line, which this returns too."""
    key = keys.abandoned_callback(contact.id)
    if not store.set(key, "pending", nx=True, ex=KEEP_S):
        raise AlreadyCalledBack(contact.id)
    try:
        position = request(contact, int(entered_at(contact) * 1000))
    except BaseException:
        store.delete(key)  # nothing was queued: a later press may try again
        raise
    store.set(key, str(now), ex=KEEP_S)
    return position
