"""Each strategy picks the agent its name promises; ring-all's first acceptance wins."""

from __future__ import annotations

from collections import Counter

from tests.routing.conftest import agents_of, enqueue
from tests.routing.test_matching import agent, caller, token_of


def offered_agent(twilio) -> str:
    return token_of(twilio.placed[-1].url)[0]


def serve(router, twilio, clock, talk: float = 10) -> None:
    aid, token = token_of(twilio.placed[-1].url)
    router.accept(aid, token)
    clock.advance(talk)
    router.agent_leg_status(aid, token, "completed")


def login_in_order(router, clock, ids) -> None:
    for aid in ids:
        router.set_agent_status(aid, "available", source="test")
        clock.advance(1)


def test_longest_idle(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "longest-idle", "wrap_up": 0}}, agents_of(3))
    login_in_order(router, clock, ["a02", "a00", "a01"])
    enqueue(router, "CA1", "q")
    assert offered_agent(twilio) == "a02"
    serve(router, twilio, clock)
    enqueue(router, "CA2", "q")
    assert offered_agent(twilio) == "a00"


def test_fewest_calls(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "fewest-calls", "wrap_up": 0}}, agents_of(2))
    login_in_order(router, clock, ["a00"])
    for i in range(2):
        enqueue(router, f"CAx{i}", "q")
        serve(router, twilio, clock)
    login_in_order(router, clock, ["a01"])
    # a00 has been idle longer, but a01 has taken fewer calls
    enqueue(router, "CA1", "q")
    assert offered_agent(twilio) == "a01"


def test_least_talk_time(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "least-talk-time", "wrap_up": 0}}, agents_of(2))
    login_in_order(router, clock, ["a00", "a01"])
    enqueue(router, "CA1", "q")
    assert offered_agent(twilio) == "a00"
    serve(router, twilio, clock, talk=300)
    enqueue(router, "CA2", "q")
    assert offered_agent(twilio) == "a01"
    serve(router, twilio, clock, talk=5)
    clock.advance(100)
    enqueue(router, "CA3", "q")  # a00 idle longer now, but talked 300 s against 5 s
    assert offered_agent(twilio) == "a01"


def test_most_skilled(make_router, twilio, clock):
    agents = {
        "junior": {"name": "J", "phone": "+15005560001", "skills": {"sales": 2}},
        "senior": {"name": "S", "phone": "+15005560002", "skills": {"sales": 5}},
        "mid": {"name": "M", "phone": "+15005560003", "skills": {"sales": 3}},
    }
    router = make_router({"q": {"skills": ["sales"], "strategy": "most-skilled"}}, agents)
    login_in_order(router, clock, ["junior", "mid", "senior"])
    enqueue(router, "CA1", "q")
    assert offered_agent(twilio) == "senior"


def test_round_robin_rotates_through_agents(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "round-robin", "wrap_up": 0}}, agents_of(3))
    login_in_order(router, clock, ["a00", "a01", "a02"])
    order = []
    for i in range(6):
        enqueue(router, f"CA{i}", "q")
        order.append(offered_agent(twilio))
        serve(router, twilio, clock, talk=1)
    assert order[:3] == ["a00", "a01", "a02"] and order[3:] == order[:3]


def test_random_spreads_offers(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "random", "wrap_up": 0}}, agents_of(4))
    login_in_order(router, clock, ["a00", "a01", "a02", "a03"])
    seen: Counter[str] = Counter()
    for i in range(60):
        enqueue(router, f"CA{i}", "q")
        seen[offered_agent(twilio)] += 1
        serve(router, twilio, clock, talk=1)
    assert len(seen) == 4  # longest-idle would also rotate, but never this unevenly...
    assert max(seen.values()) < 60


def test_ring_all_first_acceptance_wins_and_others_are_cancelled(make_router, twilio, clock):
    router = make_router({"q": {"strategy": "ring-all"}}, agents_of(3))
    login_in_order(router, clock, ["a00", "a01", "a02"])
    enqueue(router, "CA1", "q")
    assert sorted(token_of(p.url)[0] for p in twilio.placed) == ["a00", "a01", "a02"]
    offers = {token_of(p.url)[0]: (token_of(p.url)[1], p.sid) for p in twilio.placed}
    verdict, _ = router.accept("a01", offers["a01"][0])
    assert verdict == "ok"
    assert router.accept("a00", offers["a00"][0])[0] == "gone"
    cancelled = {sid for sid, update in twilio.updates if "status" in update}  # (not the move)
    assert cancelled == {offers["a00"][1], offers["a02"][1]}
    for other in ("a00", "a02"):  # free once their cancelled calls have ended
        router.agent_leg_status(other, offers[other][0], "canceled")
        assert agent(router, other)["state"] == "idle"
        assert agent(router, other)["missed_in_a_row"] == 0
    assert agent(router, "a01")["state"] == "on-call"
    assert caller(router, "CA1")["agent"] == "a01"
    assert router.queue_stats("q")["answered"] == 1
