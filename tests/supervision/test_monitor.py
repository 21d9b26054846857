"""Listen, whisper, barge on a live call (docs/routing.md, "Supervision"): the simulator's
record of who hears whom is the check."""

from __future__ import annotations

import threading

from tests.supervision.conftest import SAM, Live
from tests.waiting import wait_until


def sam_leg(live: Live) -> str:
    wait_until(lambda: bool(live.sim.record.calls_to(SAM)))
    return live.sim.record.calls_to(SAM)[0].sid


def test_listen_hears_both_nobody_hears_them(live: Live) -> None:
    sid, agent = live.connected_call()
    r = live.post(f"/api/calls/{sid}/monitor", {"supervisor": "sam", "mode": "listen"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"sid": sid, "supervisor": "sam", "mode": "listen",
                            "result": "started"}
    sup = sam_leg(live)
    wait_until(lambda: live.sim.hears(sup) == {sid, agent})
    assert live.sim.hears(sid) == {agent}
    assert live.sim.hears(agent) == {sid}
    mon = live.router.monitor.current(sid)
    assert mon is not None and mon["leg"] == sup and mon["mode"] == "listen"
    assert [e["supervisor"] for e in live.events("monitor")] == ["sam"]


def test_whisper_only_agent_hears_then_barge_same_leg(live: Live) -> None:
    sid, agent = live.connected_call()
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "whisper"}).status_code == 200
    sup = sam_leg(live)
    wait_until(lambda: live.sim.hears(agent) == {sid, sup})
    assert live.sim.hears(sid) == {agent}  # the caller does not hear the supervisor
    assert live.sim.hears(sup) == {sid, agent}
    # barge: the same participant, updated; no new call
    r = live.post(f"/api/calls/{sid}/monitor", {"supervisor": "sam", "mode": "barge"})
    assert r.status_code == 200 and r.get_json()["result"] == "changed"
    wait_until(lambda: live.sim.hears(sid) == {agent, sup})
    assert live.sim.hears(agent) == {sid, sup}
    # back to listen: muted again
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "listen"}).status_code == 200
    wait_until(lambda: live.sim.hears(sid) == {agent} and live.sim.hears(agent) == {sid})
    assert len(live.sim.record.calls_to(SAM)) == 1
    modes = [e["mode"] for e in live.events("monitor_mode")]
    assert modes == ["barge", "listen"]


def test_delete_ends_the_leg_the_call_goes_on(live: Live) -> None:
    sid, agent = live.connected_call()
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "barge"}).status_code == 200
    sup = sam_leg(live)
    wait_until(lambda: live.sim.hears(sid) == {agent, sup})
    r = live.send("DELETE", f"/api/calls/{sid}/monitor")
    assert r.status_code == 200 and r.get_json() == {"sid": sid, "result": "ended"}
    wait_until(lambda: live.sim.hears(sid) == {agent} and live.sim.hears(agent) == {sid})
    wait_until(lambda: all(c.sid != sup for c in live.sim.live_calls()))
    assert live.router.monitor.current(sid) is None
    assert live.send("DELETE", f"/api/calls/{sid}/monitor").status_code == 409
    assert [e["why"] for e in live.events("monitor_end")] == ["stop"]
    # the new events leave the queue statistics as they were (rebuilt from the log)
    assert live.router.rebuild_stats() == live.router.stored_stats()
    # a new listen places a new call
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "listen"}).status_code == 200
    wait_until(lambda: len(live.sim.record.calls_to(SAM)) == 2)


def test_supervisor_hanging_up_changes_nothing_else(live: Live) -> None:
    sid, agent = live.connected_call()
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "barge"}).status_code == 200
    sup = sam_leg(live)
    wait_until(lambda: live.sim.hears(sid) == {agent, sup})
    next(c for c in live.sim.live_calls() if c.sid == sup).hang_up()
    wait_until(lambda: live.router.monitor.current(sid) is None)
    assert live.sim.hears(sid) == {agent} and live.sim.hears(agent) == {sid}
    assert live.router.caller(sid).state == "connected"
    assert [e["why"] for e in live.events("monitor_end")] == ["hangup"]


def test_call_ending_ends_the_supervisor_leg(live: Live) -> None:
    sid, agent = live.connected_call()
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "listen"}).status_code == 200
    sup = sam_leg(live)
    wait_until(lambda: live.sim.hears(sup) == {sid, agent})
    next(c for c in live.sim.live_calls() if c.sid == sid).hang_up()
    wait_until(lambda: all(c.sid != sup for c in live.sim.live_calls()))
    wait_until(lambda: live.router.monitor.current(sid) is None)


def test_two_posts_at_once_place_one_call(live: Live) -> None:
    sid, _agent = live.connected_call()
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def go(mode: str) -> None:
        barrier.wait()
        codes.append(live.post(f"/api/calls/{sid}/monitor",
                               {"supervisor": "sam", "mode": mode}).status_code)

    threads = [threading.Thread(target=go, args=(m,)) for m in ("listen", "barge")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]
    sam_leg(live)
    wait_until(lambda: (live.router.monitor.current(sid) or {}).get("leg", "") != "")
    assert len(live.sim.record.calls_to(SAM)) == 1
    assert len(live.events("monitor")) == 1


def test_who_may_monitor(live: Live) -> None:
    sid, _agent = live.connected_call()
    body = {"supervisor": "sam", "mode": "listen"}
    # an agent's desk session, even on their own call: 403
    assert live.post(f"/api/calls/{sid}/monitor", body, agent="alice").status_code == 403
    assert live.send("DELETE", f"/api/calls/{sid}/monitor", agent="alice").status_code == 403
    # a supervisor's session joins as itself only
    assert live.post(f"/api/calls/{sid}/monitor", {"supervisor": "bob", "mode": "listen"},
                     agent="sam").status_code == 403
    # not a supervisor: 422; unknown mode: 422; unknown call: 404
    r = live.post(f"/api/calls/{sid}/monitor", {"supervisor": "alice", "mode": "listen"})
    assert r.status_code == 422
    assert live.post(f"/api/calls/{sid}/monitor",
                     {"supervisor": "sam", "mode": "shout"}).status_code == 422
    assert live.post("/api/calls/CAnope/monitor", body).status_code == 404
    assert live.sim.record.calls_to("+15005550150") == []
    # the supervisor's own session: fine
    r = live.post(f"/api/calls/{sid}/monitor", body, agent="sam")
    assert r.status_code == 200, r.get_json()


def test_not_connected_is_409(live: Live) -> None:
    sid, _agent = live.connected_call()
    assert live.post(f"/api/calls/{sid}/hangup").status_code == 200
    wait_until(lambda: live.router.caller(sid) is None
               or live.router.caller(sid).state != "connected")
    r = live.post(f"/api/calls/{sid}/monitor", {"supervisor": "sam", "mode": "listen"})
    assert r.status_code in (404, 409)
    assert live.sim.record.calls_to(SAM) == []


def test_waiting_call_is_409(live: Live) -> None:
    from ivr.sim.people import Caller, Phone
    from tests.supervision.conftest import ALICE, CALLER, SERVICE

    live.sim.phones[ALICE] = Phone(behaviour="no-answer")  # rings: the call is offered
    assert "available" in live.sim.send_sms(ALICE, SERVICE, "ON")[0]
    call = live.sim.place_call(CALLER, SERVICE, Caller(talk_for=1000))
    wait_until(lambda: live.router.caller(call.sid) is not None
               and live.router.caller(call.sid).state in ("waiting", "offered"))
    r = live.post(f"/api/calls/{call.sid}/monitor", {"supervisor": "sam", "mode": "listen"})
    assert r.status_code == 409, r.get_json()
    assert "not connected" in str(r.get_json())
    assert live.sim.record.calls_to(SAM) == []


def test_supervisors_and_live_calls_lists(live: Live) -> None:
    sid, _agent = live.connected_call()
    r = live.send("GET", "/api/supervisors", agent="sam")
    assert r.status_code == 200 and r.get_json() == [{"id": "sam", "name": "Sam Lee"}]
    assert live.send("GET", "/api/supervision/calls", agent="alice").status_code == 403
    r = live.send("GET", "/api/supervision/calls", agent="sam")
    assert r.status_code == 200, r.get_json()
    [row] = r.get_json()
    assert row["call"] == sid and row["agent"] == "alice" and row["monitor"] is None
    assert row["queue"] == "sales"
    assert live.post(f"/api/calls/{sid}/monitor", {"supervisor": "sam", "mode": "whisper"},
                     agent="sam").status_code == 200
    [row] = live.send("GET", "/api/supervision/calls").get_json()
    assert row["monitor"] == {"supervisor": "sam", "mode": "whisper"}
