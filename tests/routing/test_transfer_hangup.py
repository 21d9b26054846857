"""A caller transferred to another agent who hangs up on the way to that agent: they
talked with the first agent, so they stay the one connected call they were, and the
second agent is told. Found by `test_load_conference.py` (docs/routing.md, "Call
controls")."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.sim.legs import HungUp
from ivr.sim.people import Phone
from tests.api import test_control
from tests.api.test_control import BOB, SERVICE, Desk
from tests.waiting import wait_until

desk = test_control.desk  # the fixture: the live app, alice on sales, bob on support


@pytest.mark.parametrize("when", ["before-move", "after-join"])
def test_hang_up_on_the_way_to_the_second_agent_stays_connected(desk: Desk,
                                                                when: str) -> None:
    """before-move: their call has ended when bob's acceptance moves it (Twilio refuses);
    after-join: it ends after fetching bob's conference, before entering it (the
    joincheck timer decides)."""
    desk.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    sid, leg = desk.connected_call()
    acd = desk.router.acd
    if when == "after-join":
        join = acd.join

        def join_then_hang_up(call_sid: str) -> Any:
            answer = join(call_sid)
            desk.sim.call(sid).leg.set_gone(HungUp("person"))  # gone before the room
            return answer

        acd.join = join_then_hang_up
    else:
        move = acd.phones.move

        def hang_up_then_move(call_sid: str, url: str) -> None:
            if "/twilio/queue/join" in url:
                desk.sim.call(sid).hang_up()
                desk.sim.call(sid).wait(10)
            move(call_sid, url)

        acd.phones.move = hang_up_then_move
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob"})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(sid).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.call(desk.sim.record.calls_to(BOB)[0].sid)
    try:
        bob_leg.wait(10)
    except TimeoutError:
        raise AssertionError(f"{desk.router.events()}\n{desk.sim.dump()}") from None
    assert "Sorry, the caller has hung up." in bob_leg.said()
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    stats = desk.router.queue_stats("sales")
    assert stats["answered"] == 1 and stats["abandoned"] == 0, stats
    # the event log says so, marked kept: the rebuild of the counters skips it
    assert [e.get("kept") for e in desk.router.events() if e["type"] == "abandon"] == ["1"]


def test_a_late_join_callback_of_the_first_conference_is_ignored(desk: Desk) -> None:
    """Twilio posts conference callbacks asynchronously: the caller's participant-join of
    the conference a transfer took them out of may arrive after it. It must not mark them
    as in the next agent's conference (that would hide a hang-up on the way there)."""
    desk.sim.phones[BOB] = Phone(behaviour="no-answer")  # bob's phone only rings
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    sid, _leg = desk.connected_call()

    def joins() -> list[Any]:  # (recorded once the server has answered it)
        return [e for e in desk.sim.record.exchanges if "/twilio/conference/status" in e.url
                and e.params.get("StatusCallbackEvent") == "participant-join"
                and e.params.get("CallSid") == sid]

    wait_until(lambda: desk.router.caller(sid).conference != "" and joins())
    joined = joins()
    assert len(joined) == 1
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob"})
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: desk.router.caller(sid).state == "offered")
    assert desk.router.caller(sid).conference == ""
    # the same event again as a new delivery (a retry of the first would be answered from
    # the replay cache without reaching routing)
    params = {**joined[0].params, "SequenceNumber": "99"}
    late = desk.sim.http(None, joined[0].url, "POST", params, call_sid=sid)
    assert late.status == 200
    assert desk.router.caller(sid).conference == ""
