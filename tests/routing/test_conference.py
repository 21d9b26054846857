"""Agent calls in conferences, end to end through the simulator (docs/routing.md,
"Conferences"): who hears whom, how a call ends, and what it costs in webhooks."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ivr.sim.legs import HungUp
from ivr.sim.people import Caller, Phone
from tests.waiting import wait_until

from .test_e2e import AGENTS, ALICE, SERVICE, login, queues

CALLER = "+15551230001"

FLOW_WITH_NEXT = f"""
numbers: ["{SERVICE}", "*"]
start: sales
steps:
  sales:
    queue: sales
    overflow: sorry
    next: thanks
  thanks:
    hangup: "Thanks for talking to us. Goodbye."
  sorry:
    hangup: "Sorry, nobody can take your call right now."
"""


@pytest.fixture()
def live(live_factory: Any, callflows_dir: Path) -> Any:
    (callflows_dir / "main.yaml").write_text(FLOW_WITH_NEXT)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(queues())
    return live_factory(callflows_dir)


def router_of(live: Any) -> Any:
    return live.app.extensions["ivr.router"]


def test_agent_and_caller_meet_in_a_conference_named_after_the_caller(live: Any) -> None:
    sim = live.sim
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=1000)
    login(live, ALICE)
    call = sim.place_call(CALLER, SERVICE, Caller(talk_for=1000))
    wait_until(lambda: len(sim.hears(call.sid) - {"queue-wait"}) == 1, 20)
    agent_leg = sim.record.calls_to(ALICE)[0].sid
    assert sim.hears(call.sid) == {agent_leg}
    assert sim.hears(agent_leg) == {call.sid}
    room = sim.switch.rooms[call.sid]  # named after the caller's CallSid
    assert set(room.participants) == {call.sid, agent_leg}
    assert all(p.end for p in room.participants.values())  # a plain call: either ends it
    # the caller left their queue by the REST move: QueueResult redirected, answer ignored
    assert [e[3] for e in call.record.queue_entries] == ["redirected"]
    wait_until(lambda: router_of(live).caller(call.sid).conference == room.sid)
    call.hang_up()
    call.wait(10)
    sim.wait_idle(10)
    sim.assert_no_errors()
    stats = router_of(live).queue_stats("sales")
    assert stats["answered"] == 1 and stats["abandoned"] == 0


def test_agent_hangs_up_and_the_caller_goes_on_at_next(live: Any) -> None:
    sim = live.sim
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=3)
    login(live, ALICE)
    call = sim.place_call(CALLER, SERVICE, Caller(talk_for=1000)).wait(20)
    assert call.said()[-1] == "Thanks for talking to us. Goodbye."
    sim.wait_idle(10)
    sim.assert_no_errors()
    router = router_of(live)
    wait_until(lambda: router.queue_stats("sales")["answered"] == 1)
    kinds = [e["type"] for e in router.events("sales")]
    assert kinds.count("connect") == 1 and "abandon" not in kinds
    # the flow went on once: one continuation of the queue step reached the engine
    results = [e for e in sim.record.exchanges if "/twilio/queue/result" in e.url]
    assert sorted(e.params.get("QueueResult", "conf") for e in results) == [
        "conf", "redirected"]


@pytest.mark.parametrize("when", ["before-move", "after-move", "after-join"])
def test_caller_who_hangs_up_as_the_agent_accepts_is_an_abandon(live: Any, when: str) -> None:
    """before-move: the caller's call has ended when the REST move comes (Twilio refuses
    it); after-move: it ends before reaching the conference (QueueResult hangup);
    after-join: it ends after fetching the conference, before entering it (no
    participant-join ever comes: the joincheck timer decides). Each way the agent is
    told, and the caller counts as abandoned (was=connected)."""
    sim = live.sim
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=1000)
    login(live, ALICE)
    router = router_of(live)
    phones = router.acd.phones
    original = phones.move
    callers: list[Any] = []

    def move(call_sid: str, url: str) -> None:
        if when == "after-move":
            callers[0].leg.set_gone(HungUp("person"))  # hangs up as the move arrives
            original(call_sid, url)
            return
        callers[0].hang_up()
        callers[0].wait(10)
        original(call_sid, url)

    phones.move = move
    if when == "after-join":
        phones.move = original
        join = router.acd.join

        def join_then_hang_up(call_sid: str) -> Any:
            answer = join(call_sid)
            callers[0].leg.set_gone(HungUp("person"))  # gone before the room is entered
            return answer

        router.acd.join = join_then_hang_up
    callers.append(sim.place_call(CALLER, SERVICE, Caller(talk_for=1000)))
    callers[0].wait(20)
    wait_until(lambda: bool(sim.record.calls_to(ALICE)), 20)
    agent = sim.call(sim.record.calls_to(ALICE)[0].sid)
    agent.wait(20)
    sim.wait_idle(10)
    assert "Sorry, the caller has hung up." in agent.said()
    wait_until(lambda: router.queue_stats("sales")["abandoned"] == 1)
    stats = router.queue_stats("sales")
    assert stats["answered"] == 0
    abandons = [e for e in router.events("sales") if e["type"] == "abandon"]
    assert len(abandons) == 1 and abandons[0].get("was") == "connected"
    assert not any(b.kind == "conference" for b in callers[0].record.bridges)
    wait_until(lambda: router.agent("alice")["state"] == "idle")


def test_webhooks_per_connected_call(live: Any, capsys: Any) -> None:
    """The figure in docs/routing.md ("Conferences"): every webhook of one connected call
    (caller and agent legs, their status and conference callbacks)."""
    sim = live.sim
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=5)
    login(live, ALICE)
    before = len(sim.record.exchanges)
    call = sim.place_call(CALLER, SERVICE, Caller(talk_for=1000)).wait(20)
    sim.wait_idle(10)
    wait_until(lambda: sim.conference_callbacks >= 6)
    hooks = [e for e in sim.record.exchanges[before:] if "/twilio/sms" not in e.url]
    by_path = collections.Counter(urlsplit(e.url).path for e in hooks)
    with capsys.disabled():
        print(f"\nwebhooks per connected call: {len(hooks)} {dict(sorted(by_path.items()))}")
    assert call.record.bridges
    # start, end, and a join and a leave of each of the two
    assert by_path["/twilio/conference/status"] == 6
    assert len(hooks) <= 20
