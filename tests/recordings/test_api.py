"""`/api/recordings`: list with filters, audio streamed through the server (Range too),
delete at Twilio and here, and who may do what."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ivr.sim.recordings import add_recording
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.recordings.conftest import Rig

CALL_A, CALL_B, CALL_C = ("CA" + c * 32 for c in "def")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def test_list_filters(rig: Rig) -> None:
    now = time.time()
    old = rig.record(CALL_A, queue="sales", agent="alice", start=now - 3 * 86400)
    mid = rig.record(CALL_B, queue="support", agent="bob", start=now - 86400)
    new = rig.record(CALL_C, queue="sales", agent="bob", start=now - 60)

    def sids(query: str) -> list[str]:
        resp = rig.api("GET", "/api/recordings" + query)
        assert resp.status_code == 200, resp.text
        return [item["sid"] for item in resp.json()]

    assert sids("") == [old.sid, mid.sid, new.sid]  # oldest first
    assert sids(f"?call={CALL_B}") == [mid.sid]
    assert sids("?queue=sales") == [old.sid, new.sid]
    assert sids("?agent=bob") == [mid.sid, new.sid]
    assert sids("?queue=sales&agent=bob") == [new.sid]
    assert sids(f"?from={_iso(now - 2 * 86400)}") == [mid.sid, new.sid]
    assert sids(f"?to={_iso(now - 2 * 86400)}") == [old.sid]
    assert sids(f"?from={_iso(now - 2 * 86400)}&to={_iso(now - 3600)}") == [mid.sid]
    assert sids(f"?call={CALL_C}&agent=alice") == []
    assert sids("?limit=1") == [old.sid]
    item = rig.api("GET", f"/api/recordings?call={CALL_A}").json()[0]
    assert item == {"sid": old.sid, "call": CALL_A, "queue": "sales", "agent": "alice",
                    "start": pytest.approx(old.start, abs=1.5), "duration": 12,
                    "channels": 2, "status": "completed", "source": "dial",
                    "conference": None, "step": None}
    assert rig.api("GET", "/api/recordings?from=yesterday").status_code == 422
    assert rig.api("GET", "/api/recordings?colour=red").status_code == 422


def _no_twilio_in(resp: object, rec_sid: str, sim_url: str) -> None:
    import requests

    assert isinstance(resp, requests.Response)
    exposed = " ".join(f"{k}: {v}" for k, v in resp.headers.items()) + " " + \
        resp.content.decode("latin-1")
    for secret in (sim_url, "api.twilio.com", TEST_AUTH_TOKEN, TEST_ACCOUNT_SID,
                   f"/Recordings/{rec_sid}"):
        assert secret not in exposed


def test_audio_is_streamed_through_the_server(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    mp3 = rig.api("GET", f"/api/recordings/{rec.sid}/audio")
    assert mp3.status_code == 200
    assert mp3.headers["Content-Type"] == "audio/mpeg"
    assert mp3.content == rec.mp3
    assert mp3.headers["Cache-Control"] == "private, no-store"
    _no_twilio_in(mp3, rec.sid, rig.sim.api_url)
    wav = rig.api("GET", f"/api/recordings/{rec.sid}/audio?format=wav")
    assert wav.status_code == 200
    assert wav.headers["Content-Type"] == "audio/wav"
    assert wav.content == rec.wav and wav.content[:4] == b"RIFF"
    _no_twilio_in(wav, rec.sid, rig.sim.api_url)
    # the server fetched it with the account's credentials (the simulator demands them)
    media = [r for r in rig.sim.record.rest_requests if r.path.endswith(rec.sid + ".mp3")]
    assert media and all(r.status == 200 for r in media)
    assert rig.api("GET", f"/api/recordings/{rec.sid}/audio?format=ogg").status_code == 422


def test_audio_range_is_passed_through(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    size = len(rec.mp3)
    part = rig.api("GET", f"/api/recordings/{rec.sid}/audio",
                   headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{size}"
    assert part.content == rec.mp3[100:1100]
    assert part.headers["Accept-Ranges"] == "bytes"
    tail = rig.api("GET", f"/api/recordings/{rec.sid}/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == rec.mp3[-10:]
    beyond = rig.api("GET", f"/api/recordings/{rec.sid}/audio",
                     headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416


def test_access_across_actors(rig: Rig) -> None:
    alices = rig.record(CALL_A, agent="alice")
    audio = f"/api/recordings/{alices.sid}/audio"
    # no token, no desk session: 401 everywhere
    for method, path in (("GET", "/api/recordings"), ("GET", audio),
                         ("DELETE", f"/api/recordings/{alices.sid}")):
        assert rig.api(method, path, admin=False).status_code == 401
    wrong = rig.api("GET", audio, admin=False, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    # the desk session of the agent who took the call may play it
    own = rig.api("GET", audio, admin=False, desk="alice")
    assert own.status_code == 200 and own.content == alices.mp3
    # another agent's desk session may not
    other = rig.api("GET", audio, admin=False, desk="bob")
    assert other.status_code == 403 and "error" in other.json()
    # a desk session may neither list nor delete
    assert rig.api("GET", "/api/recordings", admin=False, desk="alice").status_code == 401
    assert rig.api("DELETE", f"/api/recordings/{alices.sid}", admin=False,
                   desk="alice").status_code == 401
    assert rig.recordings.store.get(alices.sid) is not None
    # unknown recordings: 404 for the admin and for a desk session
    unknown = "RE" + "0" * 32
    assert rig.api("GET", f"/api/recordings/{unknown}/audio").status_code == 404
    assert rig.api("GET", f"/api/recordings/{unknown}/audio", admin=False,
                   desk="alice").status_code == 404
    assert rig.api("DELETE", f"/api/recordings/{unknown}").status_code == 404


def test_delete_at_twilio_and_here(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    kept = rig.record(CALL_B)
    resp = rig.api("DELETE", f"/api/recordings/{rec.sid}")
    assert resp.status_code == 200 and resp.json() == {"sid": rec.sid, "deleted": True}
    assert rec.deleted  # at Twilio
    assert rig.deletes() == [
        f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Recordings/{rec.sid}.json"]
    assert rig.recordings.store.get(rec.sid) is None  # and here
    assert [r["sid"] for r in rig.api("GET", "/api/recordings").json()] == [kept.sid]
    assert rig.api("GET", f"/api/recordings/{rec.sid}/audio").status_code == 404
    assert rig.api("DELETE", f"/api/recordings/{rec.sid}").status_code == 404
    # a late callback of the deleted recording does not bring it back
    assert rig.fire(rec).status == 200
    assert rig.recordings.store.get(rec.sid) is None


def test_delete_of_a_recording_twilio_no_longer_has(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    rec.deleted = True  # deleted in Twilio's console meanwhile
    resp = rig.api("DELETE", f"/api/recordings/{rec.sid}")
    assert resp.status_code == 200
    assert rig.recordings.store.get(rec.sid) is None


def test_delete_when_twilio_refuses_keeps_it(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    rig.sim.auth_token = "rotated"  # our credentials are refused: Twilio answers 401
    resp = rig.api("DELETE", f"/api/recordings/{rec.sid}")
    assert resp.status_code == 502 and "error" in resp.json()
    assert rig.recordings.store.get(rec.sid) is not None
    assert not rec.deleted


def test_audio_gone_at_twilio_is_404(rig: Rig) -> None:
    rec = rig.record(CALL_A)
    rec.deleted = True
    gone = rig.api("GET", f"/api/recordings/{rec.sid}/audio")
    assert gone.status_code == 404 and "error" in gone.json()


def test_openapi_document_has_the_recordings(rig: Rig) -> None:
    doc = rig.api("GET", "/api/openapi.json").json()
    paths = doc["paths"]
    listing = paths["/api/recordings"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"call", "queue", "agent", "from",
                                                           "to"}
    audio = paths["/api/recordings/{sid}/audio"]["get"]
    assert set(audio["responses"]["200"]["content"]) == {"audio/mpeg", "audio/wav"}
    assert {"206", "403", "404"} <= set(audio["responses"])
    assert {"200", "404", "502"} <= set(paths["/api/recordings/{sid}"]["delete"]["responses"])
    from openapi_spec_validator import validate

    validate(doc)


def test_sim_lists_recordings_through_twilio_python(rig: Rig) -> None:
    """The simulator's resource answers twilio-python as Twilio does."""
    rec = add_recording(rig.sim, CALL_A, conference_sid="CF" + "1" * 32, source="Conference")
    add_recording(rig.sim, CALL_B)
    client = rig.live.app.extensions["ivr.twilio"]
    listed = client.recordings.list(call_sid=CALL_A)
    assert [r.sid for r in listed] == [rec.sid]
    assert listed[0].status == "completed" and listed[0].duration == "12"
    assert listed[0].start_time is not None
    by_conf = client.recordings.list(conference_sid="CF" + "1" * 32)
    assert [r.sid for r in by_conf] == [rec.sid]
    assert client.recordings(rec.sid).fetch().call_sid == CALL_A
    assert client.recordings(rec.sid).delete() is True
    assert client.recordings.list(call_sid=CALL_A) == []
