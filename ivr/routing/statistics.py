"""Queue statistics: live figures (who waits, agents by status and state) and today's
counters, kept by the scripts as events happen, and rebuilt from the event log.

The counters live in one hash, "queue|date|counter", where date is today in
the queue's time zone; each caller's single outcome (connected, abandoned,
overflowed, called back) is counted once by the script that sets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr import keys
from ivr.routing.env import Env
from ivr.routing.events import EventLog, at_ms
from ivr.routing.layout import KeyLayout
from ivr.routing.records import STATES, STATUSES, AgentRecord, CallerRecord
from ivr.routing.roster import Roster

COUNTERS = ("offered", "answered", "abandoned", "overflowed", "callback", "answered_in_sl",
            "wait_total", "talk_total", "completed", "missed", "callback_reached",
            "callback_failed")
HEAD = 50  # callers at the front of each waiting line looked at for the longest wait
SCORE_BAND = 10**13  # a waiting line's score: (100 - priority) * SCORE_BAND + arrival ms
WAITING_MAX = 1000  # callers listed per queue by waiting()
WALLBOARD_WAITING = 10  # callers of each queue the wallboard's poll lists (its cards count all)


class Statistics:
    """Figures per queue, and the callers waiting now."""

    def __init__(self, env: Env, layout: KeyLayout, roster: Roster, log: EventLog) -> None:
        self.env = env
        self.layout = layout
        self.roster = roster
        self.log = log

    def queue_stats(self, name: str) -> dict[str, Any]:
        """Live figures and today's (queue time zone) counters for one queue."""
        return self.many_queue_stats([name])[0]

    def all_queue_stats(self) -> list[dict[str, Any]]:
        return self.many_queue_stats(self.layout.queues())

    def live(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[AgentRecord],
                            dict[str, dict[str, Any]]]:
        """(every queue's figures, callers waiting, every agent's record, each busy agent's
        call) for one wallboard poll: agents and callers are each read and decoded once."""
        agents = self.roster.records()
        callers = CallerCache(self.env)
        waiting = self.waiting(callers, per_queue=WALLBOARD_WAITING)
        stats = self.many_queue_stats(self.layout.queues(), agents)
        return stats, waiting, agents, self.calls_of(agents, callers)

    def calls_of(self, agents: list[AgentRecord],
                 callers: CallerCache) -> dict[str, dict[str, Any]]:
        """The call each agent is ringing for, talking on or wrapping up, by agent id:
        its queue, the caller's number and (once connected) the talk time so far."""
        now = self.env.clock()
        busy = [(a, a.offer) for a in agents if a.offer is not None and a.state != "idle"]
        found = callers.get([offer.call for _, offer in busy])
        out: dict[str, dict[str, Any]] = {}
        for a, offer in busy:
            c = found.get(offer.call)
            talk = None
            if a.state == "on-call" and c is not None and c.connected_ms:
                talk = round(max(0.0, now - c.connected_ms / 1000.0), 1)
            out[a.id] = {"id": offer.call, "queue": offer.queue or (c.queue if c else None),
                         "from": c.number if c is not None else None, "talk": talk}
        return out

    def many_queue_stats(self, names: list[str], agents: list[AgentRecord] | None = None
                         ) -> list[dict[str, Any]]:
        """Figures of several queues in two Redis round trips and one pass over the agents
        (O(agents + queues), not one walk of every agent per queue: the wallboard's poll
        asks for every queue every 2 s)."""
        db = self.env.db
        now = self.env.clock()
        configs = {n: self.env.queue_config(n) for n in names}
        buckets = self._buckets_by_queue(names)
        dates = {n: self.env.today(n) for n in names}
        pipe = db.pipeline(transaction=False)
        for name in names:
            for key in buckets[name]:
                pipe.zrange(key, 0, HEAD - 1, withscores=True)
                pipe.zcard(key)
            pipe.hmget(keys.acd("stats"), [f"{name}|{dates[name]}|{f}" for f in COUNTERS])
        replies = iter(pipe.execute())
        # A line's score is (100 - priority) * 1e13 + arrival ms (lib.lua's score): the
        # arrival comes from the scores, without reading a caller's record.
        arrivals: dict[str, list[float]] = {}
        waiting: dict[str, int] = {}
        days: dict[str, dict[str, int]] = {}
        for name in names:
            head: list[float] = []
            count = 0
            for _ in buckets[name]:
                head += [float(score) % SCORE_BAND for _, score in next(replies)]
                count += int(next(replies))
            arrivals[name], waiting[name] = head, count
            days[name] = {f: int(v or 0) for f, v in zip(COUNTERS, next(replies), strict=True)}
        tally = AgentTally(agents if agents is not None else self.roster.records())
        out = []
        for name in names:
            config = configs[name]
            longest = max((now - ms / 1000.0 for ms in arrivals[name]), default=0.0)
            by_status, by_state = tally.counts(config.skills)
            day = days[name]
            out.append({
                "queue": name,
                "waiting": waiting[name],
                "longest_wait": round(max(0.0, longest), 1),
                "agents_by_status": by_status,
                "agents_by_state": by_state,
                "date": dates[name],
                "timezone": config.timezone,
                "offered": day["offered"],
                "answered": day["answered"],
                "abandoned": day["abandoned"],
                "overflowed": day["overflowed"],
                "called_back": day["callback"],
                "callbacks_reached": day["callback_reached"],
                "callbacks_failed": day["callback_failed"],
                "missed_offers": day["missed"],
                "service_level": ((day["answered_in_sl"] / day["offered"])
                                  if day["offered"] else None),
                "average_wait": (day["wait_total"] / day["answered"]) if day["answered"] else None,
                "average_talk": ((day["talk_total"] / day["completed"])
                                 if day["completed"] else None),
            })
        return out

    def _buckets_by_queue(self, names: list[str]) -> dict[str, list[str]]:
        """Each queue's waiting-line keys, from one pass over every bucket."""
        out: dict[str, list[str]] = {n: [] for n in names}
        for bucket in self.layout.universe()[2]:
            queue = bucket.split("#", 1)[0]
            if queue in out:
                out[queue].append(keys.acd("wait", bucket))
        return out

    def waiting(self, callers: CallerCache | None = None,
                per_queue: int = WAITING_MAX) -> list[dict[str, Any]]:
        """Callers waiting now (callbacks included), best first within each queue, the
        first `per_queue` of each."""
        db = self.env.db
        out: list[dict[str, Any]] = []
        now = self.env.clock()
        queues = self.layout.queues()
        buckets = self._buckets_by_queue(queues)
        pipe = db.pipeline(transaction=False)
        for queue in queues:
            for key in buckets[queue]:
                pipe.zrange(key, 0, per_queue - 1, withscores=True)
        replies = iter(pipe.execute())
        lines: list[tuple[str, list[str]]] = []
        for queue in queues:
            pairs: list[tuple[float, str]] = []
            for _ in buckets[queue]:
                pairs += [(sc, m) for m, sc in next(replies)]
            ids = [m for _, m in sorted(pairs)[:per_queue]]
            if ids:
                lines.append((queue, ids))
        cache = callers if callers is not None else CallerCache(self.env)
        found = cache.get([m for _, ids in lines for m in ids])
        for queue, ids in lines:
            for position, member in enumerate(ids, start=1):
                c = found.get(member)
                if c is None:
                    continue
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
            if kind == "abandon" and f.get("kept"):
                continue  # a caller answered before a transfer: still connected, once
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


class AgentTally:
    """Agents by status and state for each queue's skills, from one pass over the roster.

    An index from skill to the agents who have it (level 1 or more) makes each queue cost
    the agents of its rarest skill, not the whole roster; queues needing the same skills
    share one count."""

    def __init__(self, agents: list[AgentRecord]) -> None:
        self.agents = agents
        self.by_skill: dict[str, list[AgentRecord]] = {}
        for agent in agents:
            for skill, level in agent.skills.items():
                if level >= 1:
                    self.by_skill.setdefault(skill, []).append(agent)
        self._done: dict[tuple[str, ...], tuple[dict[str, int], dict[str, int]]] = {}

    def counts(self, skills: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """(agents by status, agents by state) among agents who have every one of skills."""
        needs = tuple(sorted(set(skills)))
        if needs not in self._done:
            if needs:
                rarest = min(needs, key=lambda s: len(self.by_skill.get(s, ())))
                pool = [a for a in self.by_skill.get(rarest, ())
                        if all(a.skills.get(s, 0) >= 1 for s in needs)]
            else:
                pool = self.agents
            by_status = dict.fromkeys(STATUSES, 0)
            by_state = dict.fromkeys(STATES, 0)
            for agent in pool:
                by_status[agent.status] = by_status.get(agent.status, 0) + 1
                if agent.status != "offline" or agent.state != "idle":
                    by_state[agent.state] = by_state.get(agent.state, 0) + 1
            self._done[needs] = (by_status, by_state)
        by_status, by_state = self._done[needs]
        return dict(by_status), dict(by_state)


class CallerCache:
    """Caller records read once per poll: the waiting list and the longest waits share them."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.known: dict[str, CallerRecord | None] = {}

    def get(self, ids: list[str]) -> dict[str, CallerRecord | None]:
        """These callers' records (None: gone), reading only the ones not yet read."""
        missing = list(dict.fromkeys(m for m in ids if m not in self.known))
        if missing:
            raws = self.env.db.hmget(keys.acd("callers"), missing)
            for member, raw in zip(missing, raws, strict=True):
                self.known[member] = CallerRecord.from_json(raw) if raw else None
        return {m: self.known[m] for m in ids}
