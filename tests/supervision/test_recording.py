"""Recording a queue's calls (docs/routing.md, "Recording calls"): the notice, the
conference recording from the agent joining to the end, its status callback into the
recordings store, pause and resume (the paused span is not in the recording), hold."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ivr import keys
from ivr.recordings.service import member
from ivr.sim import conference_recording
from ivr.sim.conference_recording import RoomRecording
from ivr.sim.people import Caller, Phone
from tests.supervision.conftest import BOB, CALLER, Live
from tests.waiting import wait_until

PLAIN = "+15005550007"


def room_recording(live: Live, sid: str) -> RoomRecording:
    found: list[RoomRecording] = []

    def started() -> bool:
        room = live.sim.switch.room_named(sid)
        rr = conference_recording.of(room) if room is not None else None
        if rr is not None and rr.rec is not None:
            found.append(rr)
            return True
        return False

    wait_until(started)
    return found[-1]


def stored(live: Live, sid: str) -> list[dict[str, Any]]:
    r = live.send("GET", f"/api/recordings?call={sid}")
    assert r.status_code == 200, r.get_json()
    return list(r.get_json())


def hang_up(live: Live, sid: str) -> None:
    next(c for c in live.sim.live_calls() if c.sid == sid).hang_up()


def test_notice_then_recorded_from_agent_to_end(live: Live) -> None:
    sid, _agent = live.connected_call()
    call = next(c for c in live.sim.live_calls() if c.sid == sid)
    assert "This call may be recorded for quality." in call.said()
    rr = room_recording(live, sid)
    assert rr.rec is not None and rr.rec.status == "in-progress"
    assert rr.rec.source == "Conference" and rr.rec.channels == 1
    # expected by the recordings store, with the conference (a lost callback is recovered)
    db = live.router.env.db
    wait_until(lambda: db.hget(keys.recording_expectation(member(sid, None)), "conference")
               in (rr.rec.conference_sid, (rr.rec.conference_sid or "").encode()))
    time.sleep(1.2)
    hang_up(live, sid)
    wait_until(lambda: len(stored(live, sid)) == 1)
    rec = stored(live, sid)[0]
    assert rec["sid"] == rr.rec.sid and rec["queue"] == "sales" and rec["agent"] == "alice"
    assert rec["source"] == "conference" and rec["conference"] == rr.rec.conference_sid
    assert rec["duration"] == round(rr.duration()) >= 1


def test_pause_and_resume_leave_the_span_out(live: Live) -> None:
    sid, _agent = live.connected_call()
    rr = room_recording(live, sid)
    time.sleep(0.6)
    r = live.post(f"/api/calls/{sid}/recording", {"paused": True}, agent="alice")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"sid": sid, "paused": True, "result": "ok"}
    assert rr.rec is not None and rr.rec.status == "paused" and rr.behavior == "skip"
    t0 = time.time()
    time.sleep(1.0)  # "the card number": said while paused
    t1 = time.time()
    assert live.post(f"/api/calls/{sid}/recording", {"paused": False}).status_code == 200
    assert rr.rec.status == "in-progress"
    time.sleep(0.6)
    hang_up(live, sid)
    wait_until(lambda: len(stored(live, sid)) == 1)
    assert not rr.recorded_while(t0 + 0.05, t1 - 0.05)
    assert rr.recorded_while(t1 + 0.1, t1 + 0.3)
    assert len(rr.spans) == 2
    total = sum(e - s for s, e in rr.spans)
    assert 1.0 <= total < 1.9  # about 1.2 s recorded out of about 2.2 s talked
    assert stored(live, sid)[0]["duration"] == round(total)


def test_hold_pauses_and_a_user_pause_outlasts_the_resume(live: Live) -> None:
    sid, _agent = live.connected_call()
    rr = room_recording(live, sid)
    assert rr.rec is not None
    assert live.post(f"/api/calls/{sid}/hold", {"hold": True}).status_code == 200
    assert rr.rec.status == "paused"  # hold music is not recorded
    wait_until(lambda: live.sim.hears(sid) == {"hold-music:http://music.example/sales.mp3"})
    t0 = time.time()
    time.sleep(0.4)
    t1 = time.time()
    assert live.post(f"/api/calls/{sid}/hold", {"hold": False}).status_code == 200
    assert rr.rec.status == "in-progress"
    assert not rr.recorded_while(t0, t1)
    # paused by the agent, then a hold and a resume: still paused
    assert live.post(f"/api/calls/{sid}/recording", {"paused": True}).status_code == 200
    assert live.post(f"/api/calls/{sid}/hold", {"hold": True}).status_code == 200
    assert live.post(f"/api/calls/{sid}/hold", {"hold": False}).status_code == 200
    assert rr.rec.status == "paused"
    assert live.post(f"/api/calls/{sid}/recording", {"paused": False}).status_code == 200
    assert rr.rec.status == "in-progress"


def test_conference_recordings_rest(live: Live) -> None:
    sid, _agent = live.connected_call()
    rr = room_recording(live, sid)
    assert rr.rec is not None
    client = live.router.twilio
    conf = rr.rec.conference_sid
    found = client.conferences(conf).recordings.list()
    assert [(r.sid, r.status) for r in found] == [(rr.rec.sid, "in-progress")]
    client.conferences(conf).recordings(rr.rec.sid).update(status="paused",
                                                           pause_behavior="silence")
    assert client.conferences(conf).recordings(rr.rec.sid).fetch().status == "paused"
    assert rr.silenced and rr.behavior == "silence"


@pytest.fixture()
def plain(live: Live, callflows_dir: Path) -> Live:
    """A second number whose queue does not record (bob, support)."""
    (callflows_dir / "plain.yaml").write_text(f"""
numbers: ["{PLAIN}"]
start: support
steps:
  support:
    queue: support
""")
    (callflows_dir / "queues.yaml").write_text(
        (callflows_dir / "queues.yaml").read_text() + "support:\n  skills: [support]\n"
        "  ring_timeout: 5\n  wrap_up: 0\n")
    live.live.app.extensions["ivr.flows"].reload()
    return live


def test_nothing_recording_is_409(plain: Live) -> None:
    live = plain
    sim = live.sim
    sim.phones[BOB] = Phone(inputs=["1"], hangup_after=1000)
    assert "available" in sim.send_sms(BOB, PLAIN, "ON")[0]
    call = sim.place_call(CALLER, PLAIN, Caller(talk_for=1000))
    wait_until(lambda: bool(sim.record.calls_to(BOB)), 10)
    leg = sim.record.calls_to(BOB)[0].sid
    wait_until(lambda: sim.hears(call.sid) == {leg})
    assert "This call may be recorded for quality." not in call.said()
    r = live.post(f"/api/calls/{call.sid}/recording", {"paused": True})
    assert r.status_code == 409
    room = sim.switch.room_named(call.sid)
    assert room is not None and room.recording is None
    # hold on an unrecorded queue: no recording request at all
    assert live.post(f"/api/calls/{call.sid}/hold", {"hold": True}).status_code == 200
