"""The verbs that play, listen and move on: Say, Play, Pause, Hangup, Reject,
Redirect, Gather, Record. Each handler cites the Twilio page it follows."""

from __future__ import annotations

import time
from xml.etree import ElementTree as ET

from ivr.sim.documents import SAY_SECONDS_PER_CHAR, absolute, flag, text_of
from ivr.sim.legs import HungUp, Leg, Source
from ivr.sim.people import Hangup, Record, Silence, Speech
from ivr.sim.records import new_sid

# --- simple verbs ---------------------------------------------------------------------


def say(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/say — text, voice, language, loop (0 = repeat)."""
    text = text_of(el)
    loop = int(el.get("loop", "1") or 1)
    seconds = len(text) * SAY_SECONDS_PER_CHAR
    event = ("say", text, el.get("voice"), el.get("language"))
    if 0 < loop <= 10:
        for _ in range(loop):
            leg.note(*event)
            leg.sleep(seconds)
    else:
        leg.note(*event)
        leg.sleep(seconds * (loop or 1000))
    return None


def play(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/play — url, loop (0 = repeat), digits."""
    loop = int(el.get("loop", "1") or 1)
    digits = el.get("digits")
    if digits:
        leg.note("play_digits", digits)
        leg.sleep(0.2 * len(digits))
        return None
    url = absolute(doc_url, text_of(el))
    if not leg.sim.media_ok(url):
        leg.note("play-error", url)
        return None  # Twilio skips media it cannot fetch (and logs an error)
    if 0 < loop <= 10:
        for _ in range(loop):
            leg.note("play", url)
            leg.sleep(leg.sim.play_seconds)
    else:
        leg.note("play", url)
        leg.sleep(leg.sim.play_seconds * (loop or 1000))
    return None


def pause(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/pause — length in seconds, default 1."""
    length = float(el.get("length", "1") or 1)
    leg.note("pause", length)
    leg.sleep(length)
    return None


def hangup(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/hangup — ends the call."""
    leg.note("hangup")
    raise HungUp("app")


def reject(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/reject — not answered: busy, or no-answer
    for reason="rejected" (the default). After answering it is a plain hangup."""
    reason = el.get("reason", "rejected")
    leg.note("reject", reason)
    if leg.answered_at is not None:
        raise HungUp("app")
    raise HungUp("app", status="busy" if reason == "busy" else "no-answer")


def redirect(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/redirect — fetch the next document (method, POST)."""
    url = absolute(doc_url, text_of(el))
    leg.note("redirect", url)
    return Source(url=url, method=el.get("method", "POST").upper())



# --- Gather ---------------------------------------------------------------------------


def gather(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/gather

    input dtmf|speech|"dtmf speech" (default dtmf), numDigits, finishOnKey (default #,
    not part of Digits), timeout (default 5), action (default: this document's URL),
    method (POST), actionOnEmptyResult. Nested Say/Play/Pause play first. Without
    input Twilio falls through to the next verb.
    """
    kinds = set((el.get("input") or "dtmf").split())
    num_digits = int(el.get("numDigits") or 0) or None
    finish = el.get("finishOnKey", "#")
    timeout = float(el.get("timeout", "5") or 5)
    action = absolute(doc_url, el.get("action"))
    method = el.get("method", "POST").upper()
    on_empty = flag(el, "actionOnEmptyResult", False)
    heard: list[str] = []
    for child in el:
        if child.tag not in ("Say", "Play", "Pause"):
            leg.sim.error(f"{leg.sid}: <{child.tag}> cannot be nested in <Gather> ({doc_url})")
            leg.application_error()
            raise HungUp("application-error")
        if child.tag == "Say":
            heard.append(text_of(child))
        NESTED[child.tag](leg, child, doc_url, mode)
    leg.note("gather", {
        "input": " ".join(sorted(kinds)), "numDigits": num_digits, "action": action,
        "hints": el.get("hints"), "language": el.get("language"),
    })
    reply = leg.ask("gather", {"prompt": " ".join(heard), "input": " ".join(sorted(kinds)),
                               "timeout": f"{timeout:g}", "mode": mode})
    params: dict[str, str] | None = None
    if isinstance(reply, Hangup):
        leg.note("caller-hangup")
        raise HungUp("person")
    if isinstance(reply, str) and "dtmf" in kinds:
        digits, finished_on = "", ""
        for ch in reply:
            if finish and ch == finish[0]:
                finished_on = ch
                break
            digits += ch
            if num_digits and len(digits) >= num_digits:
                break
        leg.sleep(0.3 * max(len(reply), 1))
        if not finished_on and not (num_digits and len(digits) >= num_digits):
            leg.sleep(timeout)  # Twilio waits out the timeout, then submits what it has
        leg.note("pressed", digits + finished_on)
        if digits or on_empty:
            params = {"Digits": digits}
            if finished_on:
                params["FinishedOnKey"] = finished_on
    elif isinstance(reply, Speech) and "speech" in kinds:
        leg.sleep(len(reply.text) * SAY_SECONDS_PER_CHAR + 1.0)
        leg.note("spoke", reply.text)
        params = {"SpeechResult": reply.text, "Confidence": f"{reply.confidence:.2f}"}
    else:
        if not isinstance(reply, Silence):
            leg.note("ignored", reply)  # keys at a speech-only Gather, a Record() script item...
        leg.sleep(timeout)
        leg.note("no-input")
        if on_empty:
            params = {}
    if params is None:
        return None
    return Source(url=action, method=method, params=params)


#: What a <Gather> may play while it listens.
NESTED = {"Say": say, "Play": play, "Pause": pause}


# --- Record ---------------------------------------------------------------------------


def record(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/record

    action (default: this document's URL) gets RecordingUrl, RecordingSid,
    RecordingDuration and Digits (the finishing key, or "hangup"). An empty
    recording skips the action and goes on with the next verb. transcribe /
    transcribeCallback and recordingStatusCallback are posted afterwards.
    """
    sim = leg.sim
    action = absolute(doc_url, el.get("action"))
    method = el.get("method", "POST").upper()
    timeout = float(el.get("timeout", "5") or 5)
    max_length = float(el.get("maxLength", "3600") or 3600)
    finish_keys = el.get("finishOnKey", "1234567890*#")
    transcribe_cb = el.get("transcribeCallback")
    transcribe = flag(el, "transcribe", False) or bool(transcribe_cb)
    status_cb = el.get("recordingStatusCallback")
    status_method = el.get("recordingStatusCallbackMethod", "POST").upper()
    if flag(el, "playBeep", True):
        leg.note("beep")
    reply = leg.ask("record", {"maxLength": str(int(max_length))})
    if isinstance(reply, Hangup):
        leg.note("caller-hangup")
        raise HungUp("person")
    if not isinstance(reply, Record):
        if not isinstance(reply, Silence):
            leg.note("ignored", reply)
        leg.sleep(timeout)
        leg.note("record", 0.0, None)
        return None  # empty recording: Twilio goes on with the next verb
    duration = min(reply.duration, max_length)
    leg.sleep(duration)
    ended_by: str | None = reply.finish
    if ended_by not in (None, "hangup") and (not finish_keys or ended_by not in finish_keys):
        ended_by = None
    if ended_by is None and duration < max_length:
        leg.sleep(timeout)  # silence ends it
    rec_sid = new_sid("RE")
    rec_url = sim.recording_url(rec_sid)
    sim.recordings[rec_sid] = duration
    leg.note("record", duration, rec_url)
    params = {
        "RecordingUrl": rec_url,
        "RecordingSid": rec_sid,
        "RecordingDuration": str(int(round(duration))),
    }
    if ended_by:
        params["Digits"] = ended_by

    def callbacks() -> None:
        time.sleep(0.05)  # after the action, as Twilio posts them asynchronously
        base = {"AccountSid": sim.account_sid, "CallSid": leg.sid, "RecordingSid": rec_sid,
                "RecordingUrl": rec_url}
        if status_cb:
            sim.http(None, absolute(doc_url, status_cb), status_method, {
                **base, "RecordingStatus": "completed",
                "RecordingDuration": str(int(round(duration))), "RecordingChannels": "1",
                "RecordingSource": "RecordVerb", "RecordingStartTime": "", "ErrorCode": "0",
            }, call_sid=leg.sid, into=leg.requests)
        if transcribe and transcribe_cb:
            tr_sid = new_sid("TR")
            # Its own connection: the call's session belongs to the call's thread.
            sim.http(None, absolute(doc_url, transcribe_cb), "POST", {
                **leg.base_params(),
                "RecordingSid": rec_sid, "RecordingUrl": rec_url,
                "TranscriptionSid": tr_sid,
                "TranscriptionText": reply.transcription or "",
                "TranscriptionStatus": "completed" if reply.transcription else "failed",
                "TranscriptionUrl": f"{sim.api_url}/2010-04-01/Accounts/{sim.account_sid}"
                                    f"/Transcriptions/{tr_sid}",
                "TranscriptionType": "fast",
            }, call_sid=leg.sid, into=leg.requests)

    sim.background(leg, callbacks)
    if ended_by == "hangup":
        leg.note("caller-hangup")
        leg.set_gone(HungUp("person"))
        leg.post(action, params, method=method)  # Twilio posts it; the answer is not played
        raise HungUp("person")
    return Source(url=action, method=method, params=params)

