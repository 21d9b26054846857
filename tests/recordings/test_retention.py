"""Recordings older than IVR_RETENTION_DAYS: deleted at Twilio, then here, by the timers,
once even when several workers (here: two apps on one Redis) sweep at the same time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from ivr import keys
from ivr.recordings import Recordings
from tests.recordings.conftest import Rig, second_app

DAY = 86_400


def test_retention_sweep_deletes_each_recording_once_across_two_apps(
        make_rig: Any, redis_url: str) -> None:
    rig: Rig = make_rig(retention_days=2)
    other = second_app(rig, redis_url, retention_days=2)
    now = time.time()
    old = [rig.record(f"CA{i:032x}", start=now - 3 * DAY - i) for i in range(40)]
    young = [rig.record(f"CA{100 + i:032x}", start=now - DAY) for i in range(3)]
    sweepers: list[Recordings] = [rig.recordings, other.extensions["ivr.recordings"]] * 2
    barrier = threading.Barrier(len(sweepers))
    results: list[dict[str, int]] = []

    def sweep(recordings: Recordings) -> None:
        barrier.wait()
        results.append(recordings.sweep())

    threads = [threading.Thread(target=sweep, args=(s,)) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == len(sweepers)
    deleted = Counter(path.rsplit("/", 1)[1].removesuffix(".json") for path in rig.deletes())
    assert set(deleted) == {r.sid for r in old}
    assert set(deleted.values()) == {1}  # each deleted at Twilio exactly once
    assert sum(r["expired"] for r in results) == len(old)
    assert all(r.deleted for r in old) and not any(r.deleted for r in young)
    listed = rig.api("GET", "/api/recordings").json()
    assert sorted(item["sid"] for item in listed) == sorted(r.sid for r in young)
    assert rig.live.redis.zcard(keys.recordings_by_time()) == len(young)
    # the next sweeps find nothing to do
    assert rig.recordings.sweep()["expired"] == 0
    assert len(rig.deletes()) == len(old)
    other.extensions["ivr.redis"].close()


def test_retention_counts_a_recording_twilio_no_longer_has_as_deleted(make_rig: Any) -> None:
    rig: Rig = make_rig(retention_days=2)
    rec = rig.record("CA" + "1" * 32, start=time.time() - 3 * DAY)
    rec.deleted = True  # gone at Twilio already (deleted in the console)
    assert rig.recordings.sweep()["expired"] == 1
    assert rig.recordings.store.get(rec.sid) is None


def test_retention_keeps_a_recording_twilio_did_not_delete(make_rig: Any) -> None:
    rig: Rig = make_rig(retention_days=2)
    rec = rig.record("CA" + "2" * 32, start=time.time() - 3 * DAY)
    rig.sim.auth_token = "rotated"  # Twilio refuses our credentials: 401
    assert rig.recordings.sweep()["expired"] == 0
    assert rig.recordings.store.get(rec.sid) is not None  # tried again later
    assert rig.live.redis.zscore(keys.recordings_by_time(), rec.sid) is not None
