"""The roster follows agents.yaml: an agent removed while busy is logged out at once, may no
longer act as an agent, and leaves the roster when that call, wrap-up or offer ends."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.routing.roster import UnknownAgent
from ivr.routing.router import Router
from tests.routing.conftest import agents_of, enqueue, make_callflows
from tests.routing.test_matching import caller, token_of

ALICE_PHONE = "+15005560000"  # a00 of agents_of


class Folder:
    """agents.yaml and queues.yaml as a worker sees them: a new version on each change."""

    def __init__(self, queues: dict[str, dict[str, Any]], agents: dict[str, dict[str, Any]]):
        self.queues, self.n = queues, 1
        self.current = make_callflows(queues, agents, version="v1")

    def remove(self, agent_id: str) -> None:
        self.n += 1
        agents = {a.id: {"name": a.name, "phone": a.phone, "skills": a.skills}
                  for a in self.current.agents.values() if a.id != agent_id}
        self.current = make_callflows(self.queues, agents, version=f"v{self.n}")


@pytest.fixture()
def folder_router(r, twilio, clock):
    def build(queues: dict[str, dict[str, Any]]) -> tuple[Folder, Router]:
        folder = Folder(queues, agents_of(2))
        return folder, Router(r, lambda: folder.current, twilio, public_url="http://ivr.test",
                              clock=clock)
    return build


def ids(router: Router) -> list[str]:
    return [a["id"] for a in router.agents()]


def test_removed_mid_call_leaves_when_the_call_ends(folder_router, twilio):
    folder, router = folder_router({"sales": {"wrap_up": 0}})
    router.set_agent_status("a00", "available", source="test")
    router.set_agent_status("a01", "break", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    assert aid == "a00" and router.accept(aid, token)[0] == "ok"
    folder.remove("a00")  # deleted from agents.yaml, the flows reload
    assert router.agent("a00") is None  # no longer an agent ...
    assert router.agent_by_phone(ALICE_PHONE) is None  # ... for texts and the phone line
    assert "a00" in ids(router)  # still shown on the call
    with pytest.raises(UnknownAgent):
        router.set_agent_status("a00", "available", source="sms")
    router.agent_leg_status(aid, token, "completed")  # the call ends
    assert ids(router) == ["a01"]
    with pytest.raises(UnknownAgent):
        router.set_agent_status("a00", "available", source="sms")
    enqueue(router, "CA2")  # the next customer waits for a01; never rings a00
    assert [p.to for p in twilio.placed] == [ALICE_PHONE]
    assert router.queue_stats("sales")["waiting"] == 1
    assert any(e["type"] == "status" and e.get("status") == "removed" and e["agent"] == "a00"
               for e in router.events(count=100))


def test_removed_mid_call_leaves_when_the_wrap_up_ends(folder_router, twilio, clock):
    folder, router = folder_router({"sales": {"wrap_up": 30}})
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    router.accept(aid, token)
    router.agent_leg_status(aid, token, "completed")
    assert router.agents()[0]["state"] == "wrap-up"
    folder.remove("a00")
    router.sync_roster()
    assert "a00" in ids(router)
    clock.advance(31)
    router.run_timers()
    assert ids(router) == ["a01"]


def test_removed_while_ringing_cannot_accept_and_the_caller_keeps_their_place(
        folder_router, twilio):
    folder, router = folder_router({"sales": {}})
    router.set_agent_status("a00", "available", source="test")
    router.set_agent_status("a01", "break", source="test")
    enqueue(router, "CA1")
    t0 = caller(router, "CA1")["t0"]
    aid, token = token_of(twilio.placed[-1].url)
    folder.remove("a00")
    router.sync_roster()
    assert router.accept(aid, token)[0] == "gone"
    router.agent_leg_status(aid, token, "completed")  # the agent's call ends
    assert ids(router) == ["a01"]
    assert caller(router, "CA1")["st"] == "waiting" and caller(router, "CA1")["t0"] == t0
    assert router.queue_stats("sales")["answered"] == 0


def test_an_agent_added_back_before_the_call_ends_stays(folder_router, twilio):
    folder, router = folder_router({"sales": {"wrap_up": 0}})
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    router.accept(aid, token)
    before = folder.current
    folder.remove("a00")
    router.sync_roster()
    folder.current = make_callflows(folder.queues, {a.id: {"name": a.name, "phone": a.phone,
                                                          "skills": a.skills}
                                                    for a in before.agents.values()}, "v9")
    router.sync_roster()
    assert router.agent_by_phone(ALICE_PHONE) == "a00"
    router.agent_leg_status(aid, token, "completed")
    assert "a00" in ids(router) and router.agent("a00") is not None


# --- the phone line's PIN: 5 wrong tries within 15 minutes lock it, across calls ---------


def pin_router(make_router: Any) -> Router:
    agents = agents_of(2)
    agents["a00"]["pin"] = "4321"
    return make_router({"sales": {}}, agents)


def test_five_wrong_pins_lock_pin_entry_for_15_minutes(make_router, clock):
    router = pin_router(make_router)
    router.sync_roster()
    verdicts = [router.check_pin("a00", "0000") for _ in range(5)]
    assert verdicts == ["wrong"] * 4 + ["locked"]
    assert router.pin_locked("a00") and not router.pin_locked("a01")
    assert router.check_pin("a00", "4321") == "locked"  # the right PIN is refused unchecked
    clock.advance(15 * 60 - 1)
    assert router.check_pin("a00", "4321") == "locked"
    clock.advance(2)
    assert not router.pin_locked("a00")
    assert router.check_pin("a00", "4321") == "ok"


def test_wrong_pins_count_within_15_minutes_and_a_right_one_clears_them(make_router, clock):
    router = pin_router(make_router)
    router.sync_roster()
    for _ in range(4):
        assert router.check_pin("a00", "1111") == "wrong"
    clock.advance(15 * 60 + 1)  # those four are older than the window
    for _ in range(4):
        assert router.check_pin("a00", "1111") == "wrong"
    assert router.check_pin("a00", "4321") == "ok"  # clears the count
    for _ in range(4):
        assert router.check_pin("a00", "1111") == "wrong"
    assert router.check_pin("a00", "1111") == "locked"
    assert router.check_pin("nobody", "1111") == "unknown"
