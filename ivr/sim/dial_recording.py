"""Call recordings of `<Dial record="...">` with `<Number>`, `<Client>` or `<Sip>` nouns.

https://www.twilio.com/docs/voice/twiml/dial#record : `record` is `do-not-record` (the
default), `record-from-answer`, `record-from-ringing`, or either with `-dual`: from the
dialled party's answer (or from the start of ringing) until the Dial ends, the two
parties mixed into one channel, or (`-dual`) the caller on one channel and the dialled
party on the other. `recordingStatusCallback`, `recordingStatusCallbackMethod` (POST)
and `recordingStatusCallbackEvent` (`in-progress`, `completed`, `absent`; default
`completed`) say where Twilio posts the recording's status; its CallSid "always refers
to the parent leg of a two-leg call" (the one that ran the `<Dial>`:
https://www.twilio.com/docs/voice/twiml/recording) and its RecordingSource is `DialVerb`. The
action URL gets RecordingUrl, RecordingSid and RecordingDuration too.

What the simulator does: the recording is made when the Dial starts ringing (`-ringing`)
or when the bridge starts (`-answer`; a Dial nobody answers makes none). It ends with the
Dial: its duration is the bridge's (DialCallDuration, wall-clock seconds, as every
duration Twilio reports here), plus the ringing for `-ringing`; 0 seconds is `absent`.
The status callbacks are signed like every webhook and posted in the background (the
call goes on meanwhile, as at Twilio). The recording joins the Recordings registry
(ivr/sim/recordings.py: listed by CallSid, fetched, served, deleted like any other).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from ivr.sim.documents import absolute
from ivr.sim.recordings import SimRecording, add_recording, callback_params

if TYPE_CHECKING:
    from ivr.sim.legs import Leg
    from ivr.sim.records import Bridge

MODES = ("record-from-answer", "record-from-ringing")
SOURCE = "DialVerb"


@dataclass
class DialRecording:
    """One `<Dial>`'s recording settings, and its recording once started."""

    start_on: str  # "answer" | "ringing"
    channels: int  # 1 (mono) or 2 (dual)
    callback: str | None
    events: frozenset[str]
    method: str = "POST"
    rec: SimRecording | None = None
    started: float | None = None
    bridge: Bridge | None = None


def configure(el: ET.Element, doc_url: str) -> DialRecording | None:
    """The recording a `<Dial>` asks for (None: `do-not-record` or a value Twilio does not
    know, which it ignores)."""
    value = (el.get("record") or "do-not-record").strip().lower()
    dual = value.endswith("-dual")
    mode = value.removesuffix("-dual")
    if mode not in MODES:
        return None
    callback = el.get("recordingStatusCallback")
    words = (el.get("recordingStatusCallbackEvent") or "completed").replace(",", " ")
    return DialRecording(
        start_on=mode.rsplit("-", 1)[1], channels=2 if dual else 1,
        callback=absolute(doc_url, callback) if callback else None,
        events=frozenset(words.split()),
        method=(el.get("recordingStatusCallbackMethod") or "POST").upper())


def start(leg: Leg, dr: DialRecording, at: float | None = None) -> None:
    """Recording starts (once): the registry gets it in progress; `in-progress` is posted."""
    if dr.rec is not None:
        return
    dr.started = time.time() if at is None else at
    dr.rec = add_recording(leg.sim, leg.sid, duration=0, channels=dr.channels,
                           status="in-progress", source=SOURCE, start=dr.started)
    leg.note("dial-recording", dr.rec.sid)
    _send(leg, dr, "in-progress")


def bridged(leg: Leg, dr: DialRecording, bridge: Bridge) -> None:
    """The dialled party answered and the two talk: `-answer` recordings start now."""
    dr.bridge = bridge
    if dr.start_on == "answer":
        start(leg, dr, bridge.started)


def finish(leg: Leg, dr: DialRecording) -> SimRecording | None:
    """The Dial ended: its recording (if one started) is complete, or absent at 0 s."""
    rec = dr.rec
    if rec is None or rec.status not in ("in-progress", "paused"):
        return None
    assert dr.started is not None
    if dr.bridge is not None:
        end = dr.bridge.ended or time.time()
        talked = int(round(end - dr.bridge.started))  # the DialCallDuration
        rang = int(round(dr.bridge.started - dr.started)) if dr.start_on == "ringing" else 0
        seconds = talked + rang
    else:
        seconds = int(round(time.time() - dr.started))
    rec.duration = max(seconds, 0)
    rec.status = "completed" if rec.duration > 0 else "absent"
    _send(leg, dr, rec.status)
    return rec


def _send(leg: Leg, dr: DialRecording, status: str) -> None:
    if not dr.callback or dr.rec is None or status not in dr.events:
        return
    params = callback_params(leg.sim, dr.rec, status)
    url, method, sim = dr.callback, dr.method, leg.sim

    def send() -> None:
        sim.http(None, url, method, params, call_sid=leg.sid)

    sim.background(leg, send)
