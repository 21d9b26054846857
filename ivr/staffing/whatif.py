"""A what-if day: the forecast's callers played through the real router on simulated time.

The simulation drives the same `Router` the server runs — its Lua decisions,
strategies, skills and levels, escalation steps, wrap-up, max wait, misses — on
a Redis of its own, with the router's clock set to simulated time: every
decision gets "now" from the clock (ARGV), and the router's timers (wrap-up
ends, escalation steps, max waits, ring timeouts) are fired when simulated
time reaches their due time, so a day runs in seconds and nothing sleeps.

What the simulation plays instead of Twilio and people (`_Switch`):

- callers arrive as a Poisson process per interval and queue, talk for an
  exponential time around the forecast's `aht`, and hang up when an
  exponential patience around `patience` runs out before an agent answers;
- in a queue with `callback: true`, the forecast's `callback` share of the
  callers who would give up press 1 instead; the router offers their callback
  to an agent like a call (keeping the caller's place), the agent's dial reaches
  them after `callback_ring_s` with probability `callback_answer`, or the
  router tries again later, up to its last try;
- agents log in and out with their `shifts:`, answer an offer after a ring of
  a few seconds (uniform around `ring_s`), or — with `miss` — let it ring out
  (a no-answer miss, as the router counts it; an agent it puts on break comes
  back after `break_s`);
- the calls the router places, ends and asks about are this module's records.

Callers are drawn from their own random stream per interval and queue, so two
what-ifs of the same forecast and seed (say, before and after a routing change)
meet the very same callers; agents' ring times come from another stream.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis

from ivr import keys
from ivr.flows.model import AgentConfig, Callflows
from ivr.routing.core import CALLBACK_SPACING, MAX_WAIT_RETRY, MISS_REST
from ivr.routing.layout import KEEP_FINISHED, ON_CALL_CHECK, RING_GRACE
from ivr.routing.router import Router
from ivr.staffing.erlang import performance, traffic_of
from ivr.staffing.forecast import Forecast
from ivr.staffing.shifts import Span, spans

PEEK = 32  # timers looked at per read of the timer set
SERVICE_NUMBER = "+15005550006"
CALLER_NUMBER = "+15005550000"


@dataclass(frozen=True)
class Options:
    """How the people of the simulated day behave (see module docstring)."""

    seed: int = 1
    ring_s: float = 4.0  # mean seconds an agent's phone rings before they accept (0: at once)
    miss: float = 0.0  # share of offers an agent lets ring out (a no-answer miss)
    break_s: float = 300.0  # an agent put on break by misses is available again after this
    tail_s: float = 4 * 3600.0  # how long past the day's end callers still waiting are followed
    callback_answer: float = 0.8  # share of an agent's dials to a callback customer answered
    callback_ring_s: float = 15.0  # seconds the customer's phone rings (answered or not)


@dataclass
class Cell:
    """One interval of one queue: what happened, and what Erlang predicts for it."""

    interval_start: datetime
    queue: str
    forecast_calls: float
    aht_s: float
    wrap_up_s: float
    patience_s: float | None
    target_s: int
    offered: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    overflowed: int = 0
    callbacks: int = 0  # asked to be called back instead of giving up
    called_back: int = 0  # of those, reached by an agent (any later interval)
    callback_failed: int = 0  # of those, not reached after the router's last try
    wait_sum: float = 0.0
    agents: float = 0.0  # average agents on shift having the queue's skills
    busy_s: float = 0.0
    staffed_s: float = 0.0
    erlang: dict[str, Any] = field(default_factory=dict)

    @property
    def service_level(self) -> float | None:
        return self.answered_in_target / self.offered if self.offered else None

    @property
    def asa_s(self) -> float | None:
        return self.wait_sum / self.answered if self.answered else None

    @property
    def occupancy(self) -> float | None:
        return min(1.0, self.busy_s / self.staffed_s) if self.staffed_s else None

    def row(self) -> dict[str, Any]:
        """One flat row (CSV, JSON); None where a figure has no value (no calls)."""
        return {
            "interval_start": self.interval_start.strftime("%Y-%m-%d %H:%M"),
            "queue": self.queue,
            "forecast_calls": self.forecast_calls,
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "overflowed": self.overflowed,
            "callbacks": self.callbacks,
            "called_back": self.called_back,
            "callback_failed": self.callback_failed,
            "service_level": self.service_level,
            "asa_s": self.asa_s,
            "occupancy": self.occupancy,
            "agents": round(self.agents, 2),
            **self.erlang,
        }


@dataclass
class _Caller:
    sid: str
    queue: str
    cell: Cell
    arrive: float
    talk_s: float
    patience_s: float | None
    wants_callback: bool = False  # presses 1 rather than give up (queue with callback on)
    done: bool = False
    callback: bool = False  # asked for the callback: their outcome is "called back"


@dataclass
class _Leg:
    """A call the router placed to an agent's phone (an offer)."""

    sid: str
    agent: str
    token: str
    caller: str
    start: float
    timeout: float
    over: bool = False  # ended (hung up, cancelled, missed): later events for it are stale
    talking: bool = False


class SimClock:
    """The router's clock: simulated seconds since the epoch, moved only by the simulation."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class _Switch:
    """Twilio's REST API as the router uses it, answered by the simulation."""

    def __init__(self, day: WhatIf) -> None:
        self.day = day
        self._ids = itertools.count(1)

    @property
    def calls(self) -> Any:
        switch = self

        class _Calls:
            def create(self, **kw: Any) -> Any:
                query = parse_qs(urlsplit(kw["url"]).query)
                sid = f"CAsim{next(switch._ids):024d}"
                switch.day.ring(sid, query["agent"][0], query["token"][0],
                                float(kw.get("timeout") or 20))
                return type("Call", (), {"sid": sid})()

            def __call__(self, sid: str) -> Any:
                class _One:
                    def update(self, **kw: Any) -> None:
                        switch.day.leg_ended_by_router(sid)

                    def fetch(self) -> Any:
                        leg = switch.day.legs.get(sid)
                        status = "completed" if leg is None or leg.over else "in-progress"
                        return type("Call", (), {"sid": sid, "status": status})()
                return _One()

        return _Calls()

    @property
    def messages(self) -> Any:
        switch = self

        class _Messages:
            def create(self, **kw: Any) -> Any:
                switch.day.texted(str(kw.get("to", "")), str(kw.get("body", "")))
                return type("Message", (), {"sid": f"SMsim{next(switch._ids):024d}"})()

        return _Messages()


def timer_gap(callflows: Callflows) -> float:
    """The shortest delay, in seconds, at which any routing decision sets a timer (ring
    timeouts, wrap-up, escalation steps, max waits, a miss's rest, callback retries, checks
    of long calls, forgetting callers): between two looks at the timer set, events closer
    than this to the router's last decision need no look. (A queue without wrap-up, max
    wait or escalation sets no such timer at all: its agents are free at once.)"""
    delays = [MISS_REST, MAX_WAIT_RETRY, CALLBACK_SPACING, ON_CALL_CHECK, KEEP_FINISHED]
    for queue in callflows.queues.values():
        delays.append(queue.ring_timeout + RING_GRACE)
        delays += [d for d in [queue.wrap_up, queue.max_wait, *(e.after for e in queue.escalate)]
                   if d > 0]
    return max(0.0, float(min(delays)))


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """The router draws its `random` strategy's number from the module `random`: seed it for
    the run and give the caller's own sequence back afterwards."""
    state = random.getstate()
    random.seed(f"whatif-router:{seed}")
    try:
        yield
    finally:
        random.setstate(state)


def _epoch(moment: datetime) -> float:
    """Local wall-clock times are simulated as if they were UTC: only differences matter."""
    return moment.replace(tzinfo=UTC).timestamp()


class WhatIf:
    """One simulated day; `run()` returns a Cell per interval and queue of the forecast."""

    def __init__(self, store: redis.Redis, callflows: Callflows, forecast: Forecast,
                 shifts: dict[str, dict[str, Any]], options: Options | None = None) -> None:
        self.store = store
        self.db: Any = store  # decode_responses=True: replies are str (see routing Env.db)
        self.forecast = forecast
        self.options = options or Options()
        unknown = sorted(set(forecast.queues) - set(callflows.queues))
        if unknown:
            raise ValueError(f"the forecast names queue(s) not in queues.yaml: "
                             f"{', '.join(unknown)}")
        self.callflows = replace(callflows, version=callflows.version or "whatif")
        self.agents: dict[str, AgentConfig] = dict(self.callflows.agents)
        begin, end = forecast.window
        self.begin, self.end = _epoch(begin), _epoch(end)
        self.clock = SimClock(self.begin)
        self.router = Router(store, lambda: self.callflows, _Switch(self),  # type: ignore[arg-type]
                             public_url="http://whatif.invalid", clock=self.clock,
                             hold_music=None)
        self.on_shift: dict[str, list[tuple[float, float]]] = {}
        for agent_id in self.agents:
            if agent_id in shifts:
                found: list[Span] = spans(shifts[agent_id], begin.date(), end.date())
                self.on_shift[agent_id] = [(_epoch(a), _epoch(b)) for a, b in found
                                           if _epoch(b) > self.begin and _epoch(a) < self.end]
            else:  # all day, and on until the last callers of the day are served
                self.on_shift[agent_id] = [(self.begin, self.end + self.options.tail_s)]
        self.cells: dict[tuple[int, str], Cell] = {}
        self.callers: dict[str, _Caller] = {}
        self.legs: dict[str, _Leg] = {}
        self.busy: dict[str, list[tuple[float, float]]] = {a: [] for a in self.agents}
        self.phone_of = {a.phone: a.id for a in self.agents.values()}
        self._events: list[tuple[float, int, Callable[..., bool | None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._ring_rng = random.Random(f"whatif-agents:{self.options.seed}")
        self.by_token: dict[str, _Leg] = {}
        self.unresolved = 0
        self.to_arrive = 0
        self.live_legs = 0
        self.decisions = 0
        self._dirty = True  # the router ran since the timer set was last read
        self._dirty_since = self.begin
        self._due: float | None = None
        self._stale: dict[str, float] = {}  # no-op timers seen at the last look: their due ms
        self._head: list[tuple[str, float]] = []  # the others, due first first
        self._gap = timer_gap(self.callflows)

    # --- the event list ---------------------------------------------------------------

    def at(self, when: float, handler: Callable[..., bool | None], *args: Any) -> None:
        heapq.heappush(self._events, (when, next(self._seq), handler, args))

    def _next_timer(self) -> float | None:
        """When the router's next timer that can still change something is due.

        Read again only after the router ran (only its decisions add timers). Timers
        this simulation knows to be no-ops are taken out unfired: the ring timer of an
        offer already answered or ended, a finished caller's escalation steps, max wait
        and miss rest (the router ignores those: each names an offer token or a caller
        whose wait is over), `forget` (it only frees a finished caller's record), and
        the checks of long calls (a safety net for a lost status callback, which the
        simulated switch never loses). Skipping them saves round trips, not decisions."""
        if not self._dirty:
            return self._due
        timers = keys.acd("timers")
        while True:
            pipe = self.db.pipeline(transaction=False)
            if self._stale:  # no-ops found by the last look go in the same round trip
                pipe.zrem(timers, *self._stale)
            pipe.zrange(timers, 0, PEEK - 1, withscores=True)
            head: list[tuple[str, float]] = pipe.execute()[-1]
            self._stale = {m: score for m, score in head if self._no_op(m)}
            self._head = [(m, score) for m, score in head if m not in self._stale]
            if self._head or len(head) < PEEK:
                break
        self._due = float(self._head[0][1]) / 1000.0 if self._head else None
        self._dirty = False
        return self._due

    def _no_op(self, member: str) -> bool:
        kind, _, rest = member.partition("|")
        if kind == "forget":
            return True
        if kind in ("esc", "maxwait", "rematch"):
            caller = self.callers.get(rest.split("|", 1)[0])
            return caller is not None and caller.done
        if kind == "check":
            return True  # the simulated switch never loses a status callback
        if kind == "ring":
            leg = self.by_token.get(rest.partition("|")[2])
            return leg is not None and (leg.over or leg.talking)
        return False

    def _fire_timers(self) -> None:
        """Fire the timers due now with the router's own handler (`Timers.fire`).

        The simulation is the router's only worker, so it takes due timers out of the set
        itself, before firing them (a handler may set the same timer again), instead of
        claiming them with a lease for one worker among several (claim_timers.lua)."""
        now_ms = self.clock.now * 1000
        due = [m for m, score in self._head if score <= now_ms]
        gone = [m for m, score in self._stale.items() if score <= now_ms]
        if due or gone:
            self.db.zrem(keys.acd("timers"), *due, *gone)
        for member in gone:
            del self._stale[member]
        self._head = []
        self._touched()
        for member in due:
            self.router.timers.fire(member)
            self.decisions += 1
            kind, _, arg = member.partition("|")
            if kind == "maxwait":
                self._maybe_overflowed(arg)

    # --- running ---------------------------------------------------------------------

    def run(self) -> list[Cell]:
        with _seeded(self.options.seed):
            self._prepare()
            hard_end = self.end + self.options.tail_s
            while True:
                event_at = self._events[0][0] if self._events else None
                if event_at is not None and event_at <= self.clock.now:
                    # another event of this same instant (a ring-all's cancelled calls):
                    # played before any timer due at this instant, without a look at them
                    self._pop()
                    continue
                if event_at is not None and event_at < self._quiet_until():
                    self._pop()  # no timer can be due before this event: no need to look
                    continue
                due = self._next_timer()
                if self._day_over() or event_at is None and (
                        self.unresolved == 0 or due is None or due > hard_end):
                    break
                if due is not None and (event_at is None or due <= event_at):
                    self.clock.now = max(self.clock.now, due)
                    self._fire_timers()
                    continue
                self._pop()
        self._occupancy()
        self._predict()
        return [self.cells[k] for k in sorted(self.cells, key=lambda k: (k[0], k[1]))]

    def _day_over(self) -> bool:
        """Every caller has arrived and is answered, gone or overflowed, and every agent's
        call has ended: what is left (log-outs, wrap-ups) changes no figure."""
        return self.to_arrive == 0 and self.unresolved == 0 and self.live_legs == 0

    def _pop(self) -> None:
        when, _, handler, args = heapq.heappop(self._events)
        self.clock.now = max(self.clock.now, when)
        if handler(*args) is not False:
            self._touched()
            self.decisions += 1

    def _touched(self) -> None:
        if not self._dirty:
            self._dirty = True
            self._dirty_since = self.clock.now

    def _quiet_until(self) -> float:
        """Until when no router timer can be due: the earliest one last read, and at least
        `_gap` after the router last ran (the shortest delay any decision sets a timer at)."""
        due = self._due if self._due is not None else math.inf
        return min(due, self._dirty_since + self._gap) if self._dirty else due

    def _prepare(self) -> None:
        self.router.sync_roster()
        for agent_id, shifts in self.on_shift.items():
            for start, stop in shifts:
                self.at(max(start, self.begin), self._log_in, agent_id)
                self.at(stop, self._log_out, agent_id)
        interval = self.forecast.interval_s
        for row in self.forecast.rows:
            config = self.callflows.queues[row.queue]
            start = _epoch(row.start)
            index = int((start - self.begin) // interval)
            cell = Cell(interval_start=row.start, queue=row.queue, forecast_calls=row.calls,
                        aht_s=row.aht_s, wrap_up_s=config.wrap_up, patience_s=row.patience_s,
                        target_s=config.service_level)
            self.cells[(index, row.queue)] = cell
            rng = random.Random(f"whatif-callers:{self.options.seed}:{row.queue}:"
                                f"{row.start.isoformat()}")
            rate = row.calls / interval
            # a stream of its own, so that callers arrive at the same moments with and
            # without the forecast's callback column
            wishes = random.Random(f"whatif-callbacks:{self.options.seed}:{row.queue}:"
                                   f"{row.start.isoformat()}")
            t = start
            while rate > 0:
                t += rng.expovariate(rate)
                if t >= start + interval:
                    break
                talk = rng.expovariate(1.0 / row.aht_s)
                patience = rng.expovariate(1.0 / row.patience_s) if row.patience_s else None
                wants = (wishes.random() < row.callback_share
                         if row.callback_share > 0 and config.callback else False)
                sid = f"CAcall{len(self.callers):023d}"
                caller = _Caller(sid, row.queue, cell, t, talk, patience, wants)
                self.callers[sid] = caller
                self.at(t, self._arrive, caller)
                self.to_arrive += 1

    # --- callers ----------------------------------------------------------------------

    def _arrive(self, caller: _Caller) -> None:
        self.to_arrive -= 1
        caller.cell.offered += 1
        self.unresolved += 1
        held = self.router.enter_call(
            caller.sid, queue=caller.queue, priority=0, skills=[], max_wait=None,
            caller=CALLER_NUMBER, called=SERVICE_NUMBER, flow="whatif", step="queue",
            action_url="",
        )
        if not held:
            self._resolve(caller)
            caller.cell.overflowed += 1
            return
        if caller.patience_s is not None and not caller.done:
            self.at(self.clock.now + caller.patience_s, self._give_up, caller)

    def _give_up(self, caller: _Caller) -> bool:
        if caller.done or caller.callback:
            return False
        if caller.wants_callback:
            verdict = self.router.press_callback(caller.sid)
            if verdict == "busy":
                return True  # an agent's phone rings for them: they hold on
            if verdict == "ok":  # the hold loop's <Leave/>, then the <Enqueue> action
                self.router.queue_result(caller.sid, "leave")
                caller.callback = True
                caller.cell.callbacks += 1
                return True
        self.router.call_ended(caller.sid, "completed")
        if self.router.caller_outcome(caller.sid) == "abandoned":
            self._resolve(caller)
            caller.cell.abandoned += 1
        return True

    def _maybe_overflowed(self, sid: str) -> None:
        """Max wait passed: the caller's next hold-loop fetch leaves the queue (<Leave/>)."""
        caller = self.callers.get(sid)
        record = self.router.caller(sid)
        if caller is None or caller.done or record is None or record.state != "overflowing":
            return
        if self.router.queue_result(sid, "leave") == "overflow":
            self._resolve(caller)
            caller.cell.overflowed += 1

    def _resolve(self, caller: _Caller) -> None:
        if not caller.done:
            caller.done = True
            self.unresolved -= 1

    # --- agents' phones ----------------------------------------------------------------

    def ring(self, sid: str, agent: str, token: str, timeout: float) -> None:
        """The router offered a call: the agent's phone rings (called from calls.create)."""
        now = self.clock.now
        leg = _Leg(sid, agent, token, token.split(".", 1)[0], now, timeout)
        self.legs[sid] = leg
        self.live_legs += 1
        self.by_token[token] = leg
        rng = self._ring_rng
        ring = self.options.ring_s * (0.5 + rng.random()) if self.options.ring_s > 0 else 0.0
        if rng.random() < self.options.miss or ring >= timeout:
            self.at(now + timeout, self._leg_status, leg, "no-answer")
        else:
            self.at(now + ring, self._answer, leg)

    def _answer(self, leg: _Leg) -> bool:
        """The agent picks up and presses 1 in the whisper."""
        if leg.over:
            return False
        verdict, record = self.router.accept(leg.agent, leg.token)
        caller = self.callers.get(leg.caller)
        if verdict != "ok" or record is None or caller is None:
            self._leg_status(leg, "completed")  # "Sorry, the caller has hung up."
            return True
        now = self.clock.now
        if record.kind == "callback":
            reached = self._ring_rng.random() < self.options.callback_answer
            leg.talking = True
            self.at(now + self.options.callback_ring_s, self._dialed, leg, caller, reached)
            return True
        if not caller.done:
            self._resolve(caller)
            wait = now - caller.arrive
            caller.cell.answered += 1
            caller.cell.wait_sum += wait
            if wait <= caller.cell.target_s + 1e-9:
                caller.cell.answered_in_target += 1
        leg.talking = True
        self.at(now + caller.talk_s, self._hang_up, leg, caller)
        return True

    def _dialed(self, leg: _Leg, caller: _Caller, reached: bool) -> bool:
        """The agent's dial to a callback customer: answered (they talk, then the dial's
        action reports it completed) or not (reported at once; the router may retry)."""
        if not reached:
            verdict = self.router.callback_dialed(leg.agent, leg.token, "no-answer")
            if verdict == "failed":
                caller.cell.callback_failed += 1
                self._resolve(caller)
            leg.talking = False
            return self._leg_status(leg, "completed")
        self.at(self.clock.now + caller.talk_s, self._callback_talked, leg, caller)
        return True

    def _callback_talked(self, leg: _Leg, caller: _Caller) -> bool:
        if self.router.callback_dialed(leg.agent, leg.token, "completed") == "reached":
            caller.cell.called_back += 1
            self._resolve(caller)
        return self._hang_up(leg, caller)

    def _hang_up(self, leg: _Leg, caller: _Caller) -> bool:
        """The conversation ends: the agent's call completes, wrap-up starts. (The caller's
        <Enqueue> action, QueueResult=bridged, only reads: it is not played.)"""
        if leg.over:
            return False
        leg.over = True
        self.live_legs -= 1
        now = self.clock.now
        wrap = self.callflows.queues[caller.queue].wrap_up
        self.busy[leg.agent].append((leg.start, now + wrap))
        self.router.agent_leg_status(leg.agent, leg.token, "completed", leg.sid)
        return True

    def _leg_status(self, leg: _Leg, status: str) -> bool:
        if leg.over:
            return False
        leg.over = True
        self.live_legs -= 1
        self.busy[leg.agent].append((leg.start, self.clock.now))
        self.router.agent_leg_status(leg.agent, leg.token, status, leg.sid)
        return True

    def leg_ended_by_router(self, sid: str) -> None:
        """The router ended an offer's call (withdrawn: the caller hung up, another agent of
        a ring-all won): Twilio reports it ended at once."""
        leg = self.legs.get(sid)
        if leg is not None and not leg.over and not leg.talking:
            self.at(self.clock.now, self._leg_status, leg, "canceled")

    def texted(self, to: str, body: str) -> None:
        """The router texts an agent it put on break after misses: they come back later."""
        agent = self.phone_of.get(to)
        if agent is not None and "on break" in body:
            self.at(self.clock.now + self.options.break_s, self._back, agent)

    # --- shifts ----------------------------------------------------------------------

    def _in_shift(self, agent: str) -> bool:
        now = self.clock.now
        return any(a <= now < b for a, b in self.on_shift.get(agent, []))

    def _log_in(self, agent: str) -> None:
        self.router.set_agent_status(agent, "available", source="whatif")

    def _log_out(self, agent: str) -> None:
        if not self._in_shift(agent):
            self.router.set_agent_status(agent, "offline", source="whatif")

    def _back(self, agent: str) -> None:
        record = self.router.roster.record(agent)
        if self._in_shift(agent) and record is not None and record.status == "break":
            self.router.set_agent_status(agent, "available", source="whatif")

    # --- figures ---------------------------------------------------------------------

    def _eligible(self, queue: str) -> list[str]:
        """Agents having every one of the queue's skills (at any level)."""
        needs = self.callflows.queues[queue].skills
        return [a.id for a in self.agents.values() if all(a.skills.get(s, 0) >= 1 for s in needs)]

    def _occupancy(self) -> None:
        interval = self.forecast.interval_s

        def overlap(spans_: list[tuple[float, float]], lo: float, hi: float) -> float:
            return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans_)

        for (index, queue), cell in self.cells.items():
            lo = self.begin + index * interval
            hi = lo + interval
            for agent in self._eligible(queue):
                staffed = overlap(self.on_shift[agent], lo, hi)
                cell.staffed_s += staffed
                if staffed:
                    cell.busy_s += min(staffed, overlap(self.busy[agent], lo, hi))
            cell.agents = cell.staffed_s / interval

    def _predict(self) -> None:
        """What Erlang C (Erlang A when the forecast gives patience) says of each cell, with
        the agents on shift who have the queue's skills, as if they served it alone."""
        interval = self.forecast.interval_s
        for cell in self.cells.values():
            handle = cell.aht_s + cell.wrap_up_s
            agents = math.floor(cell.agents + 1e-9)
            traffic = traffic_of(cell.forecast_calls, interval, handle)
            p = performance(agents, traffic, handle, cell.target_s, cell.patience_s)
            cell.erlang = {
                "erlang_model": p.model,
                "erlang_agents": agents,
                "erlang_service_level": p.service_level,
                "erlang_asa_s": p.asa_s if math.isfinite(p.asa_s) else None,
                "erlang_occupancy": p.occupancy,
                "erlang_abandoned": p.p_abandon * cell.forecast_calls,
            }


def interval_label(start: datetime, interval_s: int) -> str:
    end = start + timedelta(seconds=interval_s)
    return f"{start:%H:%M}-{end:%H:%M}"
