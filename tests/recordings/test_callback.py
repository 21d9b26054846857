"""The recording status callback: kept once, linked to the contact record, lost ones
fetched later by the timers."""

from __future__ import annotations

import threading
import time
from typing import Any

from ivr import keys, paths
from ivr.recordings import Recordings, expect
from ivr.sim.recordings import add_recording, callback_params, fire_callback
from tests.recordings.conftest import Rig, second_app


def test_completed_callback_keeps_the_recording_once(rig: Rig) -> None:
    rec = rig.record("CA" + "1" * 32, queue="sales", agent="alice", duration=42, channels=2)
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None
    assert (kept.call, kept.queue, kept.agent, kept.duration, kept.channels, kept.source,
            kept.status) == (rec.call_sid, "sales", "alice", 42, 2, "dial", "completed")
    assert abs(kept.start - rec.start) < 1.5  # RecordingStartTime is whole seconds
    assert kept.media_url.endswith(rec.sid)
    # Twilio retries the same delivery: answered from the replay cache, nothing kept twice.
    first = [ex for ex in rig.sim.record.exchanges if paths.RECORDING_STATUS in ex.url][0]
    again = rig.sim.redeliver(first)
    assert again.status == 200
    # ... and a second callback of the same recording with other values changes nothing.
    second = rig.fire(rec, queue="support", agent="bob")
    assert second.status == 200
    after = rig.recordings.store.get(rec.sid)
    assert after == kept
    listed = rig.api("GET", "/api/recordings").json()
    assert [item["sid"] for item in listed] == [rec.sid]
    assert rig.live.redis.zcard(keys.recordings_by_time()) == 1


def test_other_statuses_keep_nothing(rig: Rig) -> None:
    absent = add_recording(rig.sim, "CA" + "2" * 32, status="absent")
    assert rig.fire(absent).status == 200
    failed = add_recording(rig.sim, "CA" + "3" * 32, status="failed")
    assert rig.fire(failed).status == 200
    assert rig.api("GET", "/api/recordings").json() == []


def test_callback_signature_is_checked(rig: Rig) -> None:
    import requests

    rec = add_recording(rig.sim, "CA" + "4" * 32)
    params = callback_params(rig.sim, rec)
    resp = requests.post(rig.url + paths.RECORDING_STATUS, data=params,
                         headers={"X-Twilio-Signature": "forged"}, timeout=5)
    assert resp.status_code == 403
    assert rig.recordings.store.get(rec.sid) is None


def test_contact_record_gets_the_recording(rig: Rig) -> None:
    call = "CA" + "5" * 32
    rig.put_contact(call)
    rec = rig.record(call)
    contact = rig.contact(call)
    assert contact is not None and contact.recording == rec.sid
    # a second recording of the same call leaves the first on the record
    rig.record(call)
    contact = rig.contact(call)
    assert contact is not None and contact.recording == rec.sid


def test_contact_written_after_the_recording_gets_it_from_the_timers(rig: Rig) -> None:
    call = "CA" + "6" * 32
    rec = rig.record(call)
    assert rig.contact(call) is None
    assert rig.live.redis.zscore(keys.recordings_unlinked(), rec.sid) is not None
    rig.put_contact(call)  # the caller's status callback writes the record later
    assert rig.recordings.sweep()["linked"] == 1
    contact = rig.contact(call)
    assert contact is not None and contact.recording == rec.sid
    assert rig.live.redis.zcard(keys.recordings_unlinked()) == 0
    assert rig.recordings.sweep()["linked"] == 0


def test_lost_callback_is_fetched_later(rig: Rig) -> None:
    """The bridge expected a recording (SID unknown); its callback never came."""
    call = "CA" + "7" * 32
    db = rig.live.redis
    started = time.time()
    expect(db, call, None, queue="support", agent="bob", source="conference",
           grace=30.0, now=started)
    rec = add_recording(rig.sim, call, duration=33, source="Conference",
                        start=started + 1)  # made by Twilio, callback lost
    rig.put_contact(call)
    assert rig.recordings.recover(started + 10) == 0  # not due yet: Twilio not asked
    assert not [p for p in rig.rest_paths() if p.endswith("/Recordings.json")]
    assert rig.recordings.recover(started + 31) == 1
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None
    assert (kept.call, kept.queue, kept.agent, kept.duration, kept.source) == (
        call, "support", "bob", 33, "conference")
    contact = rig.contact(call)
    assert contact is not None and contact.recording == rec.sid
    assert db.zcard(keys.recording_expected()) == 0
    # its callback arriving late after all changes nothing
    assert rig.fire(rec, queue="sales", agent="alice").status == 200
    after = rig.recordings.store.get(rec.sid)
    assert after is not None and after.queue == "support"


def test_recording_still_in_progress_is_asked_for_again(rig: Rig) -> None:
    call = "CA" + "8" * 32
    started = time.time()
    rec = add_recording(rig.sim, call, status="in-progress", start=started)
    # the in-progress callback is how Twilio tells us the SID: expected from then on
    assert rig.fire(rec, status="in-progress").status == 200
    assert rig.recordings.store.get(rec.sid) is None
    member = f"{call}|{rec.sid}"
    assert rig.live.redis.zscore(keys.recording_expected(), member) is not None
    assert rig.recordings.recover(started + 31) == 0  # Twilio: still in progress
    assert rig.live.redis.zscore(keys.recording_expected(), member) is not None
    rec.status = "completed"  # the call ends; the completed callback is lost
    assert rig.recordings.recover(started + 45) == 0  # rescheduled a grace period on
    assert rig.recordings.recover(started + 62) == 1
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None and kept.queue == "sales" and kept.agent == "alice"
    assert rig.live.redis.zcard(keys.recording_expected()) == 0


def test_expected_recording_whose_callback_came_costs_no_rest_call(rig: Rig) -> None:
    call = "CA" + "9" * 32
    started = time.time()
    rec = add_recording(rig.sim, call, start=started)
    expect(rig.live.redis, call, rec.sid, queue="sales", agent="alice", now=started)
    expect(rig.live.redis, call, None, queue="sales", agent="alice", now=started)
    assert rig.fire(rec).status == 200
    before = len(rig.sim.record.rest_requests)
    assert rig.recordings.recover(started + 3600) == 0
    assert len(rig.sim.record.rest_requests) == before
    assert rig.live.redis.zcard(keys.recording_expected()) == 0


def test_expected_recording_twilio_never_made_is_given_up(rig: Rig) -> None:
    call = "CA" + "a" * 32
    started = time.time()
    expect(rig.live.redis, call, None, grace=30.0, now=started)
    assert rig.recordings.recover(started + 31) == 0
    assert rig.live.redis.zcard(keys.recording_expected()) == 0


def test_timer_thread_runs_the_sweep(make_rig: object) -> None:
    rig = make_rig(recording_sweep_interval=0.0)  # type: ignore[operator]
    router = rig.live.app.extensions["ivr.router"]
    assert rig.recordings.tick in router.timers.ticks
    call = "CA" + "b" * 32
    rec = rig.record(call)
    rig.put_contact(call)
    router.timers._tick()  # what the worker's timer thread does on every turn
    contact = rig.contact(call)
    assert contact is not None and contact.recording == rec.sid


def test_callback_with_twilio_parameters_only(rig: Rig) -> None:
    """Twilio's own parameters alone (a dial step's recording): kept, queue and agent
    unknown (the router has no caller record for this call)."""
    rec = add_recording(rig.sim, "CA" + "c" * 32)
    ex = fire_callback(rig.sim, rig.url + paths.RECORDING_STATUS, rec)
    assert ex.status == 200
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None and kept.queue is None and kept.agent is None
    assert kept.source == "dial"


def test_lost_callback_is_fetched_once_across_two_apps(make_rig: Any, redis_url: str) -> None:
    rig: Rig = make_rig()
    other = second_app(rig, redis_url)
    workers: list[Recordings] = [rig.recordings, other.extensions["ivr.recordings"]] * 2
    call = "CA" + "d" * 32
    started = time.time()
    expect(rig.live.redis, call, None, queue="sales", agent="alice", grace=30.0, now=started)
    rec = add_recording(rig.sim, call, start=started + 1)
    barrier = threading.Barrier(len(workers))
    found: list[int] = []

    def recover(worker: Recordings) -> None:
        barrier.wait()
        found.append(worker.recover(started + 31))

    threads = [threading.Thread(target=recover, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(found) == [0, 0, 0, 1]
    assert len([p for p in rig.rest_paths() if p.endswith("/Recordings.json")]) == 1
    assert rig.recordings.store.get(rec.sid) is not None
    other.extensions["ivr.redis"].close()


def test_source_comes_from_twilio_when_ours_is_missing_or_unknown(rig: Rig) -> None:
    rec = add_recording(rig.sim, "CA" + "e" * 32, source="Conference",
                        conference_sid="CF" + "e" * 32)
    url = rig.url + paths.RECORDING_STATUS + f"?call={rec.call_sid}&source=tape"
    assert fire_callback(rig.sim, url, rec).status == 200
    kept = rig.recordings.store.get(rec.sid)
    assert kept is not None and kept.source == "conference"
    assert kept.conference == "CF" + "e" * 32
    listed = rig.api("GET", f"/api/recordings?call={rec.call_sid}")
    assert listed.status_code == 200 and listed.json()[0]["source"] == "conference"
