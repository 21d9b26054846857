"""The simulator's Recordings REST API, for call recordings that tests create.

What the server uses of Twilio's Recording resource
(https://www.twilio.com/docs/voice/api/recording):
- `GET /2010-04-01/Accounts/{AccountSid}/Recordings.json` (filters `CallSid`,
  `ConferenceSid`): a page `{"recordings": [...], ...}` as twilio-python reads it;
- `GET .../Recordings/{sid}.json`: one recording; `DELETE` the same: 204, 404 unknown;
- `GET .../Recordings/{sid}` (WAV), `.wav`, `.mp3`: the media, with `Range` answered
  206 as Twilio's media servers do. Media of these recordings asks for the account's
  credentials (Twilio's "HTTP Basic Authentication for media access" setting), so a
  test proves the server sends them; voicemails the `<Record>` verb made stay public.

Tests add a recording with `add_recording(sim, call_sid, ...)` and post its status
callback as Twilio would (signed) with `fire_callback(sim, url, rec)`. `registry(sim)`
has them all. `register(app, sim)` is called by `ivr.sim.rest.make_rest_app`.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from ivr.sim.records import HttpExchange, new_sid

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

API = "/2010-04-01/Accounts/<account>"


def _rfc2822(ts: float) -> str:
    return email.utils.format_datetime(datetime.fromtimestamp(ts, UTC))


@dataclass
class SimRecording:
    sid: str
    call_sid: str
    start: float
    duration: int = 12
    channels: int = 2
    status: str = "completed"  # in-progress, processing, completed, absent, failed
    source: str = "DialVerb"  # Twilio's: DialVerb, Conference, StartCallRecordingAPI, ...
    conference_sid: str | None = None
    mp3: bytes = b""
    wav: bytes = b""
    deleted: bool = False

    def json(self, account_sid: str) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{account_sid}/Recordings/{self.sid}"
        done = self.status == "completed"
        return {
            "account_sid": account_sid, "api_version": "2010-04-01",
            "call_sid": self.call_sid, "conference_sid": self.conference_sid,
            "date_created": _rfc2822(self.start), "date_updated": _rfc2822(self.start),
            "start_time": _rfc2822(self.start),
            "duration": str(self.duration) if done else "-1",
            "sid": self.sid, "price": None, "price_unit": "USD", "status": self.status,
            "channels": self.channels, "source": self.source, "error_code": None,
            "uri": uri + ".json", "encryption_details": None,
            "subresource_uris": {"transcriptions": uri + "/Transcriptions.json"},
            "media_url": "https://api.twilio.com" + uri,
        }


@dataclass
class Registry:
    """The call recordings of one simulator."""

    items: dict[str, SimRecording] = field(default_factory=dict)
    media_auth: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self) -> list[SimRecording]:
        with self.lock:
            return [r for r in self.items.values() if not r.deleted]


_REGISTRIES: weakref.WeakKeyDictionary[TwilioSim, Registry] = weakref.WeakKeyDictionary()


def registry(sim: TwilioSim) -> Registry:
    found = _REGISTRIES.get(sim)
    if found is None:
        found = _REGISTRIES[sim] = Registry()
    return found


def _wav(seconds: int, salt: bytes) -> bytes:
    from ivr.sim.rest import silent_wav

    return silent_wav(min(seconds, 2)) + salt  # trailing bytes: this recording's own


def add_recording(sim: TwilioSim, call_sid: str, *, duration: int = 12, channels: int = 2,
                  status: str = "completed", source: str = "DialVerb",
                  conference_sid: str | None = None, start: float | None = None,
                  sid: str | None = None) -> SimRecording:
    """A recording of `call_sid` that the simulated Twilio keeps (and lists, serves)."""
    rec_sid = sid or new_sid("RE")
    salt = rec_sid.encode() + os.urandom(16)
    rec = SimRecording(
        sid=rec_sid, call_sid=call_sid,
        start=time.time() - duration if start is None else start,
        duration=duration, channels=channels, status=status, source=source,
        conference_sid=conference_sid,
        mp3=b"ID3\x04\x00\x00\x00\x00\x00\x00" + salt + os.urandom(20_000),
        wav=_wav(duration, salt),
    )
    book = registry(sim)
    with book.lock:
        book.items[rec.sid] = rec
    return rec


def callback_params(sim: TwilioSim, rec: SimRecording, status: str | None = None
                    ) -> dict[str, str]:
    """The parameters of Twilio's recording status callback for `rec`."""
    params = {
        "AccountSid": sim.account_sid, "CallSid": rec.call_sid,
        "RecordingSid": rec.sid,
        "RecordingUrl": sim.recording_url(rec.sid),
        "RecordingStatus": status or rec.status,
        "RecordingDuration": str(rec.duration),
        "RecordingChannels": str(rec.channels),
        "RecordingStartTime": _rfc2822(rec.start),
        "RecordingSource": rec.source,
        "RecordingTrack": "both",
    }
    if rec.conference_sid:
        params["ConferenceSid"] = rec.conference_sid
    if (status or rec.status) != "completed":
        params["RecordingDuration"] = "-1" if (status or rec.status) == "in-progress" else "0"
    return params


def fire_callback(sim: TwilioSim, url: str, rec: SimRecording, status: str | None = None
                  ) -> HttpExchange:
    """Post the recording status callback to `url` (signed, as Twilio sends it)."""
    return sim.http(None, url, "POST", callback_params(sim, rec, status),
                    call_sid=rec.call_sid)


# --- the REST API ----------------------------------------------------------------------


def _error(status: int, message: str) -> tuple[Response, int]:
    from ivr.sim.rest import error

    return error(status, 20404 if status == 404 else 20003, message)


def _authorized(sim: TwilioSim, account: str) -> bool:
    auth = request.authorization
    return (auth is not None and auth.username == sim.account_sid
            and auth.password == sim.auth_token and account == sim.account_sid)


def register(app: Flask, sim: TwilioSim) -> None:
    """Add the Recordings resource to the simulator's REST app (and serve the media of
    both these recordings and the `<Record>` verb's voicemails at one route)."""
    book = registry(sim)
    voicemail_media = app.view_functions["recording"]  # rest.py: the voicemails' WAV

    @app.get(API + "/Recordings.json")
    def list_recordings(account: str) -> Any:
        call = request.args.get("CallSid")
        conference = request.args.get("ConferenceSid")
        found = [r for r in book.live()
                 if (call is None or r.call_sid == call)
                 and (conference is None or r.conference_sid == conference)]
        found.sort(key=lambda r: r.start, reverse=True)  # Twilio: newest first
        uri = f"/2010-04-01/Accounts/{sim.account_sid}/Recordings.json"
        return jsonify({
            "recordings": [r.json(sim.account_sid) for r in found],
            "first_page_uri": uri + "?PageSize=50&Page=0", "next_page_uri": None,
            "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0,
            "end": max(len(found) - 1, 0), "uri": uri,
        })

    def media_or_json(account: str, name: str) -> Any:
        sid, _, ext = name.partition(".")
        with book.lock:
            rec = book.items.get(sid)
        if rec is None or rec.deleted:
            if ext != "json":
                return voicemail_media(account=account, name=name)
            return _error(404, f"The requested resource /Recordings/{name} was not found")
        if ext == "json":
            if not _authorized(sim, account):
                return _error(401, "Authenticate")
            return jsonify(rec.json(sim.account_sid))
        if book.media_auth and not _authorized(sim, account):
            return _error(401, "Authenticate")
        if ext not in ("", "wav", "mp3"):
            return _error(404, f"The requested resource /Recordings/{name} was not found")
        data, mimetype = (rec.mp3, "audio/mpeg") if ext == "mp3" else (rec.wav, "audio/x-wav")
        resp = Response(data, mimetype=mimetype)
        return resp.make_conditional(request, accept_ranges=True, complete_length=len(data))

    app.view_functions["recording"] = media_or_json

    @app.delete(API + "/Recordings/<name>")
    def delete_recording(account: str, name: str) -> Any:
        if not _authorized(sim, account):
            return _error(401, "Authenticate")
        sid = name.partition(".")[0]
        with book.lock:
            rec = book.items.get(sid)
            if rec is None or rec.deleted:
                return _error(404, f"The requested resource /Recordings/{name} was not found")
            rec.deleted = True
        return Response(status=204)
