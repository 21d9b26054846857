"""The call-control API on a live call: the app serves real HTTP, the simulator plays
the caller and the agents' phones, and the checks read the simulator's record of who
hears whom (docs/routing.md, "Call controls")."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import g, request

from ivr.sim.people import Caller, Phone
from tests.waiting import wait_until

TOKEN = "control-test-token"
SERVICE = "+15005550006"
ALICE, BOB = "+15005550101", "+15005550102"
CALLER = "+15551230001"
OUTSIDE = "+15557654321"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: sales
steps:
  sales:
    queue: sales
    overflow: sorry
  sorry:
    hangup: "Sorry, nobody can take your call right now."
"""

QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 5
  max_wait: 600
  wrap_up: 0
  hold_music: "http://music.example/sales.mp3"
support:
  skills: [support]
  ring_timeout: 5
  wrap_up: 0
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{support: 4}}
"""



class Desk:
    """The live app, the simulator, and a JSON client as the admin or as an agent's desk."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.sim = live.sim
        self.router = live.app.extensions["ivr.router"]
        self.client = live.app.test_client()

    def post(self, path: str, body: Any = None, *, agent: str | None = None) -> Any:
        headers = {"X-Test-Desk": agent} if agent else {"Authorization": f"Bearer {TOKEN}"}
        if body is None:
            return self.client.post(path, headers=headers)
        return self.client.post(path, json=body, headers=headers)

    def connected_call(self) -> tuple[str, str]:
        """A caller connected with alice: (caller's CallSid, alice's leg)."""
        sim = self.sim
        sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=1000)
        assert "available" in sim.send_sms(ALICE, SERVICE, "ON")[0]
        call = sim.place_call(CALLER, SERVICE, Caller(talk_for=1000))
        wait_until(lambda: bool(sim.record.calls_to(ALICE)), 10)
        leg = sim.record.calls_to(ALICE)[0].sid
        wait_until(lambda: sim.hears(call.sid) == {leg}
                   and self.router.caller(call.sid).joined, 10)
        return call.sid, leg


@pytest.fixture()
def desk(live_factory: Any, callflows_dir: Path) -> Any:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    live = live_factory(callflows_dir, admin_token=TOKEN)

    @live.app.before_request
    def as_desk() -> None:  # what the desk's session check sets (ivr/api/actor.py)
        agent = request.headers.get("X-Test-Desk")
        if agent:
            g.desk_agent = agent

    yield Desk(live)
    for call in live.sim.live_calls():
        call.hang_up()


def events(desk: Desk, kind: str) -> list[dict[str, Any]]:
    return [e for e in desk.router.events() if e["type"] == kind]


def test_hold_and_resume(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    r = desk.post(f"/api/calls/{sid}/hold", {"hold": True})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"sid": sid, "control": "hold", "result": "ok"}
    # the caller hears the queue's hold music; the agent no longer hears the caller
    wait_until(lambda: desk.sim.hears(sid) == {"hold-music:http://music.example/sales.mp3"})
    assert desk.sim.hears(leg) == set()
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True}).status_code == 409
    r = desk.post(f"/api/calls/{sid}/hold", {"hold": False})
    assert r.status_code == 200 and r.get_json()["control"] == "resume"
    wait_until(lambda: desk.sim.hears(sid) == {leg} and desk.sim.hears(leg) == {sid})
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": False}).status_code == 409
    assert [e["call"] for e in events(desk, "hold")] == [sid]
    assert [e["call"] for e in events(desk, "resume")] == [sid]
    # the conference reported the participant's hold and unhold (status callbacks)
    wait_until(lambda: desk.router.caller(sid).conference != "")


def test_two_holds_at_once_one_wins(desk: Desk) -> None:
    sid, _leg = desk.connected_call()
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def hold() -> None:
        client = desk.live.app.test_client()
        barrier.wait()
        codes.append(client.post(f"/api/calls/{sid}/hold", json={"hold": True},
                                 headers={"Authorization": f"Bearer {TOKEN}"}).status_code)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    assert len(events(desk, "hold")) == 1


def test_hangup_ends_the_customers_call_and_the_agent_is_free(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    r = desk.post(f"/api/calls/{sid}/hangup")
    assert r.status_code == 200, r.get_json()
    desk.sim.call(sid).wait(10)
    desk.sim.call(leg).wait(10)
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle")
    assert desk.post(f"/api/calls/{sid}/hangup").status_code == 409
    stats = desk.router.queue_stats("sales")
    assert stats["answered"] == 1 and stats["abandoned"] == 0


def test_cold_transfer_to_a_queue_keeps_the_place_and_frees_the_agent(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    desk.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    entered = desk.router.caller(sid).entered_ms
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "queue:support", "warm": False})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(leg).wait(10)  # the agent's call ends at once
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: desk.sim.hears(sid) == {bob_leg}, 10)
    record = desk.router.caller(sid)
    assert record.queue == "support" and record.entered_ms == entered and record.agent == "bob"
    transfers = events(desk, "transfer")
    assert [(e["call"], e["to"]) for e in transfers] == [(sid, "queue:support")]
    # counted once: answered in sales, not offered again anywhere
    assert desk.router.queue_stats("sales")["answered"] == 1
    assert desk.router.queue_stats("support")["offered"] == 0
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle")
    # the caller was moved out of their first conference and back into a line once
    assert [e[3] for e in desk.sim.call(sid).record.queue_entries] == ["redirected",
                                                                      "redirected"]


def test_cold_transfer_to_a_number(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    desk.sim.phones[OUTSIDE] = Phone(hangup_after=1000)
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": OUTSIDE})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(leg).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(OUTSIDE)), 10)
    outside = desk.sim.record.calls_to(OUTSIDE)[0]
    wait_until(lambda: desk.sim.hears(sid) == {outside.sid}, 10)
    assert outside.from_ == SERVICE
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True}).status_code == 409


def test_cold_transfer_to_an_agent_offers_the_call_to_them_only(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    desk.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=1000)
    # bob is busy (on break): refused, nothing changes
    assert "break" in desk.sim.send_sms(BOB, SERVICE, "BREAK")[0].lower()
    assert desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob"}).status_code == 409
    assert desk.sim.hears(sid) == {leg}
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob"})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(leg).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    # bob has no sales skill: offered because the transfer named him
    wait_until(lambda: desk.sim.hears(sid) == {bob_leg}, 10)
    assert desk.router.caller(sid).agent == "bob"
    assert [e["to"] for e in events(desk, "transfer")] == ["agent:bob"]
    assert desk.router.queue_stats("sales")["answered"] == 1
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle")


@pytest.mark.parametrize("to", ["queue:nowhere", "sales", "+1", "agent:", "agent:carol"])
def test_transfer_to_nothing_is_422(desk: Desk, to: str) -> None:
    sid, _leg = desk.connected_call()
    assert desk.post(f"/api/calls/{sid}/transfer", {"to": to}).status_code == 422


def test_consult_controls_without_a_consult_are_409(desk: Desk) -> None:
    sid, _leg = desk.connected_call()
    for path, body in [("transfer/complete", {"three_way": False}),
                       ("transfer/complete", {"three_way": True}),
                       ("transfer/cancel", None)]:
        r = desk.post(f"/api/calls/{sid}/{path}", body)
        assert r.status_code == 409, (path, r.get_json())
        assert "error" in r.get_json()
    assert desk.post(f"/api/calls/{sid}/transfer",
                     {"to": "queue:support", "warm": True}).status_code == 422


def start_consult(desk: Desk, to: str) -> tuple[str, str, str]:
    """A call with alice, and a consult with `to` started: (caller, alice's leg, target leg)."""
    sid, leg = desk.connected_call()
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": to, "warm": True})
    assert r.status_code == 200, r.get_json()
    phone = BOB if to == "agent:bob" else to
    wait_until(lambda: bool(desk.sim.record.calls_to(phone)), 10)
    target = desk.sim.record.calls_to(phone)[0].sid
    # the caller holds (hold music); alice and the target talk
    wait_until(lambda: desk.sim.hears(leg) == {target}, 10)
    assert desk.sim.hears(sid) == {"hold-music:http://music.example/sales.mp3"}
    assert desk.sim.hears(target) == {leg}
    # while consulting: no hold, no second transfer
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": False}).status_code == 409
    assert desk.post(f"/api/calls/{sid}/transfer", {"to": "queue:support"}).status_code == 409
    return sid, leg, target


def test_consult_then_cancel_resumes_the_caller(desk: Desk) -> None:
    desk.sim.phones[BOB] = Phone(hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    sid, leg, target = start_consult(desk, "agent:bob")
    assert desk.router.agent("bob")["state"] == "on-call"  # busy: nobody else offers him
    r = desk.post(f"/api/calls/{sid}/transfer/cancel")
    assert r.status_code == 200, r.get_json()
    desk.sim.call(target).wait(10)
    wait_until(lambda: desk.sim.hears(sid) == {leg} and desk.sim.hears(leg) == {sid})
    assert desk.post(f"/api/calls/{sid}/transfer/cancel").status_code == 409
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    assert [e.get("result") for e in events(desk, "consult")] == [None, "cancel"]


def test_consult_then_complete_hands_the_caller_over(desk: Desk) -> None:
    desk.sim.phones[BOB] = Phone(hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    sid, leg, target = start_consult(desk, "agent:bob")
    r = desk.post(f"/api/calls/{sid}/transfer/complete", {"three_way": False})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(leg).wait(10)  # alice leaves; the call goes on with bob
    wait_until(lambda: desk.sim.hears(sid) == {target} and desk.sim.hears(target) == {sid})
    assert desk.router.caller(sid).agent == "bob"
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle")
    # bob's desk controls the call now; bob hanging up ends it
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True}, agent="bob").status_code == 200
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True}, agent="alice").status_code == 403
    desk.sim.call(target).hang_up()
    desk.sim.call(sid).wait(10)
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle")
    assert desk.router.queue_stats("sales")["answered"] == 1
    assert [e.get("warm") for e in events(desk, "transfer")] == ["1"]


def test_consult_a_number_three_way_then_complete(desk: Desk) -> None:
    desk.sim.phones[OUTSIDE] = Phone(hangup_after=1000)
    sid, leg, target = start_consult(desk, OUTSIDE)
    r = desk.post(f"/api/calls/{sid}/transfer/complete", {"three_way": True})
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: desk.sim.hears(sid) == {leg, target})
    assert desk.sim.hears(leg) == {sid, target} and desk.sim.hears(target) == {sid, leg}
    assert len(events(desk, "three-way")) == 1
    assert desk.post(f"/api/calls/{sid}/transfer/complete",
                     {"three_way": True}).status_code == 409
    r = desk.post(f"/api/calls/{sid}/transfer/complete", {"three_way": False})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(leg).wait(10)
    wait_until(lambda: desk.sim.hears(sid) == {target})
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle")
    desk.sim.call(target).hang_up()  # the number hangs up: the caller's call goes on / ends
    desk.sim.call(sid).wait(10)


def test_controls_of_a_waiting_call_are_409(desk: Desk) -> None:
    # alice on break: logged in, so the caller waits rather than overflowing
    assert "break" in desk.sim.send_sms(ALICE, SERVICE, "BREAK")[0].lower()
    call = desk.sim.place_call(CALLER, SERVICE, Caller(talk_for=1000))
    wait_until(lambda: desk.router.caller(call.sid) is not None, 10)
    sid = call.sid
    assert desk.router.caller(sid).state == "waiting"
    for path, body in [("hold", {"hold": True}), ("hangup", None),
                       ("transfer", {"to": "queue:support"})]:
        assert desk.post(f"/api/calls/{sid}/{path}", body).status_code == 409


def test_unknown_call_is_404_and_bad_body_422(desk: Desk) -> None:
    for path, body in [("hold", {"hold": True}), ("hangup", None),
                       ("transfer", {"to": "queue:sales"}), ("transfer/cancel", None),
                       ("transfer/complete", {})]:
        r = desk.post(f"/api/calls/CA{'0' * 32}/{path}", body)
        assert r.status_code == 404, (path, r.get_json())
    sid, _leg = desk.connected_call()
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": "maybe"}).status_code == 422
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True, "x": 1}).status_code == 422


def test_a_desk_acts_on_its_own_calls_only(desk: Desk) -> None:
    sid, _leg = desk.connected_call()
    assert desk.post(f"/api/calls/{sid}/hold", {"hold": True}, agent="bob").status_code == 403
    r = desk.post(f"/api/calls/{sid}/hold", {"hold": True}, agent="alice")
    assert r.status_code == 200, r.get_json()
    assert desk.post(f"/api/calls/{sid}/hangup", agent="bob").status_code == 403
    assert desk.post(f"/api/calls/{sid}/hangup", agent="alice").status_code == 200


def test_controls_are_in_the_openapi_document(desk: Desk) -> None:
    doc = desk.client.get("/api/openapi.json").get_json()
    for path in ("/api/calls/{sid}/hold", "/api/calls/{sid}/transfer",
                 "/api/calls/{sid}/transfer/complete", "/api/calls/{sid}/transfer/cancel",
                 "/api/calls/{sid}/hangup"):
        assert "post" in doc["paths"][path], path
    assert "requestBody" in doc["paths"]["/api/calls/{sid}/hold"]["post"]


# --- the call ends while a consult's target still rings ---------------------------------


@pytest.fixture()
def slow_desk(live_factory: Any, callflows_dir: Path) -> Any:
    """The desk at a slower simulated time (0.05 s a second), so a target's phone rings for
    a real second and more while the test ends the call."""
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    live = live_factory(callflows_dir, admin_token=TOKEN, time_scale=0.05)
    yield Desk(live)
    for call in live.sim.live_calls():
        call.hang_up()


@pytest.mark.parametrize(("to", "ender"), [("agent:bob", "caller"), ("agent:bob", "agent"),
                                           (OUTSIDE, "caller")])
def test_call_ended_while_the_consult_target_rings(slow_desk: Desk, to: str,
                                                  ender: str) -> None:
    """The target's phone rings 25 s (it would answer then); the caller (or the consulting
    agent, which ends the call) hangs up meanwhile: the target's call is ended unanswered,
    never alone in a conference, and a consulted agent is free again."""
    desk = slow_desk
    phone = BOB if to == "agent:bob" else OUTSIDE
    desk.sim.phones[phone] = Phone(ring_delay=25, hangup_after=1000)
    if to == "agent:bob":
        assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    sid, leg = desk.connected_call()
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": to, "warm": True})
    assert r.status_code == 200, r.get_json()
    wait_until(lambda: bool(desk.sim.record.calls_to(phone)), 10)
    target = desk.sim.record.calls_to(phone)[0]
    assert target.answered_at is None  # still ringing
    desk.sim.call(sid if ender == "caller" else leg).hang_up()
    desk.sim.call(sid).wait(10)
    desk.sim.call(leg).wait(10)
    desk.sim.call(target.sid).wait(10)
    # ended while it rang: never answered, so never in any conference
    assert target.answered_at is None and not target.bridges, target.statuses
    assert target.ended_at is not None and target.ended_at < target.statuses[0][1] + 25 * 0.05
    stats = desk.router.queue_stats("sales")
    assert (stats["answered"], stats["abandoned"]) == (1, 0)
    if to == "agent:bob":
        wait_until(lambda: desk.router.agent("bob")["state"] == "idle", 10)
        before = [e["type"] for e in desk.router.events()]
        # a late callback of the target's leg changes nothing
        status = next(e for e in desk.sim.record.exchanges
                      if e.call_sid == target.sid and "/twilio/agent/status" in e.url)
        late = desk.sim.http(None, status.url, status.method,
                             {**status.params, "CallStatus": "in-progress"},
                             call_sid=target.sid)
        assert late.status == 200
        assert desk.router.agent("bob")["state"] == "idle"
        assert [e["type"] for e in desk.router.events()] == before
        assert desk.router.caller(sid).agent == "alice"  # type: ignore[union-attr]
    wait_until(lambda: desk.router.agent("alice")["state"] == "idle", 10)
    desk.sim.assert_no_errors()
