"""Load on the conference bridge with call controls: the crowd of `test_load.py` (200
callers, 20 agents answering, declining, ringing out and hanging up at random, 4 gunicorn
workers on one Redis) while 30 holds and cold and warm transfers go through the JSON API
(`/api/calls/{sid}/hold`, `/transfer`, `/transfer/complete`, `/transfer/cancel`) on calls
chosen at random as they talk.

Every check reads the simulator's own record (its participant log says who was in which
conference when), never the server's word: no agent with two calls at once, no caller
in two conferences or with two agents at once, nobody lost, every caller a control
touched ends with one agent or one outcome, no 5xx. It prints what each control costs
(p50/p99 as the API client sees it) and the webhooks per connected call
(docs/benchmarks.md, "Call control under load").
"""

from __future__ import annotations

import collections
import math
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests

from ivr import keys
from ivr.sim.people import Hangup, Input, Phone
from ivr.sim.records import Presence
from ivr.sim.twilio import SimCall, TwilioSim
from ivr.store import connect
from tests.routing.loadkit import (
    AGENT_PHONE,
    SERVICE,
    Cluster,
    agents_on,
    assert_first_offers_in_arrival_order,
    assert_outcomes_agree,
    caller_of_offer,
    outcome,
    place_callers,
    stats_totals,
    told_leave,
    write_folder,
)

TOKEN = "load-control-token"
CROWD = 20  # the agents who take the sales line, as in test_load.py
EXPERTS = 4  # agents without the sales skill: reached by transfers only
SCENARIOS = {"hold": 8, "cold-queue": 7, "cold-agent": 5, "warm-complete": 4,
             "warm-three-way": 3, "warm-cancel": 3}
GRACE = 3.0  # seconds for a leg the server ended by REST to leave its conference

# The transfer target queue: the crowd serves it too (they all have the sales skill).
SERVICE_QUEUE = """
service:
  skills: [sales]
  strategy: longest-idle
  ring_timeout: 8
  max_wait: 12
  wrap_up: 0
  max_missed: 3
"""
PHONES = {**{f"agent{i:02d}": AGENT_PHONE.format(i) for i in range(CROWD)},
          **{f"expert{i}": AGENT_PHONE.format(CROWD + i) for i in range(EXPERTS)}}
EXPERT_AGENTS = "".join(
    f'expert{i}:\n  name: Expert {i}\n  phone: "{AGENT_PHONE.format(CROWD + i)}"\n'
    f"  skills: {{billing: 3}}\n" for i in range(EXPERTS))


@dataclass
class Sent:
    """One control request as the API client saw it."""

    kind: str
    sid: str
    status: int
    started: float
    elapsed: float


@dataclass
class Touched:
    """A caller a scenario acted on, and the controls that succeeded, with their times."""

    sid: str
    scenario: str
    agent_leg: str
    done: list[tuple[str, float]] = field(default_factory=list)  # (control, answered at)
    target: str | None = None  # the agent a transfer named
    began: float = 0.0  # when the first control was sent
    held_music: bool | None = None  # what the caller heard right after a hold


class Driver:
    """Plays the agents' desks: finds calls in progress in the simulator and drives
    controls on them through the API with the admin token, from a few threads at once."""

    def __init__(self, sim: TwilioSim, base: str, seed: int) -> None:
        self.sim = sim
        self.base = base
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        plan = [kind for kind, n in SCENARIOS.items() for _ in range(n)]
        self.rng.shuffle(plan)
        self.todo = plan
        self.sent: list[Sent] = []
        self.touched: dict[str, Touched] = {}
        self.completed: list[Touched] = []
        self.stop = threading.Event()
        self.local = threading.local()
        self.misses: collections.Counter[str] = collections.Counter()  # why attempts failed

    # --- HTTP ------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
        return session

    def post(self, kind: str, sid: str, path: str, body: Any = None) -> int:
        started = time.time()
        t0 = time.perf_counter()
        resp = self._session().post(f"{self.base}/api/calls/{sid}/{path}", json=body,
                                    timeout=30)
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.sent.append(Sent(kind, sid, resp.status_code, started, elapsed))
        return resp.status_code

    def free_agents(self, besides: str) -> list[str]:
        resp = self._session().get(f"{self.base}/api/agents", timeout=30)
        assert resp.status_code == 200, resp.text
        return [a["id"] for a in resp.json() if a["status"] == "available"
                and a["state"] == "idle" and a.get("phone") != besides]

    # --- choosing a call ---------------------------------------------------------------

    def pick(self) -> tuple[str, str] | None:
        """A caller talking with their agent right now (both in the conference named after
        the caller, nobody held) that no scenario touched yet: (caller, agent's leg)."""
        with self.lock:
            pairs = self.talking()
            if not pairs:
                return None
            sid, leg = self.rng.choice(pairs)
            return sid, leg

    def talking(self) -> list[tuple[str, str]]:
        """Every (caller, agent's leg) talking right now that no scenario touched yet."""
        sw = self.sim.switch
        with sw.lock:
            pairs = []
            for name, room in sw.rooms.items():
                ps = room.participants
                if room.ended or not room.started or len(ps) != 2 or name not in ps:
                    continue
                other = next(s for s in ps if s != name)
                if not ps[name].hold and not ps[other].hold:
                    pairs.append((name, other))
        return [p for p in pairs if p[0] not in self.touched]

    def unfinished(self) -> bool:
        with self.lock:
            return len(self.completed) < sum(SCENARIOS.values())

    def pause(self, low: float, high: float) -> None:
        with self.lock:
            seconds = self.rng.uniform(low, high)
        time.sleep(seconds)

    # --- scenarios ---------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if not self.todo:
                    return
                scenario = self.todo.pop()
            if not self.attempt(scenario):
                with self.lock:
                    self.todo.append(scenario)
                time.sleep(0.05)

    def attempt(self, scenario: str) -> bool:
        """Run one scenario on a random call; False if its first control did not apply
        (no call to act on, no free agent to transfer to, or the call changed meanwhile)."""
        picked = self.pick()
        if picked is None:
            self.misses["no call"] += 1
            return False
        sid, agent_leg = picked
        agent_phone = self.sim.legs[agent_leg].to
        target = None
        if scenario != "hold" and scenario != "cold-queue":
            free = self.free_agents(besides=agent_phone)
            if not free:
                self.misses["no free agent"] += 1
                time.sleep(0.2)
                return False
            with self.lock:
                target = self.rng.choice(free)
        t = Touched(sid, scenario, agent_leg, target=target, began=time.time())
        with self.lock:
            if sid in self.touched:
                return False
            self.touched[sid] = t
        if scenario == "hold":
            if self.post("hold", sid, "hold", {"hold": True}) != 200:
                return False
            t.done.append(("hold", time.time()))
            heard = self.sim.hears(sid)
            t.held_music = any(h.startswith("hold-music:") for h in heard) or (
                self.sim.legs[sid].done.is_set() or not heard)
            self.pause(0.2, 0.8)
            if self.post("resume", sid, "hold", {"hold": False}) == 200:
                t.done.append(("resume", time.time()))
        elif scenario == "cold-queue":
            if self.post("transfer queue", sid, "transfer",
                         {"to": "queue:service", "warm": False}) != 200:
                return False
            t.done.append(("transfer", time.time()))
        elif scenario == "cold-agent":
            if self.post("transfer agent", sid, "transfer",
                         {"to": f"agent:{target}", "warm": False}) != 200:
                return False
            t.done.append(("transfer", time.time()))
        else:
            if self.post("consult", sid, "transfer", {"to": f"agent:{target}",
                                                      "warm": True}) != 200:
                return False
            t.done.append(("consult", time.time()))
            answered = self.sim.wait_for(lambda: self._consult_joined(sid, t), 1.5)
            self.pause(0.2, 0.6)
            if scenario == "warm-cancel" or not answered:
                # (an agent completes only once they have talked to the target)
                if self.post("cancel", sid, "transfer/cancel") == 200:
                    t.done.append(("cancel", time.time()))
            elif scenario == "warm-complete":
                if self.post("complete", sid, "transfer/complete", {"three_way": False}) == 200:
                    t.done.append(("complete", time.time()))
            else:
                if self.post("three-way", sid, "transfer/complete", {"three_way": True}) == 200:
                    t.done.append(("three-way", time.time()))
                    self.pause(0.2, 0.6)
                    if self.post("complete", sid, "transfer/complete",
                                 {"three_way": False}) == 200:
                        t.done.append(("complete", time.time()))
        with self.lock:
            self.completed.append(t)
        return True

    def _consult_joined(self, sid: str, t: Touched) -> bool:
        """The target's phone answered and is in the caller's conference (or the call
        ended meanwhile)."""
        if self.sim.legs[sid].done.is_set():
            return True
        phone = PHONES.get(t.target or "")
        with self.sim.switch.lock:
            room = self.sim.switch.rooms.get(sid)
            others = [s for s in room.participants if s != sid] if room else []
        return any(self.sim.legs[s].to == phone for s in others)


def top_up(sim: TwilioSim, rng: random.Random, run: int, driver: Driver,
           crowd: list[SimCall]) -> tuple[list[SimCall], dict[str, str]]:
    """Late callers, one at a time, while scenarios are left and no call is there to act
    on once the crowd has thinned out: on a slow machine the crowd's calls can all end
    before the desks have run all 30 (a CI run once finished 29, the last one finding no
    call 237 times). Usually none are needed."""
    calls: list[SimCall] = []
    callers: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while driver.unfinished() and time.monotonic() < deadline and len(calls) < 100:
        live = sum(not c.leg.done.is_set() for c in crowd + calls)
        with driver.lock:
            idle = not driver.talking()
        if idle and live < CROWD:
            more, kinds = place_callers(sim, rng, run, n=1, first=len(crowd) + len(calls))
            calls += more
            callers.update(kinds)
            time.sleep(1.0)  # time to queue, ring an agent and be answered
        else:
            time.sleep(0.2)
    return calls, callers


def experts_on(sim: TwilioSim, rng: random.Random, lock: threading.Lock) -> None:
    """The transfer targets: their phones mostly answer, and at a transfer's whisper they
    mostly press 1."""
    def ring(_sid: str, _from: str, _to: str) -> Any:
        with lock:
            return rng.choices(["answer", "no-answer"], [90, 10])[0]

    def keys(_kind: str, _info: dict[str, str]) -> Input:
        with lock:
            return rng.choices(["1", "9", Hangup()], [90, 5, 5])[0]  # type: ignore[return-value]

    for i in range(EXPERTS):
        phone = AGENT_PHONE.format(CROWD + i)
        sim.phones[phone] = Phone(on_ring=ring, live=keys, ring_delay=rng.uniform(1, 6),
                                  hangup_after=rng.uniform(100, 700))
        assert "available" in sim.send_sms(phone, SERVICE, "ON")[0]


def explain(sim: TwilioSim, driver: Driver, snap: dict[str, Any]) -> str:
    """For a failure: each leg the simulator complained about, what it did, the conference
    it was in with whom, and what the desks did to that call."""
    lines = []
    for error in sim.errors:
        lines.append(f"ERROR {error}")
        sid = error.split(":", 1)[0]
        leg = sim.legs.get(sid)
        if leg is None:
            continue
        statuses = " > ".join(f"{st}@{at:.2f}" for st, at in leg.record.statuses)
        lines.append(f"  {leg.direction} {leg.from_} -> {leg.to}: {statuses}")
        lines.extend(f"    {event}" for event in leg.transcript[-12:])
        for p in snap["presences"]:
            if p.call == sid:
                lines.append(f"  in {p.room} ({p.conference}) {p.joined:.2f}-{p.left}")
                for q in snap["presences"]:
                    if q.conference == p.conference and q.call != sid:
                        other = sim.legs[q.call]
                        lines.append(f"    with {q.call} {other.to} {q.joined:.2f}-{q.left}")
        rooms = {p.room for p in snap["presences"] if p.call == sid} | {sid}
        lines.extend(f"  desk: {driver.touched[r]}" for r in rooms if r in driver.touched)
        lines.extend(f"  sent {x}" for x in driver.sent if x.sid in rooms)
    return "\n".join(lines)


def outcome_diff(redis_url: str, sim: TwilioSim, driver: Driver, snap: dict[str, Any],
                 ours: dict[str, str]) -> str:
    """For a failure: the callers whose outcome the routing's event log and the record
    disagree on, with their events, the desks' controls and what the record saw."""
    theirs: dict[str, str] = {}
    log: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    ways = {"abandon": "abandoned", "overflow": "overflowed", "callback": "callback"}
    with connect(redis_url) as check:
        for _id, event in check.xrange(keys.acd("events")):
            call, kind = event.get("call", ""), event.get("type", "")
            log[call].append(event)
            if kind == "connect" and event.get("kind") != "callback":
                theirs[call] = "connected"
            elif kind in ways:
                theirs[call] = ways[kind]
    lines = []
    for sid in sorted(set(ours) | set(theirs)):
        if ours.get(sid) == theirs.get(sid):
            continue
        lines.append(f"{sid}: record {ours.get(sid)}, routing {theirs.get(sid)}")
        lines.extend(f"  {e}" for e in log[sid])
        if sid in driver.touched:
            lines.append(f"  desk: {driver.touched[sid]}")
        lines.extend(f"  sent {x}" for x in driver.sent if x.sid == sid)
        leg = sim.legs[sid]
        lines.append(f"  queue entries {leg.record.queue_entries}")
        lines.extend(f"  {e}" for e in leg.transcript[-15:])
        lines.extend(f"  rest {q.method} {q.path} {q.status} {q.at:.2f} {q.params}"
                     for q in snap["rest_requests"] if sid in q.path)
        lines.extend(f"  in {p.room} {p.call} {p.joined:.2f}-{p.left}" for p in snap["presences"]
                     if p.room == sid)
        for other in list(sim.legs.values()):
            if any(sid in ex.url for ex in other.requests if "/twilio/agent/" in ex.url):
                lines.append(f"  agent leg {other.sid} {other.to}:")
                lines.extend(f"    {e}" for e in other.transcript)
    return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def overlaps(a: Presence, b: Presence) -> bool:
    assert a.left is not None and b.left is not None
    return a.joined < b.left and b.joined < a.left


@pytest.mark.load
@pytest.mark.parametrize("run", [1, 2])
def test_200_callers_with_holds_and_transfers(run: int, redis_url: str, r: redis.Redis,
                                             tmp_path: Path) -> None:
    began = time.monotonic()
    rng = random.Random(run)
    callflows = write_folder(tmp_path / "callflows", agents=CROWD, max_wait=12,
                             more_queues=SERVICE_QUEUE)
    with (callflows / "agents.yaml").open("a") as f:
        f.write(EXPERT_AGENTS)
    cluster = Cluster(redis_url, callflows, workers=4, log=tmp_path / "gunicorn.log",
                      env={"IVR_ADMIN_TOKEN": TOKEN})
    sim = cluster.sim
    lock = threading.Lock()
    driver = Driver(sim, cluster.server.url, seed=run * 7919)
    threads = [threading.Thread(target=driver.run, name=f"desk-{n}", daemon=True)
               for n in range(3)]
    try:
        agents_on(sim, rng, lock, CROWD)
        experts_on(sim, random.Random(run + 100), threading.Lock())
        for t in threads:
            t.start()
        calls, callers = place_callers(sim, rng, run)
        late, late_callers = top_up(sim, rng, run, driver, calls)
        calls += late
        callers.update(late_callers)
        for call in calls:
            call.wait(180)
        driver.stop.set()
        for t in threads:
            t.join(30)
        sim.wait_idle(60)
        snap = sim.record.snapshot()
        elapsed = time.monotonic() - began
        agent_phones = {AGENT_PHONE.format(i) for i in range(CROWD + EXPERTS)}

        # 0 5xx: not to Twilio's webhooks, not to the API; the simulator saw no bad TwiML
        assert [e for e in sim.record.exchanges if e.status >= 500] == []
        assert sim.errors == [], explain(sim, driver, snap)
        assert [s for s in driver.sent if s.status >= 500] == []
        assert {s.status for s in driver.sent} <= {200, 404, 409}, collections.Counter(
            (s.kind, s.status) for s in driver.sent)
        # the 30 scenarios ran, each started by a control that applied
        assert len(driver.completed) == sum(SCENARIOS.values()), (
            len(driver.completed), driver.todo, driver.misses,
            collections.Counter((s.kind, s.status) for s in driver.sent))
        # 1. no agent ever had two calls at once (offers, consults)
        for phone in sorted(agent_phones):
            assert sim.record.overlapping_offers(phone) == [], phone
        for i in range(CROWD):
            assert sim.record.calls_to(AGENT_PHONE.format(i)), f"agent{i:02d} never offered"

        # 2. nobody lost: every caller's call ended, by itself (a lost caller would hold
        # until the simulator's cap, which is an error above)
        for call in calls:
            assert snap["calls"][call.sid].ended_at is not None, call.sid
        presences: list[Presence] = snap["presences"]
        assert all(p.left is not None for p in presences)
        legs = sim.legs
        caller_sids = {c.sid for c in calls}

        def offer_for(leg_sid: str) -> str | None:
            """The caller an agent leg was an offer for (its whisper), None for a consult."""
            for ex in legs[leg_sid].requests:
                if "/twilio/agent/whisper" in ex.url:
                    return caller_of_offer(ex.url)
            return None

        by_room: dict[str, list[Presence]] = collections.defaultdict(list)
        for p in presences:
            by_room[p.conference].append(p)
        for p in presences:
            if p.call in caller_sids:
                # a caller is only ever in the conference named after them
                assert p.room == p.call, p
        # 3. no caller in two conferences at once
        for sid in caller_sids:
            mine = [p for p in presences if p.call == sid]
            for i, a in enumerate(mine):
                for b in mine[i + 1:]:
                    assert not overlaps(a, b), (sid, a, b)
        # 4. in each conference at most one agent who accepted an offer, and at most one
        # consulted agent, at a time; an offer's agent only in its own caller's conference
        for _sid, room in by_room.items():
            offers = [p for p in room if legs[p.call].to in agent_phones
                      and offer_for(p.call) is not None]
            consults = [p for p in room if legs[p.call].to in agent_phones
                        and offer_for(p.call) is None]
            for p in offers:
                assert offer_for(p.call) == p.room, p
            for group in (offers, consults):
                for i, a in enumerate(group):
                    for b in group[i + 1:]:
                        assert not overlaps(a, b), (a, b)

        # 5. callers no control touched ended one way, as in test_load.py
        outcomes: dict[str, int] = {}
        ways: dict[str, str] = {}
        left = told_leave(sim)
        for call in calls:
            if call.sid in driver.touched:
                ways[call.sid] = "connected"
                continue
            way = ways[call.sid] = outcome(sim, snap, call, callers[call.leg.from_], left)
            outcomes[way] = outcomes.get(way, 0) + 1

        # 6. every caller a control touched ends with exactly one agent or one outcome
        def agents_with(sid: str, after: float) -> set[str]:
            """Agent legs that were in a conference with the caller after `after`."""
            mine = [p for p in presences if p.call == sid]
            found = set()
            for p in presences:
                if p.call == sid or legs[p.call].to not in agent_phones:
                    continue
                assert p.left is not None
                if p.left <= after:
                    continue
                for m in mine:
                    assert m.left is not None
                    if m.room == p.room and m.conference == p.conference and \
                            max(m.joined, p.joined, after) < min(m.left, p.left):
                        found.add(p.call)
            return found

        endings: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        for sid, t in driver.touched.items():
            rec = snap["calls"][sid]
            # the <Enqueue> they were connected from (none if the acceptance moved them
            # before Twilio had started it: docs/routing.md), and any after a transfer
            before = [e for e in rec.queue_entries if e[1] < t.began]
            after = [e for e in rec.queue_entries if e[1] >= t.began]
            assert len(before) <= 1 and all(e[3] == "redirected" for e in before), (
                sid, t.scenario, rec.queue_entries)
            if not t.done:  # nothing applied: still the call it was
                assert after == [], (sid, t.scenario, rec.queue_entries)
                continue
            last = t.done[-1][1]
            present = agents_with(sid, last + GRACE)
            assert len(present) <= 1, (sid, t.scenario, t.done, present)
            transferred = t.scenario.startswith("cold") and t.done[0][0] == "transfer"
            if transferred:
                # the agent's call ended at once
                assert t.agent_leg not in agents_with(sid, last + GRACE), (sid, t)
                # back in line once (or gone before the move reached them)
                assert len(after) <= 1, (sid, t.scenario, rec.queue_entries)
                if after:
                    result = after[0][3]
                    if result == "leave":  # chose a callback while back in line
                        assert callers[rec.from_] == "callback"
                        assert not present, (sid, present)
                    else:
                        assert result in ("redirected", "hangup"), (sid, after)
                        if present:
                            assert result == "redirected"
            else:
                assert after == [], (sid, t.scenario, rec.queue_entries)
            names = [c for c, _ in t.done]
            if "complete" in names:
                assert t.agent_leg not in present, (sid, t)  # the agent left; the target
            if "cancel" in names:  # the target left; the agent stayed (or hung up)
                assert present <= {t.agent_leg}, (sid, t, present)
            if t.held_music is not None:
                assert t.held_music, (sid, "held, but did not hear hold music")
            endings[t.scenario]["one agent" if present else "an outcome"] += 1

        # the server's statistics agree: a touched caller stays the one connected call
        # it was when first answered
        connected = outcomes.get("connected", 0) + len(driver.touched)
        totals = stats_totals(redis_url)
        assert totals.get("offered") == len(calls)
        counted = {name: totals.get(name, 0) for name in
                   ("answered", "abandoned", "overflowed", "callback")}
        expected = {"answered": connected, "abandoned": outcomes.get("abandoned", 0),
                    "overflowed": outcomes.get("overflowed", 0),
                    "callback": outcomes.get("callback", 0)}
        assert counted == expected, outcome_diff(redis_url, sim, driver, snap, ways)
        assert_outcomes_agree(redis_url, ways)
        assert_first_offers_in_arrival_order(redis_url, snap)

        # --- figures -----------------------------------------------------------------
        hooks = [e for e in sim.record.exchanges if "/twilio/sms" not in e.url]
        per_call: dict[str, int] = collections.Counter()
        owner: dict[str, str] = {}
        for sid in legs:
            mine = offer_for(sid) if legs[sid].to in agent_phones else None
            if mine:
                owner[sid] = mine
        for e in hooks:
            if e.call_sid:
                per_call[owner.get(e.call_sid, e.call_sid)] += 1
        plain_calls = [c.sid for c in calls if c.sid not in driver.touched
                       and any(b.kind == "conference" for b in snap["calls"][c.sid].bridges)]
        plain = [per_call[sid] for sid in plain_calls]
        # The hold loop's waitUrl is fetched once per few simulated seconds of music while
        # the server's clock (max wait, the agents' ringing) is the wall clock: at a time
        # scale of 0.01 a caller holding one real second fetches it about ten times, which
        # no real call does. So the figures are given without it too.
        waits: dict[str, int] = collections.Counter(
            e.call_sid for e in hooks if e.call_sid and "/twilio/queue/wait" in e.url)
        no_wait = [per_call[sid] - waits[sid] for sid in plain_calls]
        loops = sum(waits.values())
        by_path = collections.Counter(urlsplit(e.url).path for e in hooks)
        lines = [f"run {run}: {elapsed:.0f} s; untouched outcomes {outcomes}; "
                 f"touched {len(driver.touched)}, scenarios {dict(endings)}"]
        lines.append(f"webhooks: {len(hooks)} for {connected} connected callers = "
                     f"{len(hooks) / connected:.1f} per connected call (all traffic); "
                     f"a connected call without controls, its own and its agents' legs: "
                     f"median {statistics.median(plain):.0f}, mean "
                     f"{statistics.mean(plain):.1f}")
        lines.append(f"without the hold loop's waitUrl: {len(hooks) - loops} = "
                     f"{(len(hooks) - loops) / connected:.1f} per connected call (all "
                     f"traffic); a connected call without controls: median "
                     f"{statistics.median(no_wait):.0f}, mean {statistics.mean(no_wait):.1f}")
        lines.append("  by path: " + ", ".join(f"{p} {n}" for p, n in by_path.most_common()))
        kinds = sorted({s.kind for s in driver.sent})
        for kind in kinds:
            ok = [s.elapsed * 1000 for s in driver.sent if s.kind == kind and s.status == 200]
            other = collections.Counter(s.status for s in driver.sent
                                        if s.kind == kind and s.status != 200)
            if ok:
                lines.append(f"  {kind:15} n={len(ok):3} p50 {percentile(ok, 50):6.1f} ms "
                             f"p99 {percentile(ok, 99):6.1f} ms  refused {dict(other)}")
            else:
                lines.append(f"  {kind:15} n=  0 refused {dict(other)}")
        print("\n" + "\n".join(lines))
    finally:
        driver.stop.set()
        cluster.stop()
