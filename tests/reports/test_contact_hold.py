"""Hold, transfers and the agents of a contact, end to end through the simulator: calls
held, transferred cold and warm and consulted from the control API, then the contact
record and the interval reports compared with what the routing log and the test's own
stopwatch saw.

The app runs on the real clock, so each hold is timed from outside: a control's
decision is taken while its request runs, so a hold lasted at least from the end of
the request that started it to the start of the one that ended it, and at most from
the start of the first to the end of the second."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ivr.reports.contacts import Contact
from ivr.reports.query import run_report
from ivr.sim.people import Phone
from tests.api.test_control import (
    AGENTS,
    BOB,
    MAIN,
    QUEUES,
    SERVICE,
    TOKEN,
    Desk,
    wait_until,
)
from tests.routing.conftest import PlacedCall, RecordingTwilio, agents_of, enqueue
from tests.routing.test_matching import token_of


class Stopwatch:
    """Bounds (seconds) of the time the caller spent on hold, from outside the app."""

    def __init__(self) -> None:
        self.low = 0.0
        self.high = 0.0

    def held(self, start: Callable[[], Any], end: Callable[[], Any],
             seconds: float) -> None:
        """Run `start` (the hold begins during it), wait, run `end` (it ends during it)."""
        t0 = time.monotonic()
        start()
        t1 = time.monotonic()
        time.sleep(seconds)
        t2 = time.monotonic()
        end()
        t3 = time.monotonic()
        self.low += t2 - t1
        self.high += t3 - t0

    def check(self, hold: int) -> None:
        """The record's whole seconds fit the bounds."""
        assert int(self.low) <= hold <= int(self.high), (hold, self.low, self.high)


@pytest.fixture()
def desk(live_factory: Any, callflows_dir: Path) -> Any:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    live = live_factory(callflows_dir, admin_token=TOKEN)
    yield Desk(live)
    for call in live.sim.live_calls():
        call.hang_up()


def ok(response: Any) -> None:
    assert response.status_code == 200, response.get_json()


def bob_on(desk: Desk, *, accepts: bool) -> None:
    desk.sim.phones[BOB] = Phone(inputs=["1"] if accepts else [], hangup_after=1000)
    assert "available" in desk.sim.send_sms(BOB, SERVICE, "ON")[0]


def ended(desk: Desk, sid: str, parts: int) -> tuple[Contact, list[dict[str, Any]]]:
    """The caller hangs up; the contact record once the `parts` agents' calls have
    completed and the log is folded (so the talk is the log's), and the complete events."""
    desk.sim.call(sid).hang_up()
    desk.sim.call(sid).wait(10)
    reporting = desk.live.app.extensions["ivr.reports"]

    def completes() -> list[dict[str, Any]]:
        return [e for e in desk.router.events() if e["type"] == "complete"
                and e["call"] == sid]

    wait_until(lambda: len(completes()) == parts and reporting.contacts.get(sid) is not None)
    reporting.reports.fold()
    contact = reporting.contacts.get(sid)
    assert contact is not None
    return contact, completes()


def report(desk: Desk, **params: str) -> dict[str, Any]:
    """The day's row of a queue or an agent report (JSON)."""
    r = desk.client.get("/api/reports", query_string={"interval": "day", **params},
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["rows"]
    assert len(rows) == 1, rows
    return rows[0]


def span_s(desk: Desk, sid: str, start_type: str, end: dict[str, Any]) -> float:
    """Seconds from the call's first `start_type` event to the event `end`."""
    first = next(e for e in desk.router.events() if e["type"] == start_type
                 and e["call"] == sid)
    return (int(end["at"]) - int(first["at"])) / 1000.0


def rebuild_equals_live(desk: Desk) -> None:
    reports = desk.live.app.extensions["ivr.reports"].reports
    reports.fold()
    assert reports.stored() == reports.rebuild()


def test_a_call_held_twice(desk: Desk) -> None:
    sid, _leg = desk.connected_call()
    watch = Stopwatch()
    for seconds in (1.2, 0.9):
        watch.held(lambda: ok(desk.post(f"/api/calls/{sid}/hold", {"hold": True})),
                   lambda: ok(desk.post(f"/api/calls/{sid}/hold", {"hold": False})),
                   seconds)
    time.sleep(0.5)
    contact, completes = ended(desk, sid, 1)
    assert contact.agents == ["alice"] and contact.transfers == 0
    watch.check(contact.hold)
    assert contact.hold >= 2
    (done,) = completes
    # talk excludes the hold: the agent's part is talk plus hold (whole seconds each)
    assert int(done["hold"]) == contact.hold
    assert contact.talk == int(done["talk"]) == int(done["ctalk"])
    span = span_s(desk, sid, "connect", done)
    assert int(span) - 1 <= contact.talk + contact.hold <= span
    queue = report(desk, queue="sales")
    assert (queue["offered"], queue["answered"]) == (1, 1)
    assert queue["avg_hold"] == float(contact.hold)
    assert queue["avg_talk"] == float(contact.talk)
    assert queue["aht"] == float(contact.talk + contact.hold + contact.wrap)
    assert queue["transfers_out"] == 0
    agent = report(desk, agent="alice")
    assert (agent["handled"], agent["hold"], agent["talk"], agent["transfers_out"]) == (
        1, contact.hold, contact.talk, 0)
    rebuild_equals_live(desk)


def test_a_cold_transfer_to_a_queue_answered_by_a_second_agent(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    bob_on(desk, accepts=True)
    watch = Stopwatch()
    watch.held(lambda: ok(desk.post(f"/api/calls/{sid}/hold", {"hold": True})),
               lambda: ok(desk.post(f"/api/calls/{sid}/transfer", {"to": "queue:support"})),
               1.1)  # held, then transferred from hold: the hold ends with alice's part
    desk.sim.call(leg).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: desk.sim.hears(sid) == {bob_leg}, 10)
    time.sleep(1.0)
    contact, completes = ended(desk, sid, 2)
    assert contact.agents == ["alice", "bob"]
    assert contact.transfers == 1
    watch.check(contact.hold)
    by_agent = {e["agent"]: e for e in completes}
    assert int(by_agent["alice"]["hold"]) == contact.hold and by_agent["bob"]["hold"] == "0"
    assert contact.talk == int(by_agent["alice"]["talk"]) + int(by_agent["bob"]["talk"])
    assert contact.talk == int(completes[-1]["ctalk"])
    assert int(by_agent["bob"]["talk"]) >= 1
    assert (contact.queue, contact.outcome) == ("support", "connected")
    sales, support = report(desk, queue="sales"), report(desk, queue="support")
    assert (sales["transfers_out"], support["transfers_out"]) == (1, 0)
    assert sales["avg_hold"] == float(contact.hold) and support["avg_hold"] == 0.0
    assert sales["avg_talk"] == float(by_agent["alice"]["talk"])
    assert support["avg_talk"] == float(by_agent["bob"]["talk"])
    # a transfer into a queue is offered and answered there (the wait: since the
    # transfer), and not answered twice in the first queue
    assert (sales["offered"], sales["answered"]) == (1, 1)
    assert (support["offered"], support["answered"]) == (1, 1)
    connects = [e for e in desk.router.events() if e["type"] == "connect"]
    assert support["asa"] == float(connects[-1]["wait"]) and support["asa"] < 5
    alice, bob = report(desk, agent="alice"), report(desk, agent="bob")
    assert (alice["handled"], alice["transfers_out"], alice["hold"]) == (1, 1, contact.hold)
    assert (bob["handled"], bob["transfers_out"], bob["hold"]) == (1, 0, 0)
    rebuild_equals_live(desk)


def consult(desk: Desk, sid: str, leg: str) -> str:
    """A consult with bob (the caller held); bob's leg."""
    ok(desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob", "warm": True}))
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    target = desk.sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: desk.sim.hears(leg) == {target}, 10)
    return target


def test_a_warm_transfer_completed(desk: Desk) -> None:
    bob_on(desk, accepts=False)  # dialled into the conference: no whisper to accept
    sid, leg = desk.connected_call()
    watch = Stopwatch()
    target: list[str] = []
    watch.held(lambda: target.append(consult(desk, sid, leg)),
               lambda: ok(desk.post(f"/api/calls/{sid}/transfer/complete",
                                    {"three_way": False})),
               1.2)
    desk.sim.call(leg).wait(10)
    wait_until(lambda: desk.sim.hears(sid) == {target[0]}, 10)
    time.sleep(1.0)
    contact, completes = ended(desk, sid, 2)
    assert contact.agents == ["alice", "bob"]
    assert contact.transfers == 1
    watch.check(contact.hold)  # the consult held the caller
    assert contact.hold >= 1
    by_agent = {e["agent"]: e for e in completes}
    assert "consult" not in by_agent["bob"]  # the call became bob's
    assert int(by_agent["alice"]["hold"]) == contact.hold
    assert contact.talk == int(by_agent["alice"]["talk"]) + int(by_agent["bob"]["talk"])
    assert [e.get("warm") for e in desk.router.events() if e["type"] == "transfer"] == ["1"]
    sales = report(desk, queue="sales")
    assert (sales["offered"], sales["answered"], sales["transfers_out"]) == (1, 1, 1)
    assert sales["avg_hold"] == round(contact.hold / 2, 2)  # alice's part and bob's
    alice, bob = report(desk, agent="alice"), report(desk, agent="bob")
    assert (alice["transfers_out"], alice["hold"], bob["transfers_out"], bob["hold"]) == (
        1, contact.hold, 0, 0)
    rebuild_equals_live(desk)


def test_a_consult_cancelled(desk: Desk) -> None:
    bob_on(desk, accepts=False)
    sid, leg = desk.connected_call()
    watch = Stopwatch()
    target: list[str] = []
    watch.held(lambda: target.append(consult(desk, sid, leg)),
               lambda: ok(desk.post(f"/api/calls/{sid}/transfer/cancel")), 1.2)
    desk.sim.call(target[0]).wait(10)
    wait_until(lambda: desk.sim.hears(sid) == {leg}, 10)
    time.sleep(0.5)
    contact, completes = ended(desk, sid, 2)
    assert contact.agents == ["alice"]  # bob was only consulted
    assert contact.transfers == 0
    watch.check(contact.hold)
    assert contact.hold >= 1
    by_agent = {e["agent"]: e for e in completes}
    assert by_agent["bob"]["consult"] == "1"
    assert contact.talk == int(by_agent["alice"]["talk"])  # bob's consult is not the caller's
    span = span_s(desk, sid, "connect", by_agent["alice"])
    assert int(span) - 1 <= contact.talk + contact.hold <= span
    sales = report(desk, queue="sales")
    assert sales["transfers_out"] == 0
    alice = report(desk, agent="alice")
    assert (alice["hold"], alice["transfers_out"]) == (contact.hold, 0)
    rebuild_equals_live(desk)


def test_a_cold_transfer_to_an_agent_is_not_answered_twice(desk: Desk) -> None:
    sid, leg = desk.connected_call()
    bob_on(desk, accepts=True)
    ok(desk.post(f"/api/calls/{sid}/transfer", {"to": "agent:bob"}))
    desk.sim.call(leg).wait(10)
    wait_until(lambda: bool(desk.sim.record.calls_to(BOB)), 10)
    bob_leg = desk.sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: desk.sim.hears(sid) == {bob_leg}, 10)
    contact, completes = ended(desk, sid, 2)
    assert (contact.agents, contact.transfers, contact.hold) == (["alice", "bob"], 1, 0)
    assert [e.get("again") for e in desk.router.events() if e["type"] == "connect"] == [
        None, "1"]
    sales = report(desk, queue="sales")
    assert (sales["offered"], sales["answered"], sales["transfers_out"]) == (1, 1, 1)
    alice, bob = report(desk, agent="alice"), report(desk, agent="bob")
    assert (alice["handled"], alice["transfers_out"], bob["handled"],
            bob["transfers_out"]) == (1, 1, 1, 0)
    rebuild_equals_live(desk)


# --- the same figures on the router's hand-moved clock: exact seconds ------------------


class ConferenceTwilio(RecordingTwilio):
    """RecordingTwilio with conference participants: updates (a hold) are recorded, and a
    participant dialled in (a consult's target) is a placed call."""

    @property
    def conferences(self) -> Any:
        outer = self

        class _Participants:
            def __call__(self, call: str) -> Any:
                return SimpleNamespace(update=lambda **kw: outer.updates.append((call, kw)))

            def create(self, **kw: Any) -> Any:
                sid = f"CAconsult{len(outer.placed):024d}"
                outer.placed.append(PlacedCall(sid, kw["to"], kw["from_"], url="",
                                               status_callback=kw.get("status_callback"),
                                               timeout=0))
                return SimpleNamespace(call_sid=sid)

        class _Conferences:
            def __call__(self, sid: str) -> Any:
                return SimpleNamespace(participants=_Participants())

            def list(self, **kw: Any) -> list[Any]:
                return []

        return _Conferences()


@pytest.fixture()
def twilio() -> RecordingTwilio:
    return ConferenceTwilio()


def test_held_twice_on_the_routers_clock(setup: Any, twilio: Any, clock: Any, r: Any) -> None:
    """Answered after 5 s; 60 s of talk, 40 s on hold, 100 s of talk, 20 s on hold, 80 s of
    talk: hold 60 and talk 240, on the caller record, in the log and in the reports."""
    router, reports = setup({"sales": {"wrap_up": 10}}, agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(5)
    assert router.accept(aid, token)[0] == "ok"
    router.join("CA1")
    router.conference_event("CA1", "participant-join", "CA1", "CF1", 1)
    for talk, hold in ((60, 40), (100, 20)):
        clock.advance(talk)
        router.set_hold("CA1", True)
        clock.advance(hold)
        router.set_hold("CA1", False)
    assert [kw["hold"] for _, kw in twilio.updates if "hold" in kw] == [True, False] * 2
    clock.advance(80)
    caller = router.caller("CA1")
    assert caller is not None
    now_ms = int(clock() * 1000)
    assert (caller.held_ms(now_ms), caller.talk_so_far(now_ms), caller.agents,
            caller.transfers) == (60_000, 240, ["a00"], 0)
    router.agent_leg_status(aid, token, "completed")
    (done,) = [e for e in router.events() if e["type"] == "complete"]
    assert (done["talk"], done["hold"], done["wrap"], done["ctalk"]) == ("240", "60", "10", "240")
    assert router.caller("CA1").talk == 240  # type: ignore[union-attr]
    reports.fold()
    q = run_report(reports, router.callflows(), queue="sales", agent=None, start=None,
                   end=None, interval="day", tz=None, now=clock())["rows"][0]
    assert (q["avg_talk"], q["avg_hold"], q["avg_wrap"], q["aht"], q["transfers_out"]) == (
        240.0, 60.0, 10.0, 310.0, 0)
    a = run_report(reports, router.callflows(), queue=None, agent="a00", start=None,
                   end=None, interval="day", tz=None, now=clock())["rows"][0]
    assert (a["handled"], a["talk"], a["hold"], a["wrap"]) == (1, 240, 60, 10)
    assert reports.stored() == reports.rebuild()


def test_a_caller_transferred_into_a_queue_who_hangs_up_there(setup: Any, twilio: Any,
                                                              clock: Any) -> None:
    """Answered in sales after 5 s, talked 100 s, held 15 s, transferred to support, hung
    up there after 10 s: abandoned in support after 10 s (not 130), one transfer out of
    sales and of a00's hands, the hold counted in a00's part."""
    router, reports = setup({"sales": {"wrap_up": 0}, "support": {"wrap_up": 0}},
                            agents_of(1))
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(5)
    assert router.accept(aid, token)[0] == "ok"
    router.join("CA1")
    router.conference_event("CA1", "participant-join", "CA1", "CF1", 1)
    clock.advance(100)
    router.set_hold("CA1", True)
    clock.advance(15)
    router.set_agent_status("a00", "break", source="test")  # nobody takes them in support
    router.transfer("CA1", "queue:support")
    router.agent_leg_status(aid, token, "completed")
    caller = router.caller("CA1")
    assert caller is not None
    assert (caller.queue, caller.state, caller.held_ms(int(clock() * 1000)), caller.talk,
            caller.transfers, caller.agents) == ("support", "waiting", 15_000, 100, 1, ["a00"])
    clock.advance(10)
    router.call_ended("CA1", "completed")
    (gone,) = [e for e in router.events() if e["type"] == "abandon"]
    assert gone["queue"] == "support" and gone["wait"] == "10"
    reports.fold()

    def row(**who: str) -> dict[str, Any]:
        return run_report(reports, router.callflows(), queue=who.get("queue"),
                          agent=who.get("agent"), start=None, end=None, interval="day",
                          tz=None, now=clock())["rows"][0]

    sales, support, agent = row(queue="sales"), row(queue="support"), row(agent="a00")
    assert (sales["offered"], sales["answered"], sales["transfers_out"], sales["avg_hold"],
            sales["avg_talk"]) == (1, 1, 1, 15.0, 100.0)
    assert (support["offered"], support["answered"], support["abandoned"],
            support["longest_wait"], support["transfers_out"]) == (1, 0, 1, 10, 0)
    assert (agent["handled"], agent["talk"], agent["hold"], agent["transfers_out"]) == (
        1, 100, 15, 1)
    assert reports.stored() == reports.rebuild()
