"""A consult (warm transfer) whose call ends before the consulted agent answers: their
phone stops ringing and they are free again, rather than answering into an empty
conference and staying `on-call` for a call that is over. Found by
`test_load_conference.py` (docs/routing.md, "Call controls")."""

from __future__ import annotations

from typing import Any

from ivr.sim.people import Phone
from tests.api import test_control
from tests.api.test_control import BOB, SERVICE, Desk
from tests.waiting import wait_until

desk = test_control.desk  # the fixture: the live app, alice on sales, bob on support


def never_joined(desk: Desk, leg: str) -> bool:
    """The leg ended without ever entering a conference."""
    return not any(p.call == leg for p in desk.sim.record.presences)


def bob_on(desk: Desk, **phone: Any) -> None:
    desk.sim.phones[BOB] = Phone(hangup_after=1000, **phone)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]


def call_over(desk: Desk, sid: str, leg: str) -> None:
    """The caller hangs up; the conference, alice's call and her status callback follow."""
    desk.sim.call(sid).hang_up()
    desk.sim.call(leg).wait(10)
    wait_until(lambda: desk.router.agent("alice")["state"] != "on-call", 10)


def test_caller_hangs_up_while_the_consulted_agent_rings(desk: Desk) -> None:
    calls: list[str] = []

    def ring(*_: Any) -> Any:  # bob's phone rings until the call is over, then he answers
        call_over(desk, *calls)
        return "answer"

    bob_on(desk, on_ring=ring)
    sid, leg = desk.connected_call()
    calls.extend([sid, leg])
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob", "warm": True})
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    desk.sim.call(bob_leg).wait(5)  # it stopped ringing: he never answered
    assert desk.sim.call(bob_leg).record.answered_at is None
    assert never_joined(desk, bob_leg)
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    desk.sim.assert_no_errors()


def test_call_ends_while_the_consulted_agent_is_dialled(desk: Desk) -> None:
    """The caller and the agent are gone between the consulted agent's call being placed
    and the consult recording it: the control is refused, and that call ended."""
    bob_on(desk, ring_delay=1)
    sid, leg = desk.connected_call()
    phones = desk.router.controls.phones
    original = phones.add_participant

    def add_then_call_ends(*args: Any, **kwargs: Any) -> str:
        placed = original(*args, **kwargs)
        call_over(desk, sid, leg)
        return placed

    phones.add_participant = add_then_call_ends
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob", "warm": True})
    assert r.status_code == 409, r.get_json()
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    desk.sim.call(bob_leg).wait(5)  # ended, not left alone in a conference of its own
    assert desk.sim.call(bob_leg).status in ("completed", "canceled")
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    desk.sim.assert_no_errors()


def test_complete_after_the_consulted_agent_left_is_refused(desk: Desk) -> None:
    """The consulted agent hung up (and is free again): completing would hand the caller
    to an agent who has left, and who may already be ringing for someone else. Refused;
    cancel brings the caller back to their agent."""
    bob_on(desk)
    sid, leg = desk.connected_call()
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob", "warm": True})
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: desk.sim.hears(leg) == {bob_leg}, 10)
    desk.sim.call(bob_leg).hang_up()
    desk.sim.call(bob_leg).wait(10)
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    r = desk.post(f"/api/calls/{sid}/transfer/complete", {"three_way": False})
    assert r.status_code == 409, r.get_json()
    assert desk.router.caller(sid).agent == "alice"
    r = desk.post(f"/api/calls/{sid}/transfer/cancel")
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: desk.sim.hears(sid) == {leg} and desk.sim.hears(leg) == {sid})
    desk.sim.assert_no_errors()
