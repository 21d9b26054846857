"""End to end through the Twilio simulator: the app serves real HTTP, the simulator plays
callers and agents' phones, and the checks read the simulator's own record."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ivr.sim.people import Caller, Hangup, Phone
from tests.waiting import wait_until

SERVICE = "+15005550006"
ALICE, BOB = "+15005550101", "+15005550102"

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

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
  pin: "4321"
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{sales: 3}}
  pin: "1234"
"""


def queues(**overrides: Any) -> str:
    settings = {"skills": "[sales]", "strategy": "longest-idle", "ring_timeout": 5,
                "max_wait": 30, "wrap_up": 0, "max_missed": 2, "callback": "false",
                "announce": "{position: true, wait_time: true, every: 10}"}
    settings.update({k: str(v).lower() if isinstance(v, bool) else str(v)
                     for k, v in overrides.items()})
    return "sales:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items())


def folder(callflows_dir: Path, **queue_settings: Any) -> Path:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(queues(**queue_settings))
    return callflows_dir


def login(live: Any, phone: str) -> None:
    replies = live.sim.send_sms(phone, SERVICE, "ON")
    assert replies and "available" in replies[0]



@pytest.fixture()
def app_live(live_factory: Any, callflows_dir: Path) -> Any:
    def make(**queue_settings: Any) -> Any:
        return live_factory(folder(callflows_dir, **queue_settings))
    return make


def test_caller_connected_to_agent_who_presses_1(app_live):
    live = app_live()
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=5)
    login(live, ALICE)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=3)).wait(20)
    rec = live.sim.record
    agent_calls = rec.calls_to(ALICE)
    assert len(agent_calls) == 1
    assert agent_calls[0].sid in call.record.bridged_to
    live.sim.assert_no_errors()
    router = live.app.extensions["ivr.router"]
    wait_until(lambda: router.queue_stats("sales")["answered"] == 1)
    assert any("Sales call, waited" in s for s in live.sim.call(agent_calls[0].sid).said())


def agent_state(live: Any, agent_id: str) -> dict[str, Any]:
    router = live.app.extensions["ivr.router"]
    return next(a for a in router.agents() if a["id"] == agent_id)  # type: ignore[no-any-return]


def stats(live: Any) -> dict[str, Any]:
    return live.app.extensions["ivr.router"].queue_stats("sales")  # type: ignore[no-any-return]


def test_nobody_logged_in_goes_to_overflow(app_live):
    live = app_live()
    call = live.sim.place_call("+15551230001", SERVICE, Caller()).wait(20)
    assert any("nobody can take your call" in s for s in call.said())
    assert stats(live)["overflowed"] == 1
    live.sim.assert_no_errors()


def test_decline_moves_caller_to_next_agent_and_break_after_max_missed(app_live):
    live = app_live(max_missed=1)
    live.sim.phones[ALICE] = Phone(behaviour="decline")
    live.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=2)
    login(live, ALICE)
    time.sleep(0.01)
    login(live, BOB)  # Alice has been idle longest: she is offered first
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=2)).wait(20)
    rec = live.sim.record
    assert len(rec.calls_to(ALICE)) == 1 and len(rec.calls_to(BOB)) == 1
    assert rec.calls_to(BOB)[0].sid in call.record.bridged_to
    assert rec.calls_to(ALICE)[0].sid not in call.record.bridged_to
    wait_until(lambda: agent_state(live, "alice")["status"] == "break")
    assert any("break" in m.body for m in live.sim.inbox(ALICE))
    s = stats(live)
    assert s["missed_offers"] == 1 and s["answered"] == 1
    live.sim.assert_no_errors()


def test_unanswered_phone_rings_out_and_next_agent_gets_the_caller(app_live):
    live = app_live(ring_timeout=5, max_missed=3)
    live.sim.phones[ALICE] = Phone(behaviour="no-answer")
    live.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=2)
    login(live, ALICE)
    time.sleep(0.01)
    login(live, BOB)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=2)).wait(20)
    rec = live.sim.record
    assert rec.calls_to(ALICE)[0].status == "no-answer"
    assert rec.calls_to(BOB)[0].sid in call.record.bridged_to
    wait_until(lambda: agent_state(live, "alice")["missed_in_a_row"] == 1)
    assert agent_state(live, "alice")["status"] == "available"


def test_caller_hanging_up_while_agent_rings_cancels_that_call(app_live):
    live = app_live(ring_timeout=60)
    live.sim.phones[ALICE] = Phone(ring_delay=1000)  # rings, nobody picks up for a long time
    login(live, ALICE)
    live.sim.place_call("+15551230001", SERVICE, Caller(hangup_after=2)).wait(20)
    wait_until(lambda: live.sim.record.calls_to(ALICE)
               and live.sim.record.calls_to(ALICE)[0].status == "canceled")
    wait_until(lambda: agent_state(live, "alice")["state"] == "idle")
    assert stats(live)["abandoned"] == 1
    live.sim.assert_no_errors()


def test_max_wait_leaves_for_overflow(app_live):
    live = app_live(max_wait=1)
    router = live.app.extensions["ivr.router"]
    router.start()
    live.sim.phones[ALICE] = Phone()
    live.sim.send_sms(ALICE, SERVICE, "BREAK")  # logged in, not taking calls
    call = live.sim.place_call("+15551230001", SERVICE, Caller()).wait(20)
    assert any("nobody can take your call" in s for s in call.said()), call.transcript[-12:]
    assert stats(live)["overflowed"] == 1 and stats(live)["abandoned"] == 0
    assert live.sim.record.calls_to(ALICE) == []


def test_waiting_caller_hears_position_and_expected_wait(app_live):
    live = app_live()
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    call = live.sim.place_call("+15551230001", SERVICE, Caller(hangup_after=30))
    wait_until(lambda: any("in line" in s for s in call.said()))
    call.wait(20)
    said = " ".join(call.said())
    assert "You are number 1 in line." in said
    assert "Your expected wait is about 2 minutes." in said  # 1 caller, 1 agent, 120 s default
    assert stats(live)["abandoned"] == 1


def test_ring_all_first_to_accept_wins(app_live):
    live = app_live(strategy="ring-all", ring_timeout=30)
    live.sim.phones[ALICE] = Phone(inputs=["1"], ring_delay=1, hangup_after=2)
    live.sim.phones[BOB] = Phone(inputs=["1"], ring_delay=500)
    login(live, ALICE)
    login(live, BOB)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=2)).wait(20)
    rec = live.sim.record
    assert rec.calls_to(ALICE)[0].sid in call.record.bridged_to
    wait_until(lambda: rec.calls_to(BOB)[0].status == "canceled")
    assert stats(live)["answered"] == 1


def test_callers_served_by_priority_then_arrival(app_live, callflows_dir):
    live = app_live(wrap_up=0)
    live.sim.phones[ALICE] = Phone(inputs=["1"] * 10, hangup_after=1)
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    calls = []
    for i in range(4):
        calls.append(live.sim.place_call(f"+1555123000{i}", SERVICE, Caller(talk_for=1)))
        router = live.app.extensions["ivr.router"]
        wait_until(lambda n=i + 1: stats(live)["waiting"] == n)
    login(live, ALICE)
    for c in calls:
        c.wait(30)
    bridged = sorted((c.record.bridges[0].started, c.leg.from_) for c in calls)
    assert [f for _, f in bridged] == [f"+1555123000{i}" for i in range(4)]
    assert router.queue_stats("sales")["answered"] == 4


def test_agent_phone_line_pin_then_menu(app_live):
    live = app_live()
    call = live.sim.place_call(ALICE, SERVICE, Caller(["0000", "4321", "1"])).wait(20)
    said = " ".join(call.said())
    assert "PIN is not right" in said and "available for calls" in said
    assert agent_state(live, "alice")["status"] == "available"
    # customers never hear the agent menu; agents never enter the customer flow
    assert stats(live)["offered"] == 0


def test_agent_texts(app_live):
    live = app_live()
    assert "logged out" in live.sim.send_sms(BOB, SERVICE, "STATUS")[0]
    assert "on break" in live.sim.send_sms(BOB, SERVICE, "break")[0]
    assert "available" in live.sim.send_sms(BOB, SERVICE, " On ")[0]
    assert "logged out" in live.sim.send_sms(BOB, SERVICE, "OFF")[0]
    assert "Text ON" in live.sim.send_sms(BOB, SERVICE, "hello")[0]


def test_press_1_for_callback_keeps_place_and_agent_calls_back(app_live):
    live = app_live(callback=True)
    customer = "+15551230009"
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=5)
    live.sim.phones[customer] = Phone(hangup_after=2)
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    call = live.sim.place_call(customer, SERVICE, Caller(["1"])).wait(20)
    assert stats(live)["called_back"] == 1 and stats(live)["waiting"] == 1
    login(live, ALICE)
    wait_until(lambda: live.sim.record.calls_to(customer)
               and live.sim.record.calls_to(customer)[0].status == "completed", 20)
    agent_leg = live.sim.record.calls_to(ALICE)[0]
    assert any("callback for" in s for s in live.sim.call(agent_leg.sid).said())
    back = live.sim.record.calls_to(customer)[0]
    assert back.from_ == SERVICE and agent_leg.sid in back.bridged_to
    wait_until(lambda: stats(live)["callbacks_reached"] == 1)
    assert stats(live)["abandoned"] == 0
    _ = call
    _ = Hangup


def test_free_agent_is_offered_a_waiting_caller_within_100_ms(app_live):
    live = app_live()
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=2)
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=2))
    wait_until(lambda: stats(live)["waiting"] == 1)
    started = time.time()
    login(live, ALICE)
    offers = [q for q in live.sim.record.rest_requests
              if q.path.endswith("/Calls.json") and q.method == "POST"]
    # placed inside the webhook that freed the agent (no poll): before the reply came back
    assert len(offers) == 1
    assert offers[0].at - started < 0.1
    call.wait(20)
    assert live.sim.record.calls_to(ALICE)[0].sid in call.record.bridged_to


def test_escalation_lets_a_less_skilled_agent_take_the_call(app_live):
    live = app_live(escalate="[{after: 0, min_level: 4}, {after: 2, min_level: 1}]")
    live.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=2)  # sales level 3
    login(live, BOB)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=2))
    time.sleep(1.0)
    assert live.sim.record.calls_to(BOB) == []  # needs level 4 at first
    call.wait(20)
    bob = live.sim.record.calls_to(BOB)
    assert len(bob) == 1 and bob[0].sid in call.record.bridged_to
    offered_after = bob[0].statuses[0][1] - call.record.queue_entries[0][1]
    assert offered_after >= 1.5


def test_higher_priority_caller_is_served_first(app_live, callflows_dir):
    vip_number = "+15005550007"
    (callflows_dir / "vip.yaml").write_text(f"""
numbers: ["{vip_number}"]
start: sales
steps:
  sales:
    queue: sales
    priority: 5
    overflow: sorry
  sorry:
    hangup: "Sorry."
""")
    live = app_live(wrap_up=0)
    live.sim.phones[ALICE] = Phone(inputs=["1"] * 5, hangup_after=1)
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    calls = []
    for i, to in enumerate([SERVICE, SERVICE, vip_number]):
        calls.append(live.sim.place_call(f"+1555123001{i}", to, Caller(talk_for=1)))
        wait_until(lambda n=i + 1: stats(live)["waiting"] == n)
    login(live, ALICE)
    for c in calls:
        c.wait(30)
    order = [c.leg.to for c in sorted(calls, key=lambda c: c.record.bridges[0].started)]
    assert order == [vip_number, SERVICE, SERVICE]
    assert calls[0].record.bridges[0].started < calls[1].record.bridges[0].started


def test_agent_removed_from_yaml_mid_call_leaves_when_the_call_ends(app_live, callflows_dir):
    """Alice accepts a call; she is deleted from agents.yaml and the flows reload; her call
    ends; she texts ON: she is not told "you are available", and the next customer is not
    offered to her. Nor does her phone line answer her as an agent any more."""
    live = app_live()
    live.sim.phones[ALICE] = Phone(inputs=["1"] * 5, hangup_after=1000)
    login(live, ALICE)
    live.sim.send_sms(BOB, SERVICE, "BREAK")  # logged in, not taking calls: nobody overflows
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=300))
    wait_until(lambda: agent_state(live, "alice")["state"] == "on-call")
    (callflows_dir / "agents.yaml").write_text("bob:" + AGENTS.split("bob:")[1])
    assert live.app.extensions["ivr.flows"].reload()
    assert agent_state(live, "alice")["status"] == "offline"  # logged out, still on the call
    call.wait(20)
    router = live.app.extensions["ivr.router"]

    def call_over() -> bool:
        alice = [a for a in router.agents() if a["id"] == "alice"]
        return not alice or alice[0]["state"] == "idle"

    wait_until(call_over)
    replies = live.sim.send_sms(ALICE, SERVICE, "ON")
    assert not any("available" in reply for reply in replies), replies
    next_call = live.sim.place_call("+15551230002", SERVICE, Caller(hangup_after=200))
    next_call.wait(20)
    assert len(live.sim.record.calls_to(ALICE)) == 1  # only the first customer's offer
    assert all(a["id"] != "alice" for a in router.agents())
    line = live.sim.place_call(ALICE, SERVICE, Caller(["4321", "1"], hangup_after=100)).wait(20)
    assert not any("PIN" in s for s in line.said())
    live.sim.assert_no_errors()


def test_agent_phone_line_locks_after_5_wrong_pins_across_calls(app_live):
    live = app_live()
    said = " ".join(live.sim.place_call(ALICE, SERVICE, Caller(["0000", "1111", "2222"]))
                    .wait(20).said())
    assert said.count("PIN is not right") == 3  # three tries per call, as before
    said = " ".join(live.sim.place_call(ALICE, SERVICE, Caller(["3333", "5555"]))
                    .wait(20).said())
    assert "locked for 15 minutes" in said  # the fifth wrong try within 15 minutes
    said = " ".join(live.sim.place_call(ALICE, SERVICE, Caller(["4321", "1"])).wait(20).said())
    assert "locked for 15 minutes" in said and "PIN, then press pound" not in said
    assert agent_state(live, "alice")["status"] == "offline"
    # another agent's line is not locked
    said = " ".join(live.sim.place_call(BOB, SERVICE, Caller(["1234", "1"])).wait(20).said())
    assert "available for calls" in said
    live.sim.assert_no_errors()
