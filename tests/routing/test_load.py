"""Load: 200 callers, 20 agents answering, declining, ringing out and hanging up at random,
against 4 gunicorn workers sharing one Redis. Every check reads the simulator's own record
(what Twilio would have seen), never the server's word.

And: Redis restarted (persisted) while callers wait loses none of them.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
import redis

from ivr.sim.people import Caller, Phone
from ivr.store import EmbeddedRedis, connect
from tests.routing.loadkit import (
    AGENT_PHONE,
    CALLER_PHONE,
    SERVICE,
    Cluster,
    agents_on,
    assert_first_offers_in_arrival_order,
    assert_outcomes_agree,
    outcome,
    place_callers,
    stats_totals,
    told_leave,
    write_folder,
)


@pytest.mark.load
@pytest.mark.parametrize("run", [1, 2, 3])
def test_200_callers_20_agents_4_workers(run: int, redis_url: str, r: redis.Redis,
                                        tmp_path: Path) -> None:
    rng = random.Random(run)
    callflows = write_folder(tmp_path / "callflows", agents=20, max_wait=12)
    cluster = Cluster(redis_url, callflows, workers=4, log=tmp_path / "gunicorn.log")
    sim = cluster.sim
    lock = threading.Lock()
    try:
        agents_on(sim, rng, lock)
        calls, callers = place_callers(sim, rng, run)
        for call in calls:
            call.wait(180)
        sim.wait_idle(180)

        snap = sim.record.snapshot()
        # no 5xx, and TwiML the simulator accepted
        assert [e for e in sim.record.exchanges if e.status >= 500] == []
        assert sim.errors == []
        # 1. no agent ever had two offers at once; and every agent was offered calls
        for i in range(20):
            assert sim.record.overlapping_offers(AGENT_PHONE.format(i)) == []
            assert sim.record.calls_to(AGENT_PHONE.format(i)), f"agent{i:02d} never offered"
        # 2 and 4. every caller entered once and ended one way; connected at most once
        outcomes: dict[str, int] = {}
        lived: dict[str, str] = {}
        left = told_leave(sim)
        for call in calls:
            way = lived[call.sid] = outcome(sim, snap, call, callers[call.leg.from_], left)
            outcomes[way] = outcomes.get(way, 0) + 1
        print("outcomes", run, outcomes)
        # each caller's outcome on the server is the one the simulator saw them live
        assert_outcomes_agree(redis_url, lived)
        assert outcomes.get("connected", 0) > 50, outcomes
        assert outcomes.get("abandoned", 0) + outcomes.get("overflowed", 0) > 0, outcomes
        # 3. same priority: first offers follow arrival order
        assert_first_offers_in_arrival_order(redis_url, snap)
        # the server's statistics agree with the simulator's record
        totals = stats_totals(redis_url)
        assert totals.get("offered") == 200
        assert totals.get("answered", 0) == outcomes.get("connected", 0)
        assert totals.get("abandoned", 0) == outcomes.get("abandoned", 0)
        assert totals.get("overflowed", 0) == outcomes.get("overflowed", 0)
        assert totals.get("callback", 0) == outcomes.get("callback", 0)
    finally:
        cluster.stop()


@pytest.mark.load
def test_redis_restart_while_callers_wait_loses_none(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    callflows = write_folder(tmp_path / "callflows", agents=2, max_wait=0)
    cluster = Cluster(url, callflows, workers=2, log=tmp_path / "gunicorn.log")
    sim = cluster.sim
    try:
        for i in range(2):
            sim.phones[AGENT_PHONE.format(i)] = Phone(inputs=["1"] * 20, hangup_after=5)
            sim.send_sms(AGENT_PHONE.format(i), SERVICE, "BREAK")
        calls = [sim.place_call(CALLER_PHONE.format(i), SERVICE, Caller(talk_for=5))
                 for i in range(10)]
        store = connect(url)
        deadline = time.monotonic() + 30
        # in line in Redis, and holding as the simulator sees it: the server decides
        # before its answer (the <Enqueue>) reaches the caller, and a restart in between
        # would cut that answer off rather than test a caller waiting through it
        while sum(int(store.zcard(k)) for k in store.keys("ivr:{acd}:wait:*")) < 10 \
                or not all(c.record.queue_entries for c in calls):
            assert time.monotonic() < deadline, "callers did not all reach the queue"
            time.sleep(0.05)
        server.stop()  # SHUTDOWN SAVE: the append-only file has everything
        time.sleep(1.0)  # callers keep holding meanwhile
        server.start()
        for i in range(2):
            assert "available" in sim.send_sms(AGENT_PHONE.format(i), SERVICE, "ON")[0]
        for call in calls:
            call.wait(120)
        connected = [c for c in calls if any(b.kind == "conference" for b in c.record.bridges)]
        log = (tmp_path / "gunicorn.log").read_text()
        assert len(connected) == 10, "\n".join(
            [str(e) for e in calls[0].transcript]
            + [line for line in log.splitlines() if "fault" in line or "Error" in line][:20])
        assert [e for e in sim.record.exchanges if e.status >= 500] == []
    finally:
        cluster.stop()
        server.stop()
