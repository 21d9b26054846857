"""The event log: every queue event (enter, offer, connect, miss, abandon, overflow,
callback, callback_result, escalate, complete, agent status) in one capped Redis stream.

The scripts append to it (lib.lua event()), each entry with its queue, call,
agent and time (`at`, ms of the router's clock; the entry id carries the same
time). This module reads it; statistics.py rebuilds the daily counters from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ivr import keys
from ivr.routing.env import Env

MAX_ID_SEQ = 18446744073709551615  # the largest sequence part of a stream id


class EventLog:
    """Reads the routing event stream."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def scan(self, since_ms: int | None = None, batch: int = 500
             ) -> Iterator[tuple[str, dict[str, str]]]:
        """(id, fields) oldest first, after since_ms when given."""
        start = f"({since_ms}-{MAX_ID_SEQ}" if since_ms is not None else "-"
        while True:
            got = self.env.db.xrange(keys.acd("events"), min=start, max="+", count=batch)
            if not got:
                return
            yield from got
            start = f"({got[-1][0]}"

    def events(
        self, queue: str | None = None, since_ms: int | None = None, count: int = 100
    ) -> list[dict[str, Any]]:
        """Queue events oldest first (after since_ms when given), optionally of one queue."""
        out: list[dict[str, Any]] = []
        if count <= 0:
            return out
        for event_id, fields in self.scan(since_ms):
            if queue is None or fields.get("queue") == queue:
                out.append({"id": event_id, "ts": at_ms(event_id, fields) / 1000.0, **fields})
                if len(out) >= count:
                    break
        return out


def at_ms(event_id: str, fields: dict[str, str]) -> int:
    """When an event happened (ms): its `at` field, else its id's time part."""
    return int(fields.get("at") or event_id.split("-")[0])
