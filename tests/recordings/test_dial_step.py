"""A `dial` step with `record: true`, end to end through the simulator (signed webhooks,
TwiML followed): the dialled party answers, talks and hangs up; the recording (dual
channel, from the answer to the hang-up) reaches the store through its status callback,
is listed, streamed, linked to the contact record, deleted at Twilio by hand or at the
retention, and fetched from Twilio when its callback was lost. A dial step without
`record` records nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Response

from ivr import keys, paths
from ivr.recordings.service import GRACE, expect, member
from ivr.sim.people import Caller, Phone
from ivr.sim.recordings import SimRecording, add_recording, registry
from ivr.sim.records import HttpExchange
from ivr.sim.twilio import SimCall
from tests.conftest import Live
from tests.recordings.conftest import TOKEN, Rig
from tests.waiting import wait_until

RECORDED, PLAIN = "+15005550006", "+15005550007"
DESK = "+15005550199"
CALLER = "+15551230001"
DAY = 86_400

MAIN = f"""
numbers: ["{RECORDED}", "*"]
start: welcome
steps:
  welcome:
    say: "Connecting you to the front desk."
    next: transfer
  transfer:
    dial: "{DESK}"
    timeout: 20
    record: true
    next: nobody
  nobody:
    hangup: "Nobody answered."
"""

PLAIN_FLOW = f"""
numbers: ["{PLAIN}"]
start: transfer
steps:
  transfer:
    dial: "{DESK}"
    timeout: 20
    next: nobody
  nobody:
    hangup: "Nobody answered."
"""



@pytest.fixture()
def dial_rig(live_factory: Callable[..., Live], callflows_dir: Path) -> Iterator[Rig]:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "plain.yaml").write_text(PLAIN_FLOW)
    rig = Rig(live_factory(callflows_dir, background=False, admin_token=TOKEN,
                           recording_grace=30.0, retention_days=30))
    yield rig
    for call in rig.sim.live_calls():
        call.hang_up()


def callbacks(rig: Rig, call: str) -> list[HttpExchange]:
    return [ex for ex in rig.sim.record.exchanges
            if paths.RECORDING_STATUS in ex.url and ex.params.get("CallSid") == call]


def of_call(rig: Rig, call: str) -> list[SimRecording]:
    return [r for r in registry(rig.sim).items.values() if r.call_sid == call]


def talk(rig: Rig, to: str, seconds: float = 120) -> SimCall:
    """A call to `to` whose dial step rings the desk; the desk answers at once and hangs up
    after `seconds` simulated seconds of talk (1.2 s of wall clock)."""
    rig.sim.phones[DESK] = Phone(ring_delay=1, hangup_after=seconds)
    call = rig.sim.place_call(CALLER, to).wait(20)
    assert call.status == "completed"
    return call


def test_recorded_dial_step_is_kept_listed_streamed_and_deleted(dial_rig: Rig) -> None:
    rig = dial_rig
    call = talk(rig, RECORDED)
    sid = call.sid
    # The TwiML asked Twilio for a dual-channel recording from the answer, with our callback.
    voice = [ex for ex in call.requests if "<Dial" in ex.body][-1]
    assert 'record="record-from-answer-dual"' in voice.body
    assert "recordingStatusCallbackEvent=\"in-progress completed absent\"" in voice.body
    assert f"{paths.RECORDING_STATUS}?call={sid}&amp;source=dial&amp;step=main.transfer" \
        in voice.body
    # The dial action got the dialled call's result and the recording.
    action = [ex for ex in call.requests if "kind=dial" in ex.url][-1]
    assert action.params["DialCallStatus"] == "completed"
    talked = int(action.params["DialCallDuration"])
    assert talked >= 1
    # Twilio's recording: of the parent call (the caller's), from DialVerb, two channels.
    made = of_call(rig, sid)
    assert len(made) == 1
    rec = made[0]
    assert (rec.source, rec.channels, rec.status, rec.duration) == (
        "DialVerb", 2, "completed", talked)
    assert action.params["RecordingSid"] == rec.sid
    # Its status callbacks, signed, reached the server (a forged one would get 403).
    wait_until(lambda: [ex.params["RecordingStatus"] for ex in callbacks(rig, sid)]
               == ["in-progress", "completed"])
    assert all(ex.status == 200 for ex in callbacks(rig, sid))
    done = callbacks(rig, sid)[-1].params
    assert (done["RecordingSource"], done["RecordingChannels"]) == ("DialVerb", "2")
    # Kept with its call, start, duration, channels; no queue or agent: a dial step's.
    wait_until(lambda: rig.recordings.store.exists(rec.sid))
    listed = rig.api("GET", f"/api/recordings?call={sid}").json()
    assert listed == [{"sid": rec.sid, "call": sid, "queue": None, "agent": None,
                       "start": pytest.approx(rec.start, abs=1.5), "duration": talked,
                       "channels": 2, "status": "completed", "source": "dial",
                       "conference": None, "step": "main.transfer"}]
    assert [r["sid"] for r in rig.api("GET", "/api/recordings").json()] == [rec.sid]
    assert rig.api("GET", "/api/recordings?queue=sales").json() == []
    assert rig.api("GET", "/api/recordings?agent=alice").json() == []
    # The contact record points at it (linked now, or by the timers if it came first).
    wait_until(lambda: rig.contact(sid) is not None)
    rig.recordings.sweep()
    contact = rig.contact(sid)
    assert contact is not None and contact.recording == rec.sid
    # The audio streams through the server with the admin token, and not without it.
    audio = rig.api("GET", f"/api/recordings/{rec.sid}/audio")
    assert audio.status_code == 200 and audio.content == rec.mp3
    assert audio.headers["Content-Type"] == "audio/mpeg"
    assert rig.api("GET", f"/api/recordings/{rec.sid}/audio", admin=False).status_code == 401
    # DELETE reaches the simulator's REST API, then the store.
    gone = rig.api("DELETE", f"/api/recordings/{rec.sid}")
    assert gone.status_code == 200 and gone.json() == {"sid": rec.sid, "deleted": True}
    assert any(path.endswith(f"/Recordings/{rec.sid}.json") for path in rig.deletes())
    assert rec.deleted
    assert rig.api("GET", f"/api/recordings?call={sid}").json() == []
    rig.sim.assert_no_errors()


def test_caller_hanging_up_ends_the_recording(dial_rig: Rig) -> None:
    rig = dial_rig
    rig.sim.phones[DESK] = Phone(ring_delay=1, hangup_after=None)  # would talk forever
    call = rig.sim.place_call(CALLER, RECORDED, Caller(talk_for=100)).wait(20)
    assert call.status == "completed"
    action = [ex for ex in call.requests if "kind=dial" in ex.url][-1]
    talked = int(action.params["DialCallDuration"])
    assert talked >= 1
    wait_until(lambda: len(rig.api("GET", f"/api/recordings?call={call.sid}").json()) == 1)
    kept = rig.api("GET", f"/api/recordings?call={call.sid}").json()[0]
    assert (kept["duration"], kept["channels"], kept["source"]) == (talked, 2, "dial")
    assert kept["sid"] == action.params["RecordingSid"]


def test_dial_step_without_record_records_nothing(dial_rig: Rig) -> None:
    rig = dial_rig
    call = talk(rig, PLAIN)
    voice = [ex for ex in call.requests if "<Dial" in ex.body][-1]
    assert "<Dial" in voice.body and "record" not in voice.body.lower()
    action = [ex for ex in call.requests if "kind=dial" in ex.url][-1]
    assert action.params["DialCallStatus"] == "completed"
    assert int(action.params["DialCallDuration"]) >= 1  # they did talk
    assert "RecordingSid" not in action.params
    wait_until(lambda: rig.contact(call.sid) is not None)
    time.sleep(0.3)  # a late callback would have come by now
    assert of_call(rig, call.sid) == [] and callbacks(rig, call.sid) == []
    assert rig.api("GET", f"/api/recordings?call={call.sid}").json() == []
    assert not rig.live.redis.exists(keys.recording_expectation(member(call.sid, None)))
    contact = rig.contact(call.sid)
    assert contact is not None and contact.recording is None
    rig.sim.assert_no_errors()


def test_unanswered_recorded_dial_records_nothing(dial_rig: Rig) -> None:
    rig = dial_rig
    rig.sim.phones[DESK] = Phone(behaviour="no-answer")
    call = rig.sim.place_call(CALLER, RECORDED).wait(20)
    assert "Nobody answered." in call.said()
    action = [ex for ex in call.requests if "kind=dial" in ex.url][-1]
    assert action.params["DialCallStatus"] == "no-answer"
    assert "RecordingSid" not in action.params
    assert of_call(rig, call.sid) == [] and callbacks(rig, call.sid) == []
    # expected (the step asked for a recording): Twilio is asked once, has none, forgotten
    m = member(call.sid, None)
    assert rig.live.redis.exists(keys.recording_expectation(m))
    assert rig.recordings.recover(time.time() + GRACE + 60) == 0
    assert not rig.live.redis.exists(keys.recording_expectation(m))
    assert any(p.endswith("/Recordings.json") for p in rig.rest_paths("GET"))
    rig.sim.assert_no_errors()


def test_lost_callback_is_fetched_from_twilio_later(dial_rig: Rig) -> None:
    rig = dial_rig
    lost: list[str] = []

    @rig.live.app.before_request
    def _down() -> Response | None:  # the server did not get Twilio's recording callbacks
        from flask import request

        if request.path == paths.RECORDING_STATUS:
            lost.append(request.form.get("RecordingStatus", ""))
            return Response("down", status=503)
        return None

    call = talk(rig, RECORDED)
    made = of_call(rig, call.sid)
    assert len(made) == 1
    rec = made[0]
    wait_until(lambda: lost == ["in-progress", "completed"])
    assert not rig.recordings.store.exists(rec.sid)
    # Not yet due: the timers wait the grace period before asking Twilio.
    assert rig.recordings.sweep()["recovered"] == 0
    assert not any(p.endswith("/Recordings.json") for p in rig.rest_paths("GET"))
    assert rig.recordings.recover(time.time() + GRACE + 60) == 1
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None
    assert (kept.call, kept.source, kept.step, kept.channels, kept.duration, kept.queue,
            kept.agent) == (call.sid, "dial", "main.transfer", 2, rec.duration, None, None)
    assert rig.live.redis.zcard(keys.recording_expected()) == 0
    assert rig.recordings.recover(time.time() + 2 * GRACE + 120) == 0  # nothing asked again


def test_a_lost_dial_recording_is_told_from_other_recordings_of_the_call(
        dial_rig: Rig) -> None:
    rig = dial_rig
    call, started = "CA" + "7" * 32, time.time()
    expect(rig.live.redis, call, None, source="dial", step="main.transfer", now=started)
    other = add_recording(rig.sim, call, source="StartCallRecordingAPI", start=started + 1)
    dialled = add_recording(rig.sim, call, source="DialVerb", start=started + 2)
    assert rig.recordings.recover(started + GRACE + 1) == 1
    assert rig.recordings.store.get(other.sid) is None
    kept = rig.recordings.store.get(dialled.sid)
    assert kept is not None and (kept.source, kept.step) == ("dial", "main.transfer")


def test_retention_deletes_a_dial_recording_at_twilio(dial_rig: Rig) -> None:
    rig = dial_rig
    call = talk(rig, RECORDED)
    wait_until(lambda: len(rig.api("GET", f"/api/recordings?call={call.sid}").json()) == 1)
    rec = of_call(rig, call.sid)[0]
    assert rig.recordings.expire(time.time() + 29 * DAY) == 0  # not old enough yet
    assert rig.recordings.expire(time.time() + 31 * DAY) == 1
    assert rec.deleted
    assert [p for p in rig.deletes() if rec.sid in p]
    assert rig.recordings.store.get(rec.sid) is None
    assert rig.recordings.expire(time.time() + 31 * DAY) == 0  # once


def test_checker_and_schema_know_record_on_dial() -> None:
    import json
    from importlib import resources

    from ivr.flows.checker import check_texts

    cf, problems = check_texts({"main.yaml": MAIN})
    assert [str(p) for p in problems] == []
    assert cf is not None and cf.flows["main"].steps["transfer"].settings["record"] is True
    _, problems = check_texts({"main.yaml": MAIN.replace("record: true", 'record: "yes"')})
    assert any("'record'" in str(p) and "true or false" in str(p)
               for p in problems if p.is_error)
    schema = json.loads(resources.files("ivr.flows").joinpath("callflows.schema.json")
                        .read_text("utf-8"))
    assert schema["$defs"]["dialStep"]["properties"]["record"] == {"type": "boolean"}
