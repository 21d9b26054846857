"""Queue statistics: live figures (who waits, agents by status and state) and today's
counters, kept by the scripts as events happen, and rebuilt from the event log.

The counters live in one hash, "queue|date|counter", where date is today in
the queue's time zone; each caller's single outcome (connected, abandoned,
overflowed, called back) is counted once by the script that sets it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr import keys
from ivr.routing.env import Env
from ivr.routing.events import EventLog, at_ms
from ivr.routing.layout import KeyLayout
from ivr.routing.records import STATES, STATUSES, CallerRecord
from ivr.routing.roster import Roster

COUNTERS = ("offered", "answered", "abandoned", "overflowed", "callback", "answered_in_sl",
            "wait_total", "talk_total", "completed", "missed", "callback_reached",
            "callback_failed")
HEAD = 50  # callers at the front of each waiting line looked at for the longest wait
WAITING_MAX = 1000  # callers listed per queue by waiting()


class Statistics:
    """Figures per queue, and the callers waiting now."""

    def __init__(self, env: Env, layout: KeyLayout, roster: Roster, log: EventLog) -> None:
        self.env = env
        self.layout = layout
        self.roster = roster
        self.log = log

    def queue_stats(self, name: str) -> dict[str, Any]:
        """Live figures and today's (queue time zone) counters for one queue."""
        db = self.env.db
        config = self.env.queue_config(name)
        now = self.env.clock()
        buckets = self.layout.buckets_of(name)
        head = [m for key in buckets for m in db.zrange(key, 0, HEAD - 1)]
        longest = 0.0
        if head:
            for raw in db.hmget(keys.acd("callers"), head):
                if raw:
                    longest = max(longest, now - CallerRecord.from_json(raw).entered_ms / 1000.0)
        by_status = dict.fromkeys(STATUSES, 0)
        by_state = dict.fromkeys(STATES, 0)
        for agent in self.roster.records():
            if all(agent.skills.get(s, 0) >= 1 for s in config.skills):
                by_status[agent.status] = by_status.get(agent.status, 0) + 1
                if agent.status != "offline" or agent.state != "idle":
                    by_state[agent.state] = by_state.get(agent.state, 0) + 1
        date = self.env.today(name)
        values = db.hmget(keys.acd("stats"), [f"{name}|{date}|{f}" for f in COUNTERS])
        day = {f: int(v or 0) for f, v in zip(COUNTERS, values, strict=True)}
        return {
            "queue": name,
            "waiting": sum(int(db.zcard(key)) for key in buckets),
            "longest_wait": round(longest, 1),
            "agents_by_status": by_status,
            "agents_by_state": by_state,
            "date": date,
            "timezone": config.timezone,
            "offered": day["offered"],
            "answered": day["answered"],
            "abandoned": day["abandoned"],
            "overflowed": day["overflowed"],
            "called_back": day["callback"],
            "callbacks_reached": day["callback_reached"],
            "callbacks_failed": day["callback_failed"],
            "missed_offers": day["missed"],
            "service_level": (day["answered_in_sl"] / day["offered"]) if day["offered"] else None,
            "average_wait": (day["wait_total"] / day["answered"]) if day["answered"] else None,
            "average_talk": (day["talk_total"] / day["completed"]) if day["completed"] else None,
        }

    def all_queue_stats(self) -> list[dict[str, Any]]:
        return [self.queue_stats(q) for q in self.layout.queues()]

    def waiting(self) -> list[dict[str, Any]]:
        """Callers waiting now (callbacks included), best first within each queue."""
        db = self.env.db
        out: list[dict[str, Any]] = []
        now = self.env.clock()
        for queue in self.layout.queues():
            pairs: list[tuple[float, str]] = []
            for key in self.layout.buckets_of(queue):
                pairs += [(sc, m) for m, sc in db.zrange(key, 0, WAITING_MAX - 1,
                                                          withscores=True)]
            ids = [m for _, m in sorted(pairs)[:WAITING_MAX]]
            if not ids:
                continue
            raws = db.hmget(keys.acd("callers"), ids)
            for position, raw in enumerate(raws, start=1):
                if not raw:
                    continue
                c = CallerRecord.from_json(raw)
                out.append({
                    "id": c.id, "queue": queue, "position": position, "priority": c.priority,
                    "kind": c.kind, "from": c.number, "state": c.state,
                    "waited": max(0.0, now - c.entered_ms / 1000.0),
                    "skills": c.skills, "min_level": c.level,
                })
        return out

    def stored_stats(self) -> dict[str, dict[str, int]]:
        """The live daily counters in the same shape as rebuild_stats (for comparing)."""
        out: dict[str, dict[str, int]] = {}
        for field, value in self.env.db.hgetall(keys.acd("stats")).items():
            queue, day, name = field.rsplit("|", 2)
            out.setdefault(f"{queue}|{day}", {})[name] = int(value)
        return out

    def rebuild_stats(self) -> dict[str, dict[str, int]]:
        """Daily counters recomputed from the event log: {"queue|date": {counter: n}}."""
        totals: dict[str, dict[str, int]] = {}
        seen_outcome: set[str] = set()
        for event_id, f in self.log.scan(batch=1000):
            queue = f.get("queue")
            if not queue:
                continue
            config = self.env.queue_config(queue)
            ts = at_ms(event_id, f) / 1000.0
            day = datetime.fromtimestamp(ts, ZoneInfo(config.timezone or "UTC")).date()
            bucket = totals.setdefault(f"{queue}|{day.isoformat()}", {})

            def bump(name: str, by: int = 1, bucket: dict[str, int] = bucket) -> None:
                bucket[name] = bucket.get(name, 0) + by

            kind, call = f["type"], f.get("call", "")
            wait = int(f.get("wait", 0))
            if kind == "abandon" and f.get("was") == "connected":
                bump("answered", -1)
                bump("wait_total", -wait)
                if wait <= config.service_level:
                    bump("answered_in_sl", -1)
                bump("abandoned")
            elif kind == "enter":
                bump("offered")
            elif kind == "connect" and f.get("kind") != "callback":
                if call not in seen_outcome:
                    seen_outcome.add(call)
                    bump("answered")
                    bump("wait_total", wait)
                    if wait <= config.service_level:
                        bump("answered_in_sl")
            elif kind in ("abandon", "overflow", "callback") and call not in seen_outcome:
                seen_outcome.add(call)
                bump({"abandon": "abandoned", "overflow": "overflowed",
                      "callback": "callback"}[kind])
            elif kind == "complete":
                bump("completed")
                bump("talk_total", int(f.get("talk", 0)))
            elif kind == "miss":
                bump("missed")
        return totals
