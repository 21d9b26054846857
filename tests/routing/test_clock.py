"""Every routing time comes from the router's clock (a staffing simulator will run the real
routing on simulated time): the event log's ids included, never the server's time."""

from __future__ import annotations

from ivr.routing.router import Router
from tests.routing.conftest import Clock, agents_of, enqueue


def test_event_ids_carry_the_router_clock(make_router, clock):
    clock.now = 4_000_000_000.0  # the year 2096: far from the server's time
    router = make_router({"sales": {}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(7)
    enqueue(router, "CA2")
    events = router.events(count=100)
    assert [int(e["id"].split("-")[0]) for e in events] == [int(e["at"]) for e in events]
    assert events[-1]["ts"] == 4_000_000_007.0
    since = router.events(since_ms=4_000_000_000_000 + 1000)
    assert [e["call"] for e in since if e["type"] == "enter"] == ["CA2"]


def test_a_clock_behind_the_log_still_appends_in_order(make_router, r, twilio):
    ahead = make_router({"sales": {}}, agents_of(1))
    ahead.set_agent_status("a00", "break", source="test")
    enqueue(ahead, "CA1")
    behind = Router(r, ahead.callflows, twilio, public_url="http://ivr.test",  # type: ignore[arg-type]
                    clock=Clock(1_000_000_000.0))
    enqueue(behind, "CA2")  # another host whose clock is years behind
    events = ahead.events(count=100)
    ids = [tuple(int(p) for p in e["id"].split("-")) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    late = [e for e in events if e.get("call") == "CA2"]
    assert late and all(e["at"] == "1000000000000" for e in late)
