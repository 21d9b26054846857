"""A caller answered once, transferred cold, who hangs up after the next agent pressed 1
but before joining that agent's conference: on the router's hand-moved clock, the
caller stays connected (answered once, by the first agent), no routing counter moves,
the second agent is told and freed, and the reports agree with their rebuild
(docs/routing.md, "Conferences": "Answered before a transfer"). A warm transfer's target
is checked too: completed, the caller is in the conference already (nothing to undo);
the caller gone while the target's phone rings, the consult ends and so does that call
(docs/routing.md, "A consult ends with its call")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Response, request

from ivr import keys, paths
from ivr.reports.query import run_report
from ivr.sim.people import Phone
from tests.api.test_control import AGENTS as AGENTS_YAML
from tests.api.test_control import BOB, MAIN, QUEUES, SERVICE, TOKEN, Desk
from tests.reports.test_contact_hold import ConferenceTwilio
from tests.routing.conftest import RecordingTwilio, enqueue
from tests.routing.test_matching import token_of
from tests.waiting import wait_until

AGENTS = {f"a{i:02d}": {"name": f"Agent {i}", "phone": f"+1500556{i:04d}",
                        "skills": {"sales": 3, "support": 3}} for i in range(2)}


@pytest.fixture()
def twilio() -> RecordingTwilio:
    return ConferenceTwilio()


def told(twilio: Any, leg: str) -> list[str]:
    """The TwiML documents played on a call by REST (the 'caller has hung up' notice)."""
    return [kw["twiml"] for sid, kw in twilio.updates if sid == leg and "twiml" in kw]


@pytest.mark.parametrize("to", ["queue:support", "agent:a01"])
def test_hang_up_after_the_next_agent_accepted_keeps_the_caller_connected(
        setup: Any, twilio: Any, clock: Any, r: Any, to: str) -> None:
    router, reports = setup({"sales": {"wrap_up": 0}, "support": {"wrap_up": 0}}, AGENTS)
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(5)
    assert router.accept(aid, token)[0] == "ok"
    router.join("CA1")
    router.conference_event("CA1", "participant-join", "CA1", "CF1", 1)
    clock.advance(60)
    router.set_agent_status("a01", "available", source="test")
    router.transfer("CA1", to)
    router.agent_leg_status(aid, token, "completed")  # a00's part: 60 s of talk
    # a01 is offered the caller, presses 1; the caller hangs up on the way to a01
    bid, btoken = token_of(twilio.placed[-1].url)
    assert bid == "a01"
    router.set_leg(bid, btoken, twilio.placed[-1].sid)
    clock.advance(3)
    assert router.accept(bid, btoken)[0] == "ok"
    clock.advance(1)
    router.call_ended("CA1", "completed")
    # a second report of the same end (the Enqueue action) changes nothing
    assert router.queue_result("CA1", "hangup") == "connected"
    router.call_ended("CA1", "completed")

    caller = router.caller("CA1")
    assert caller is not None
    assert (caller.outcome, caller.agents, caller.transfers) == ("connected", ["a00"], 1)
    # a01 is told, their call ended; its status callback frees them (wrap_up 0)
    assert any("hung up" in doc for doc in told(twilio, twilio.placed[-1].sid))
    assert router.agent("a01")["state"] == "on-call"
    clock.advance(2)
    router.agent_leg_status(bid, btoken, "completed")
    assert router.agent("a01")["state"] == "idle"
    assert router.caller("CA1").talk == 60  # type: ignore[union-attr]

    sales, support = router.queue_stats("sales"), router.queue_stats("support")
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (1, 1, 0)
    assert (support["offered"], support["answered"], support["abandoned"]) == (0, 0, 0)
    assert router.rebuild_stats() == router.stored_stats()
    (lost,) = [e for e in router.events() if e["type"] == "abandon"]
    assert lost["kept"] == "1" and lost["was"] == "connected"

    reports.fold()
    # the contact record's pending completion is a00's (a01 never talked to the caller)
    pending = json.loads(r.get(keys.contact_pending("CA1")))
    assert (pending["agent"], pending["talk"]) == ("a00", 60)

    def row(**who: str) -> dict[str, Any]:
        return run_report(reports, router.callflows(), queue=who.get("queue"),
                          agent=who.get("agent"), start=None, end=None, interval="day",
                          tz=None, now=clock())["rows"][0]

    s = row(queue="sales")
    assert (s["offered"], s["answered"], s["abandoned"], s["transfers_out"]) == (1, 1, 0, 1)
    if to == "queue:support":
        # offered in support by the transfer; answered there, then lost: abandoned there
        sup = row(queue="support")
        assert (sup["offered"], sup["answered"], sup["abandoned"]) == (1, 0, 1)
    assert reports.stored() == reports.rebuild()


# --- the same through the simulator: the contact record ---------------------------------


@pytest.fixture()
def desk(live_factory: Any, callflows_dir: Path) -> Any:
    """The live desk; a caller in `hang_up_at_join` hangs up (TwiML <Hangup/>) when their
    call fetches the conference, as if they hung up on the way to the agent."""
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS_YAML)
    live = live_factory(callflows_dir, admin_token=TOKEN)
    live.hang_up_at_join = set()

    @live.app.before_request
    def hang_up_on_the_way() -> Any:
        if request.path == paths.QUEUE_JOIN and request.args.get("call") in live.hang_up_at_join:
            return Response("<Response><Hangup/></Response>", mimetype="text/xml")
        return None

    yield Desk(live)
    for call in live.sim.live_calls():
        call.hang_up()


def test_through_the_simulator_the_contact_stays_connected(desk: Desk) -> None:
    """Answered by alice, transferred to support; bob presses 1 and the caller hangs up on
    the way to him: the contact is connected, served by alice alone; bob hears that the
    caller hung up and is free; the reports agree with their rebuild."""
    sid, leg = desk.connected_call()
    desk.sim.phones[BOB] = Phone(inputs=["1"], hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]
    desk.live.hang_up_at_join.add(sid)
    r = desk.post(f"/api/calls/{sid}/transfer", {"to": "queue:support"})
    assert r.status_code == 200, r.get_json()
    desk.sim.call(sid).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    desk.sim.call(bob_leg).wait(10)
    assert "Sorry, the caller has hung up." in desk.sim.call(bob_leg).said()
    assert sid not in desk.sim.call(bob_leg).record.bridged_to
    wait_until(lambda: desk.router.agent("bob")["state"] == "idle"
               and desk.router.agent("alice")["state"] == "idle")
    reporting = desk.live.app.extensions["ivr.reports"]
    wait_until(lambda: reporting.contacts.get(sid) is not None)
    reporting.reports.fold()
    contact = reporting.contacts.get(sid)
    assert (contact.outcome, contact.agents, contact.transfers, contact.queue) == (
        "connected", ["alice"], 1, "support")
    sales, support = desk.router.queue_stats("sales"), desk.router.queue_stats("support")
    assert (sales["answered"], sales["abandoned"]) == (1, 0)
    assert (support["answered"], support["abandoned"]) == (0, 0)
    assert desk.router.rebuild_stats() == desk.router.stored_stats()
    reports = reporting.reports
    assert reports.stored() == reports.rebuild()


# --- a warm transfer's target, on the router's clock -----------------------------------


@pytest.mark.parametrize("ending", ["complete-then-hang-up", "hang-up-while-it-rings"])
def test_a_warm_transfer_target(setup: Any, twilio: Any, clock: Any, ending: str) -> None:
    """Consult a01 (their phone dialled into the conference), then: completed and the caller
    hangs up (a01's call ends it: connected, counted once); or the caller hangs up while
    a01's phone still rings (the consult ends, a01's call is ended, a01 is free once it
    has; outcome connected, nothing else counted)."""
    router, reports = setup({"sales": {"wrap_up": 0}}, AGENTS)
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(5)
    assert router.accept(aid, token)[0] == "ok"
    router.join("CA1")
    router.conference_event("CA1", "participant-join", "CA1", "CF1", 1)
    clock.advance(30)
    router.set_agent_status("a01", "available", source="test")
    router.transfer("CA1", "agent:a01", warm=True)
    target = twilio.placed[-1]
    bid, btoken = token_of(target.status_callback)
    assert (bid, router.agent("a01")["state"]) == ("a01", "on-call")
    clock.advance(10)
    if ending == "complete-then-hang-up":
        router.conference_event("CA1", "participant-join", target.sid, "CF1", 2)
        router.complete_transfer("CA1")
        router.agent_leg_status(aid, token, "completed")
        clock.advance(20)
        router.call_ended("CA1", "completed")
        router.agent_leg_status(bid, btoken, "completed")
        assert router.caller("CA1").agents == ["a00", "a01"]  # type: ignore[union-attr]
    else:
        router.call_ended("CA1", "completed")  # the conference ends with the caller
        assert ("CAconsult" in target.sid
                and (target.sid, {"status": "completed"}) in twilio.updates)
        assert router.agent("a01")["state"] == "on-call"  # until its call has ended
        router.agent_leg_status(aid, token, "completed")
        router.agent_leg_status(bid, btoken, "canceled")
        assert [e.get("result") for e in router.events() if e["type"] == "consult"] == [
            None, "ended"]
        assert router.caller("CA1").agents == ["a00"]  # type: ignore[union-attr]
        # a late callback of the target's call changes nothing
        router.agent_leg_status(bid, btoken, "in-progress", target.sid)
        router.agent_leg_status(bid, btoken, "completed")
    assert router.agent("a01")["state"] == "idle" and router.agent("a00")["state"] == "idle"
    caller = router.caller("CA1")
    assert caller is not None and caller.outcome == "connected"
    sales = router.queue_stats("sales")
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (1, 1, 0)
    assert router.rebuild_stats() == router.stored_stats()
    reports.fold()
    assert reports.stored() == reports.rebuild()


def test_hang_up_on_the_way_to_the_first_agent(setup: Any, twilio: Any, clock: Any,
                                               r: Any) -> None:
    """The first answer undone (abandoned, was=connected): that agent's part is not the
    caller's (no talk, not on their contact record), and the caller's record is forgotten
    in time like any finished caller's."""
    router, reports = setup({"sales": {"wrap_up": 0}}, AGENTS)
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    router.set_leg(aid, token, twilio.placed[-1].sid)
    clock.advance(5)
    assert router.accept(aid, token)[0] == "ok"
    clock.advance(4)
    router.call_ended("CA1", "completed")
    assert any("hung up" in doc for doc in told(twilio, twilio.placed[-1].sid))
    clock.advance(2)
    router.agent_leg_status(aid, token, "completed")
    caller = router.caller("CA1")
    assert caller is not None
    assert (caller.outcome, caller.agents, caller.talk) == ("abandoned", [], 0)
    assert r.zscore(keys.acd("timers"), "forget|CA1") is not None
    (done,) = [e for e in router.events() if e["type"] == "complete"]
    assert done["lost"] == "1"
    assert router.agent("a00")["state"] == "idle"
    stats = router.queue_stats("sales")
    assert (stats["answered"], stats["abandoned"]) == (0, 1)
    assert router.rebuild_stats() == router.stored_stats()
    reports.fold()
    assert r.get(keys.contact_pending("CA1")) is None  # nothing to patch on the record
    assert reports.stored() == reports.rebuild()


def test_a_consulted_agent_whose_call_end_is_never_reported(setup: Any, twilio: Any,
                                                             clock: Any) -> None:
    """The caller hangs up during a consult and the target's status callback is lost: the
    on-call check (every 5 minutes) asks Twilio, finds that call ended and frees them."""
    router, _reports = setup({"sales": {"wrap_up": 0}}, AGENTS)
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    assert router.accept(aid, token)[0] == "ok"
    router.join("CA1")
    router.conference_event("CA1", "participant-join", "CA1", "CF1", 1)
    router.set_agent_status("a01", "available", source="test")
    router.transfer("CA1", "agent:a01", warm=True)
    target = twilio.placed[-1]
    bid, btoken = token_of(target.status_callback)
    router.set_leg(bid, btoken, target.sid)  # its "ringing" callback
    router.call_ended("CA1", "completed")
    router.agent_leg_status(aid, token, "completed")
    twilio.statuses[target.sid] = "canceled"  # ended; its final callback never comes
    clock.advance(200)
    router.run_timers()
    assert router.agent("a01")["state"] == "on-call"
    clock.advance(150)
    router.run_timers()
    assert router.agent("a01")["state"] == "idle"
