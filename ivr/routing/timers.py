"""Routing timers: ring timeouts, wrap-up ends, max waits, escalation steps, a miss's rest,
callback retries, checks of long calls, and forgetting finished callers.

Timers are members of one Redis sorted set ("kind|arg|arg", scored by due
time in ms of the router's clock), set by the scripts that decide. Every
worker runs a thread that claims due timers with a lease (claim_timers.lua),
so each fires once across workers and hosts, and a worker that dies mid-way
leaves its lease to run out for another. Handlers are idempotent: each offer
has a token, and a timer for an offer that is over changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ivr import keys
from ivr.routing.chats import Chats
from ivr.routing.core import Acd
from ivr.routing.env import Env
from ivr.routing.layout import ON_CALL_CHECK
from ivr.routing.phones import Phones
from ivr.routing.records import FINAL_CALL_STATUSES, FINISHED, CallerRecord
from ivr.routing.roster import Roster
from ivr.routing.scripts import Scripts

log = logging.getLogger("ivr.routing")

TIMER_LEASE = 30.0  # seconds a claimed timer is ours before another worker may fire it
TIMER_POLL = 0.1  # seconds between timer sweeps (timers only; free agents match at once)


class Timers:
    """Claims and fires due timers; `start()` runs this worker's timer thread."""

    def __init__(self, env: Env, scripts: Scripts, acd: Acd, roster: Roster,
                 phones: Phones, chats: Chats) -> None:
        self.env = env
        self.chats = chats
        self.scripts = scripts
        self.acd = acd
        self.roster = roster
        self.phones = phones
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # Other periodic work that rides on this thread (the reports' fold of the event log).
        self.ticks: list[Callable[[], object]] = [chats.tick]

    def start(self) -> None:
        """Start this worker's timer thread (every worker runs one; leases make each fire once)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ivr-acd-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                fired = self.run(50)
                self._tick()
                if fired == 0:
                    self._stopping.wait(TIMER_POLL)
            except Exception:  # keep the thread alive through Redis restarts and bugs
                log.exception("routing timers")
                self._stopping.wait(1.0)

    def _tick(self) -> None:
        for tick in self.ticks:
            try:
                tick()
            except Exception:  # a failing listener must not stall the timers
                log.exception("timer thread tick %s", tick)

    def run(self, limit: int = 50) -> int:
        """Claim and fire due timers once; the number fired (tests call this directly)."""
        claimed = self.scripts.claim_timers(limit=limit, lease_ms=int(TIMER_LEASE * 1000))
        for timer in claimed:
            try:
                self.fire(timer.member)
            except Exception:
                log.exception("timer %s failed; retried after its lease", timer.member)
                continue
            self.scripts.timer_done(timer)
        return len(claimed)

    def fire(self, member: str) -> None:
        kind, *args = member.split("|")
        acd = self.acd
        if kind == "ring":
            acd.offer_failed(args[0], args[1], "expired")
        elif kind == "wrap":
            acd.place_offers(self.scripts.wrap_end(args[0], args[1]))
        elif kind == "maxwait":
            acd.max_wait(args[0])
        elif kind == "esc":
            acd.place_offers(self.scripts.match_caller(args[0], escalate=int(args[1])))
        elif kind == "check":
            self._check_on_call(args[0], args[1])
        elif kind == "joincheck":
            acd.join_check(args[0])
        elif kind == "leavecheck":
            acd.leave_check(args[0])
        elif kind == "forget":
            self._forget(args[0])
        elif kind in ("cring", "cquiet", "cwrap", "cforget"):
            self.chats.fire(kind, args)
        elif kind in ("rematch", "cbretry"):
            acd.place_offers(self.scripts.match_caller(args[0]))
        else:
            log.warning("unknown timer %s", member)

    def _forget(self, caller_id: str) -> None:
        """A finished caller's record is kept an hour (late webhooks, the API), then dropped."""
        db = self.env.db
        raw = db.hget(keys.acd("callers"), caller_id)
        if raw and CallerRecord.from_json(raw).state in FINISHED:
            db.hdel(keys.acd("callers"), caller_id)
            db.delete(keys.acd("inq", caller_id))

    def _check_on_call(self, agent_id: str, token: str) -> None:
        """An agent on a call for a while: does Twilio still have that call? (A status
        callback lost while Redis was away would otherwise leave them on-call for good.)"""
        agent = self.roster.record(agent_id)
        if agent is None or agent.state != "on-call" or not agent.holds(token):
            return
        status = self.phones.status(agent.leg) if agent.leg else ""
        if status in FINAL_CALL_STATUSES:
            log.warning("%s's call %s ended without a status callback", agent_id, agent.leg)
            self.acd.agent_leg_status(agent_id, token, status)
        else:
            member = f"check|{agent_id}|{token}"
            due = self.env.now_ms() + ON_CALL_CHECK * 1000
            self.env.db.zadd(keys.acd("timers"), {member: due})
