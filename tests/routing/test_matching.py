"""Routing decisions against the real Redis: offers, accept, misses, hang-ups, timers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from ivr import keys
from ivr.routing.router import Router
from ivr.webhooks.queue import hold_twiml
from tests.routing.conftest import Clock, RecordingTwilio, agents_of, enqueue


def token_of(url: str) -> tuple[str, str]:
    q = parse_qs(urlparse(url).query)
    return q["agent"][0], q["token"][0]


def caller(router: Router, sid: str) -> dict[str, Any]:
    raw = router.store.hget(keys.acd("callers"), sid)
    assert raw is not None
    return json.loads(raw)  # type: ignore[no-any-return]


def agent(router: Router, aid: str) -> dict[str, Any]:
    return next(a for a in router.agents() if a["id"] == aid)


def test_caller_is_offered_to_a_free_agent_and_connected_on_accept(make_router, twilio):
    router = make_router({"sales": {"skills": ["sales"]}}, agents_of(2))
    router.set_agent_status("a01", "available", source="test")
    twiml = str(enqueue(router, "CA1"))
    assert "<Enqueue" in twiml and ">CA1</Enqueue>" in twiml
    assert len(twilio.placed) == 1
    placed = twilio.placed[0]
    assert placed.to == "+15005560001" and placed.from_ == "+15005550006"
    assert placed.timeout == 20
    aid, token = token_of(placed.url)
    assert aid == "a01"
    assert agent(router, "a01")["state"] == "offered"
    assert caller(router, "CA1")["st"] == "offered"
    verdict, c = router.accept(aid, token)
    assert verdict == "ok" and c is not None and c.id == "CA1"
    assert agent(router, "a01")["state"] == "on-call"
    assert router.queue_result("CA1", "bridged") == "connected"
    stats = router.queue_stats("sales")
    assert stats["offered"] == 1 and stats["answered"] == 1 and stats["service_level"] == 1.0
    # a second acceptance of the same offer (a replayed keypress) changes nothing
    assert router.accept(aid, token)[0] == "stale"
    assert router.queue_stats("sales")["answered"] == 1


def test_nobody_logged_in_overflows_at_once_but_break_waits(make_router, twilio):
    router = make_router({"sales": {"skills": ["sales"]}}, agents_of(1))
    assert enqueue(router, "CA1") is None
    assert router.queue_result("CA1", "leave") == "overflow"
    assert router.queue_stats("sales")["overflowed"] == 1
    router.set_agent_status("a00", "break", source="test")
    assert enqueue(router, "CA2") is not None
    assert twilio.placed == []
    assert router.queue_stats("sales")["waiting"] == 1


def test_enqueue_is_idempotent_per_call(make_router, twilio):
    router = make_router({"sales": {}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    first, second = str(enqueue(router, "CA1")), str(enqueue(router, "CA1"))
    assert first == second
    stats = router.queue_stats("sales")
    assert stats["offered"] == 1 and stats["waiting"] == 1


def test_longest_wait_counts_callers_behind_a_higher_priority(make_router, twilio, clock):
    """The longest wait is the earliest arrival in the line, not its first caller: a VIP who
    came later stands first, the caller behind has waited longest (arrivals come from the
    line's scores, so a priority band must not leak into them)."""
    router = make_router({"sales": {}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CAfirst", "sales")
    clock.advance(40)
    enqueue(router, "CAvip", "sales", priority=9)
    clock.advance(2.5)
    stats = router.queue_stats("sales")
    assert stats["waiting"] == 2
    assert stats["longest_wait"] == 42.5
    _, _, waiting = router.live_view()
    assert [w["id"] for w in waiting] == ["CAvip", "CAfirst"]


def test_agent_takes_highest_priority_then_longest_waiting(make_router, twilio, clock):
    router = make_router({"sales": {}, "support": {}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CAold", "sales")
    clock.advance(5)
    enqueue(router, "CAnew", "sales")
    clock.advance(5)
    enqueue(router, "CAvip", "support", priority=5)
    clock.advance(5)
    enqueue(router, "CAlate", "support")
    order = []
    for _ in range(4):
        router.set_agent_status("a00", "available", source="test")
        aid, token = token_of(twilio.placed[-1].url)
        order.append(router.offer(aid, token)[1].id)  # type: ignore[index]
        router.accept(aid, token)
        router.agent_leg_status(aid, token, "completed")
        router.set_agent_status("a00", "break", source="test")
        clock.advance(60)
        router.run_timers()
    assert order == ["CAvip", "CAold", "CAnew", "CAlate"]


def test_decline_puts_caller_back_at_the_front_and_counts_a_miss(make_router, twilio, clock):
    router = make_router({"sales": {"max_missed": 2}}, agents_of(2), miss_rest=30)
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    clock.advance(10)
    enqueue(router, "CA2")  # nobody free: waits behind CA1
    aid, token = token_of(twilio.placed[-1].url)
    t0 = caller(router, "CA1")["t0"]
    router.offer_failed(aid, token, "declined")
    c1 = caller(router, "CA1")
    assert c1["st"] == "waiting" and c1["t0"] == t0
    assert router.waiting()[0]["id"] == "CA1"
    assert agent(router, "a00")["missed_in_a_row"] == 1
    # a00 is free again but rests from CA1, so it is offered CA2 meanwhile
    aid2, token2 = token_of(twilio.placed[-1].url)
    assert router.offer(aid2, token2)[1].id == "CA2"  # type: ignore[index]
    router.agent_leg_status(aid2, token2, "no-answer")
    a0 = agent(router, "a00")
    assert a0["status"] == "break" and a0["state"] == "idle"
    assert twilio.texts and twilio.texts[-1]["to"] == "+15005560000"
    assert "break" in twilio.texts[-1]["body"]
    # another agent logs in: gets the caller who waited longest, CA1
    router.set_agent_status("a01", "available", source="test")
    aid3, token3 = token_of(twilio.placed[-1].url)
    assert aid3 == "a01" and router.offer(aid3, token3)[1].id == "CA1"  # type: ignore[index]
    assert router.queue_stats("sales")["missed_offers"] == 2


def test_caller_hanging_up_while_agent_rings_cancels_the_offer(make_router, twilio):
    router = make_router({"sales": {}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    leg = twilio.placed[-1].sid
    aid, token = token_of(twilio.placed[-1].url)
    router.call_ended("CA1", "completed")
    assert (leg, {"status": "completed"}) in twilio.updates
    # free as soon as the cancelled call has ended, and that is not the agent's miss
    assert agent(router, "a00")["state"] == "offered"
    assert router.accept(aid, token)[0] == "gone"
    router.agent_leg_status(aid, token, "canceled", leg)
    a = agent(router, "a00")
    assert a["state"] == "idle" and a["status"] == "available" and a["missed_in_a_row"] == 0
    stats = router.queue_stats("sales")
    assert stats["abandoned"] == 1 and stats["answered"] == 0
    # the replayed/out-of-order status callback changes nothing twice
    router.call_ended("CA1", "completed")
    assert router.queue_stats("sales")["abandoned"] == 1
    # and a call that never queued is harmless
    router.call_ended("CAnever", "completed")


def test_ring_timer_frees_an_agent_whose_offer_got_no_callback(make_router, twilio, clock):
    router = make_router({"sales": {"ring_timeout": 20}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    leg = twilio.placed[-1].sid
    clock.advance(20)
    router.run_timers()
    assert agent(router, "a00")["state"] == "offered"
    clock.advance(20)  # past ring_timeout + grace
    assert router.run_timers() >= 1
    # the miss put CA1 back and, with nobody else, rests it from a00 for miss_rest
    assert any(u[0] == leg for u in twilio.updates)
    assert agent(router, "a00")["state"] == "idle"
    assert caller(router, "CA1")["st"] == "waiting"


def test_wrap_up_then_next_caller(make_router, twilio, clock):
    router = make_router({"sales": {"wrap_up": 30}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    enqueue(router, "CA2")
    aid, token = token_of(twilio.placed[-1].url)
    router.accept(aid, token)
    clock.advance(100)
    router.agent_leg_status(aid, token, "completed")
    assert agent(router, "a00")["state"] == "wrap-up"
    assert len(twilio.placed) == 1
    clock.advance(29)
    router.run_timers()
    assert len(twilio.placed) == 1
    clock.advance(2)
    router.run_timers()
    assert len(twilio.placed) == 2
    aid2, token2 = token_of(twilio.placed[-1].url)
    assert router.offer(aid2, token2)[1].id == "CA2"  # type: ignore[index]
    stats = router.queue_stats("sales")
    assert stats["average_talk"] == 100
    assert agent(router, "a00")["calls_today"] == 1


def test_max_wait_overflows_and_the_next_wait_fetch_leaves(make_router, twilio, clock):
    router = make_router({"sales": {"max_wait": 15, "announce": {"every": 60}}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    hold = str(hold_twiml(router, "CA1", 0))
    assert '<Pause length="15"' in hold  # the hold loop never runs past the max wait
    clock.advance(10)
    assert '<Pause length="5"' in str(hold_twiml(router, "CA1", 1))
    clock.advance(6)
    router.run_timers()
    assert caller(router, "CA1")["st"] == "overflowing"  # out of line, not counted yet
    assert router.queue_stats("sales")["overflowed"] == 0
    assert "<Leave" in str(hold_twiml(router, "CA1", 2))
    assert router.queue_result("CA1", "leave") == "overflow"  # Twilio: they left
    stats = router.queue_stats("sales")
    assert stats["overflowed"] == 1 and stats["waiting"] == 0
    # the caller hanging up afterwards is not an abandon too
    router.call_ended("CA1", "completed")
    assert router.queue_stats("sales")["abandoned"] == 0


@pytest.mark.parametrize("result", ["leave", "hangup", None])
def test_told_to_leave_then_hung_up_the_enqueue_action_decides(make_router, clock, result):
    """The caller's status callback may reach us (another worker) before the <Enqueue>
    action that says how they left the line (found by test_load_conference.py): leave is
    an overflow, hangup an abandon, and no action at all an abandon once the leavecheck
    timer looks."""
    router = make_router({"sales": {"max_wait": 15, "announce": {"every": 60}}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(16)
    router.run_timers()
    assert "<Leave" in str(hold_twiml(router, "CA1", 1))
    router.call_ended("CA1", "completed")  # first: the status callback
    assert router.queue_stats("sales")["abandoned"] == 0
    if result is not None:
        assert router.queue_result("CA1", result) == (
            "overflow" if result == "leave" else "abandoned")
    clock.advance(3)
    router.run_timers()
    stats = router.queue_stats("sales")
    assert (stats["overflowed"], stats["abandoned"]) == ((1, 0) if result == "leave" else (0, 1))


def test_no_max_wait_holds_forever(make_router, clock):
    # hold_music=None: a router without audio, so the hold loop is short pauses (by default
    # a queue without hold_music plays DEFAULT_HOLD_MUSIC: tests/routing/test_hold.py)
    router = make_router({"sales": {"max_wait": 0, "announce": {"every": 30}}}, agents_of(1),
                         hold_music=None)
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(100_000)
    assert '<Pause length="20"' in str(hold_twiml(router, "CA1", 0))
    router.run_timers()
    assert caller(router, "CA1")["st"] == "waiting"


def test_wait_fetch_after_max_wait_overflows_even_before_the_timer(make_router, clock):
    router = make_router({"sales": {"max_wait": 15}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(16)
    assert "<Leave" in str(hold_twiml(router, "CA1", 3))
    router.run_timers()  # the timer finds nothing left to do
    assert router.queue_result("CA1", "leave") == "overflow"
    assert router.queue_result("CA1", "leave") == "overflow"  # a replay counts nothing twice
    assert router.queue_stats("sales")["overflowed"] == 1


def test_caller_hanging_up_between_max_wait_and_leaving_is_abandoned(make_router, clock):
    router = make_router({"sales": {"max_wait": 15}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(16)
    router.run_timers()
    router.call_ended("CA1", "completed")
    assert router.queue_result("CA1", "hangup") == "abandoned"
    s = router.queue_stats("sales")
    assert (s["abandoned"], s["overflowed"]) == (1, 0)


def test_escalation_relaxes_skills(make_router, twilio, clock):
    router = make_router(
        {"sales": {"skills": ["sales"], "escalate": [{"after": 30, "skills": [], "min_level": 1}]}},
        {"bob": {"name": "Bob", "phone": "+15005560100", "skills": {"support": 2}}},
    )
    router.set_agent_status("bob", "available", source="test")
    enqueue(router, "CA1")
    assert twilio.placed == []
    clock.advance(31)
    router.run_timers()
    assert len(twilio.placed) == 1 and token_of(twilio.placed[0].url)[0] == "bob"


def test_min_level_and_step_skills(make_router, twilio, clock):
    router = make_router(
        {"sales": {"skills": ["sales"],
                   "escalate": [{"after": 0, "skills": None, "min_level": 4},
                                {"after": 20, "skills": None, "min_level": 2}]}},
        {"lo": {"name": "Lo", "phone": "+15005560101", "skills": {"sales": 2, "spanish": 3}},
         "hi": {"name": "Hi", "phone": "+15005560102", "skills": {"sales": 5}}},
    )
    router.set_agent_status("lo", "available", source="test")
    enqueue(router, "CA1", skills=["spanish"])  # needs sales+spanish at level 4 at first
    assert twilio.placed == []
    router.set_agent_status("hi", "available", source="test")  # no spanish
    assert twilio.placed == []
    clock.advance(21)
    router.run_timers()
    assert [token_of(p.url)[0] for p in twilio.placed] == ["lo"]


def test_rest_failure_is_a_miss_and_caller_moves_on(make_router, twilio, clock):
    router = make_router({"sales": {"max_missed": 3}}, agents_of(2))
    twilio.fail_to.add("+15005560000")
    router.set_agent_status("a00", "available", source="test")
    clock.advance(1)
    router.set_agent_status("a01", "available", source="test")
    enqueue(router, "CA1")  # a00 is longest idle, but its call fails: a01 gets it
    assert [p.to for p in twilio.placed] == ["+15005560001"]
    assert agent(router, "a00")["missed_in_a_row"] == 1


def test_status_changes_and_unknown_agents(make_router):
    router = make_router({"sales": {}}, agents_of(1))
    import pytest

    from ivr.routing.router import UnknownAgent
    with pytest.raises(UnknownAgent):
        router.set_agent_status("nobody", "available", source="test")
    with pytest.raises(ValueError):
        router.set_agent_status("a00", "lunch", source="test")
    row = router.set_agent_status("a00", "break", source="cli")
    assert row["status"] == "break" and row["source"] == "yaml"


def test_timers_fire_once_across_workers(make_router, twilio, clock, r):
    routers = [make_router({"sales": {"max_wait": 10}}, agents_of(1)) for _ in range(3)]
    routers[0].set_agent_status("a00", "break", source="test")
    for i in range(20):
        enqueue(routers[0], f"CA{i}")
    clock.advance(11)
    import threading
    fired: list[int] = []

    def sweep(router: Router) -> None:
        fired.append(router.run_timers(limit=7))
        fired.append(router.run_timers(limit=7))

    threads = [threading.Thread(target=sweep, args=(rt,)) for rt in routers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == 20
    assert all(caller(routers[0], f"CA{i}")["st"] == "overflowing" for i in range(20))
    for i in range(20):  # Twilio's <Enqueue> actions: they left
        assert routers[i % 3].queue_result(f"CA{i}", "leave") == "overflow"
    overflows = [e for e in routers[0].events(count=1000) if e["type"] == "overflow"]
    assert len(overflows) == 20 and len({e["call"] for e in overflows}) == 20
    assert routers[0].queue_stats("sales")["overflowed"] == 20
    assert r.zcount(keys.acd("timers"), "-inf", clock.now * 1000) == 0
    # finished callers are forgotten an hour later
    assert r.hlen(keys.acd("callers")) == 20
    clock.advance(3601)
    routers[1].run_timers(limit=100)
    assert r.hlen(keys.acd("callers")) == 0 and r.zcard(keys.acd("timers")) == 0


def test_unused_twilio_fixture_types(twilio: RecordingTwilio, clock: Clock) -> None:
    assert twilio.placed == [] and clock() > 0


def test_lost_status_callback_of_a_finished_call_is_found_by_the_check(make_router, twilio,
                                                                       clock):
    router = make_router({"sales": {"wrap_up": 0}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    router.accept(aid, token)
    clock.advance(301)
    router.run_timers()
    assert agent(router, "a00")["state"] == "on-call"  # Twilio says still in progress
    twilio.statuses[twilio.placed[-1].sid] = "completed"  # ... and its callback got lost
    clock.advance(301)
    router.run_timers()
    assert agent(router, "a00")["state"] == "idle"
    assert router.queue_stats("sales")["average_talk"] == 602


def test_a_decision_sent_again_is_applied_once_and_answers_the_same(make_router, twilio,
                                                                    monkeypatch):
    """After a failover the client sends a script again whose reply it lost (ivr/sentinel.py).
    The same decision (same request id) must not answer "stale" to the agent who won the
    caller, nor count the answer twice."""
    import uuid

    router = make_router({"sales": {"skills": ["sales"]}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[0].url)
    fixed = uuid.uuid4()
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    first = router.accept(aid, token)
    again = router.accept(aid, token)  # the same request id: a retry of the same decision
    assert first[0] == again[0] == "ok"
    assert first[1] is not None and again[1] is not None and again[1].id == first[1].id == "CA1"
    assert router.queue_stats("sales")["answered"] == 1
    connects = [e for e in router.store.xrange(keys.acd("events"))
                if e[1].get("type") == "connect"]
    assert len(connects) == 1, connects
