"""Conference recordings: `<Conference record="record-from-start">`, their recording status
callbacks, and the Conference Recordings REST resource.

https://www.twilio.com/docs/voice/twiml/conference#record : the first participant whose
noun says `record="record-from-start"` sets the conference's recording (with its
`recordingStatusCallback`, `recordingStatusCallbackEvent` — in-progress, completed,
absent — and `recordingStatusCallbackMethod`); recording begins when the first two
participants are bridged and ends with the conference. One mixed channel (Twilio does not
record conferences in dual channel).

https://www.twilio.com/docs/voice/api/conference-recording-resource : list
(`GET .../Conferences/{CF}/Recordings.json`), fetch, update (`Status` = paused |
in-progress | stopped, `PauseBehavior` = skip | silence, default silence).

What the simulator keeps of a recording: `spans`, the [start, end] wall-clock intervals
that were recorded; the duration is their sum (rounded to seconds) with `skip`, or the
whole time with `silence` (the silent part is then `silenced`). `recorded_while(t0, t1)`
tells a test whether audio said between t0 and t1 is in the recording: anything said
while paused is absent. The recording is kept in the Recordings registry
(ivr/sim/recordings.py: listed, served, deleted like any other).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from ivr.sim.documents import absolute
from ivr.sim.recordings import SimRecording, add_recording, callback_params, registry

if TYPE_CHECKING:
    from ivr.sim.legs import Leg
    from ivr.sim.switch import Room
    from ivr.sim.twilio import TwilioSim


@dataclass
class RoomRecording:
    """One conference's recording settings, and its recording once started."""

    callback: str | None
    events: frozenset[str]
    method: str = "POST"
    rec: SimRecording | None = None
    spans: list[list[float]] = field(default_factory=list)  # [start, end]; end < 0: open
    silenced: list[list[float]] = field(default_factory=list)  # paused with `silence`
    paused_since: float | None = None
    behavior: str = "silence"
    done: bool = False

    def duration(self, now: float | None = None) -> float:
        at = time.time() if now is None else now
        total = sum((at if e < 0 else e) - s for s, e in self.spans)
        if self.behavior == "silence" or self.silenced:
            total += sum((at if e < 0 else e) - s for s, e in self.silenced)
        return total

    def recorded_while(self, t0: float, t1: float) -> bool:
        """Whether any audio from [t0, t1] is in the recording (not paused then)."""
        return any(s < t1 and (e < 0 or e > t0) for s, e in self.spans)


_LOCK = threading.Lock()


def of(room: Room) -> RoomRecording | None:
    found: RoomRecording | None = room.recording
    return found


def configure(room: Room, noun: ET.Element, doc_url: str) -> None:
    """A participant's noun joined the room: the first to ask for a recording sets it."""
    if (noun.get("record") or "").lower() != "record-from-start":
        return
    callback = noun.get("recordingStatusCallback")
    words = (noun.get("recordingStatusCallbackEvent") or "completed").replace(",", " ")
    with _LOCK:
        if of(room) is not None:
            return
        room.recording = RoomRecording(
            callback=absolute(doc_url, callback) if callback else None,
            events=frozenset(words.split()),
            method=(noun.get("recordingStatusCallbackMethod") or "POST").upper())


def _send(sim: TwilioSim, rr: RoomRecording, status: str, leg: Leg | None) -> None:
    if not rr.callback or rr.rec is None or status not in rr.events:
        return
    params = callback_params(sim, rr.rec, status)
    params.pop("CallSid", None)  # a conference's recording belongs to no one call
    url, method = rr.callback, rr.method

    def send() -> None:
        sim.http(None, url, method, params, call_sid=None)

    if leg is not None:
        sim.background(leg, send)
    else:
        threading.Thread(target=send, daemon=True).start()


def maybe_start(sim: TwilioSim, room: Room, leg: Leg | None = None) -> None:
    """Two participants are bridged: a configured recording starts (once)."""
    rr = of(room)
    if rr is None:
        return
    with _LOCK:
        if rr.rec is not None or rr.done:
            return
        now = time.time()
        rr.rec = add_recording(sim, "", duration=0, channels=1, status="in-progress",
                               source="Conference", conference_sid=room.sid, start=now)
        rr.spans.append([now, -1.0])
    _send(sim, rr, "in-progress", leg)


def finish(sim: TwilioSim, room: Room, leg: Leg | None = None) -> None:
    """The conference ended: its recording is complete (absent when nothing was heard)."""
    rr = of(room)
    if rr is None:
        return
    with _LOCK:
        if rr.rec is None or rr.done:
            if rr.rec is None:
                rr.done = True
            return
        now = time.time()
        _close(rr, now)
        rr.done = True
        seconds = int(round(rr.duration(now)))
        rr.rec.duration = seconds
        rr.rec.status = "completed" if seconds > 0 else "absent"
    _send(sim, rr, rr.rec.status, leg)


def _close(rr: RoomRecording, now: float) -> None:
    for span in (*rr.spans, *rr.silenced):
        if span[1] < 0:
            span[1] = now


def set_status(rr: RoomRecording, status: str, behavior: str | None) -> str | None:
    """The REST update; an error message, or None."""
    with _LOCK:
        if rr.rec is None or rr.done or rr.rec.status not in ("in-progress", "paused"):
            return "the recording is not in progress"
        now = time.time()
        if status == "paused" and rr.rec.status == "in-progress":
            _close(rr, now)
            rr.behavior = behavior or "silence"
            if rr.behavior == "silence":
                rr.silenced.append([now, -1.0])
            rr.rec.status = "paused"
        elif status == "in-progress" and rr.rec.status == "paused":
            _close(rr, now)
            rr.spans.append([now, -1.0])
            rr.rec.status = "in-progress"
        elif status == "stopped":
            _close(rr, now)
            rr.rec.status = "stopped"
        return None


def rest_json(sim: TwilioSim, rr: RoomRecording) -> dict[str, Any]:
    assert rr.rec is not None
    out = rr.rec.json(sim.account_sid)
    out["status"] = rr.rec.status
    out["duration"] = str(rr.rec.duration) if rr.rec.status in ("completed", "absent") else None
    out["call_sid"] = None
    out["uri"] = (f"/2010-04-01/Accounts/{sim.account_sid}/Conferences/"
                  f"{rr.rec.conference_sid}/Recordings/{rr.rec.sid}.json")
    return out


def recordings_of(sim: TwilioSim, conference_sid: str) -> list[RoomRecording]:
    """The recordings of one conference (the simulator keeps at most one per room)."""
    room = sim.switch.room_named(conference_sid)
    rr = of(room) if room is not None else None
    if rr is None or rr.rec is None or rr.rec.sid not in registry(sim).items:
        return []
    return [rr]
