"""The TwiML interpreter: runs voice documents on a call leg the way Twilio does.

Each verb handler cites the Twilio page it follows. A handler either returns
None (go on with the next verb), a `Source` (the next document: a Redirect,
or an action URL with its parameters), or raises (the call or the wait ends).
Modes say which verbs a document may use: a whole call, a queue's waitUrl,
the whisper on a dialed party (`<Number url>`), the `<Queue url>` announcement.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin
from xml.etree import ElementTree as ET

from ivr.sim.legs import Dequeued, HungUp, Interrupt, Leg, Redirected, Source
from ivr.sim.people import Behaviour, Hangup, Record, Silence, Speech
from ivr.sim.records import Bridge, new_sid
from ivr.sim.switch import Handoff, Member

SAY_SECONDS_PER_CHAR = 0.06
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/index.xml"

ALLOWED: dict[str, frozenset[str]] = {
    "call": frozenset(
        {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Record",
         "Enqueue", "Leave", "Dial"}
    ),
    # https://www.twilio.com/docs/voice/twiml/enqueue#attributes-wait-url
    "wait": frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}),
    # https://www.twilio.com/docs/voice/twiml/number#attributes-url
    "whisper": frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Hangup"}),
    # https://www.twilio.com/docs/voice/twiml/queue#attributes-url
    "queue-whisper": frozenset({"Say", "Play", "Pause", "Redirect"}),
}


class LeaveQueue(Exception):
    """<Leave> ran inside a waitUrl document."""


Handler = Callable[[Leg, ET.Element, str, str], "Source | None"]


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext()).strip()


def flag(el: ET.Element, name: str, default: bool) -> bool:
    value = el.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def absolute(doc_url: str, url: str | None) -> str:
    return urljoin(doc_url, url) if url else doc_url


# --- running documents ----------------------------------------------------------------


def run_document(leg: Leg, source: Source, mode: str) -> Source | None:
    """Fetch and run one document; return where the call goes next (None: document ended)."""
    leg.documents += 1
    if leg.documents > leg.sim.max_documents:
        leg.sim.error(f"{leg.sid}: more than {leg.sim.max_documents} documents; ending the call")
        raise HungUp("sim-cap")
    if time.monotonic() - leg.started > leg.sim.max_call_seconds * leg.sim.time_scale:
        leg.sim.error(f"{leg.sid}: longer than max_call_seconds; ending the call")
        raise HungUp("sim-cap")
    leg.check()
    root = leg.fetch_document(source)
    if root is None:
        raise HungUp("application-error")
    doc_url = source.url or leg.current_url
    if mode == "call" and leg.status in ("queued", "ringing"):
        first = root[0] if len(root) else None
        waits = first is not None and first.tag == "Dial" and flag(first, "answerOnBridge", False)
        if (first is None or first.tag != "Reject") and not waits:
            answer(leg)  # answerOnBridge: the caller hears ringing until the bridge
    for el in root:
        leg.check()
        handler = VERBS.get(el.tag)
        if handler is None:
            leg.sim.error(f"{leg.sid}: unknown TwiML verb <{el.tag}> in {doc_url}")
            leg.application_error()
            raise HungUp("application-error")
        if el.tag not in ALLOWED[mode]:
            leg.sim.error(f"{leg.sid}: <{el.tag}> is not allowed in a {mode} document ({doc_url})")
            leg.application_error()
            raise HungUp("application-error")
        nxt = handler(leg, el, doc_url, mode)
        if nxt is not None:
            return nxt
    return None


def answer(leg: Leg) -> None:
    """Twilio answers an inbound call when the first document is not a <Reject>."""
    leg.set_status("in-progress", "answered")
    if leg.caller is not None:
        leg.hang_up_in(leg.caller.hangup_after)


def run_call(leg: Leg, source: Source | None) -> None:
    """Run a whole call: documents one after another, REST redirects, until it ends."""
    status = "completed"
    try:
        while source is not None:
            try:
                source = run_document(leg, source, "call")
            except Redirected as r:
                leg.note("redirected", r.source.url or "twiml")
                source = r.source
    except HungUp as h:
        status = h.status
    except Exception as exc:  # a bug in the simulator must not hang the test
        leg.sim.error(f"{leg.sid}: simulator fault: {exc!r}")
    leg.finish(status)


def run_nested(leg: Leg, source: Source, mode: str) -> None:
    """Run documents in a restricted mode (waitUrl, whisper) until one ends without a jump."""
    nxt: Source | None = source
    while nxt is not None:
        nxt = run_document(leg, nxt, mode)


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


def leave(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/leave — out of the queue, after the <Enqueue>."""
    leg.note("leave")
    if mode == "wait":
        raise LeaveQueue()
    return None  # outside a queue there is nothing to leave


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
        VERBS[child.tag](leg, child, doc_url, mode)
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


# --- bridges --------------------------------------------------------------------------


def stay_in_bridge(
    leg: Leg, bridge: Bridge, peers: list[Leg], time_limit: float | None = None
) -> None:
    """Talk until someone hangs up: our own hangup (or redirect) ends it for the peers too.

    `time_limit` (Dial's timeLimit, simulated seconds) ends the talk from this side.
    """
    leg.note("connected", [p.to if p.direction != "inbound" else p.from_ for p in peers])
    saved = leg.hangup_at
    leg.hang_up_in(leg.talk_limit)
    try:
        ok = leg.wait_until(lambda: bridge.ended is not None, time_limit)
        if not ok and time_limit is not None and bridge.ended is None:
            leg.sim.switch.end_bridge(bridge, leg.sid, peers)  # timeLimit reached
            leg.note("disconnected", "time-limit")
            return
        if not ok:
            leg.sim.error(f"{leg.sid}: bridge lasted past max_call_seconds; hanging up")
            raise HungUp("sim-cap")
    except Interrupt as exc:
        leg.sim.switch.end_bridge(bridge, leg.sid, peers)
        leg.note("disconnected", "self" if isinstance(exc, HungUp) else "redirected")
        raise
    finally:
        if leg.gone is None:
            leg.hangup_at = saved
    leg.note("disconnected", "peer")


# --- Enqueue --------------------------------------------------------------------------


def enqueue(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/enqueue

    The caller hears the waitUrl document in a loop (params QueuePosition,
    QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize, MaxQueueSize) until
    <Leave>, a <Dial><Queue> dequeues them, a REST update moves them, or they
    hang up. The action then gets QueueResult (bridged | leave | hangup |
    redirected | error), QueueSid, QueueTime: right away, or for a bridged
    call once the bridge ends. Without action: the next verb.
    """
    sim = leg.sim
    sw = sim.switch
    name = text_of(el)
    action = el.get("action")
    method = el.get("method", "POST").upper()
    wait_url = el.get("waitUrl")
    wait_method = el.get("waitUrlMethod", "POST").upper()
    queue = sw.queue(name)
    member = sw.join(name, leg)
    leg.in_queue = name
    leg.note("enqueue", name)
    with sim.record.lock:
        leg.record.queue_entries.append((name, member.entered, None, None))
    result = "error"
    queue_time = 0
    picked: Handoff | None = None

    def close(res: str, *, taken: bool = False) -> None:
        nonlocal queue_time
        if not sw.leave(name, member) and member.handoff is not None and not taken:
            fail_handoff(member.handoff)  # a dequeuer took us as we left: let it try the next
            leg.discard_pending(Dequeued)  # and its message must not reach a later queue
        queue_time = int((member.dequeued_at or time.time()) - member.entered)
        leg.in_queue = None
        with sim.record.lock:
            idx = len(leg.record.queue_entries) - 1
            leg.record.queue_entries[idx] = (name, member.entered, time.time(), res)

    def action_params(res: str) -> dict[str, str]:
        return {"QueueResult": res, "QueueSid": queue.sid, "QueueTime": str(queue_time)}

    try:
        try:
            wait_in_queue(leg, name, member, absolute(doc_url, wait_url) if wait_url else None,
                          wait_method)
        except LeaveQueue:
            result = "leave"
            close(result)
        except Dequeued as d:
            handoff = d.handoff
            close("bridged", taken=True)
            picked = handoff
            dequeued(leg, handoff, queue_time)
            result = "bridged"
    except (HungUp, Redirected) as exc:
        if picked is None:
            result = "hangup" if isinstance(exc, HungUp) else "redirected"
            close(result)
        else:
            result = "bridged" if picked.state == "ready" else "hangup"
        if action and (isinstance(exc, HungUp) or sim.enqueue_action_on_redirect):
            leg.post(absolute(doc_url, action), action_params(result), method=method)
        raise
    leg.note("queue-result", result)
    if action:
        return Source(url=absolute(doc_url, action), method=method, params=action_params(result))
    return None


def fail_handoff(handoff: Handoff) -> None:
    with handoff.dequeuer.sim.switch.lock:
        if handoff.state == "pending":
            handoff.state = "failed"
    handoff.dequeuer.poke()


def wait_in_queue(
    leg: Leg, name: str, member: Member, wait_url: str | None, wait_method: str
) -> None:
    """Loop the waitUrl document (or Twilio's default hold music) until something moves us."""
    sw = leg.sim.switch
    queue = sw.queue(name)
    while True:
        started = time.monotonic()
        pos, size, avg = sw.position(name, member)
        params = {
            "QueuePosition": str(pos),
            "QueueSid": queue.sid,
            "QueueTime": str(int(time.time() - member.entered)),
            "AvgQueueTime": str(int(avg)),
            "CurrentQueueSize": str(size),
            "MaxQueueSize": "1000",
        }
        if wait_url:
            run_nested(leg, Source(url=wait_url, method=wait_method, params=params), "wait")
        else:
            leg.note("play", DEFAULT_HOLD_MUSIC)
            leg.sleep(leg.sim.play_seconds)
        if time.monotonic() - started < 0.5 * leg.sim.time_scale:
            leg.sleep(1.0)  # an instant wait document must not hammer the app


def dequeued(leg: Leg, handoff: Handoff, queue_time: int) -> None:
    """Picked from the queue: hear the <Queue url> announcement, then talk to the dequeuer."""
    sw = leg.sim.switch
    leg.note("dequeued", handoff.dequeuer.sid)
    if handoff.url:
        try:
            run_nested(leg, Source(url=handoff.url, method=handoff.method, params={
                "QueueSid": handoff.queue.sid, "QueueTime": str(queue_time),
                "DequeingCallSid": handoff.dequeuer.sid,
            }), "queue-whisper")
        except Interrupt:
            fail_handoff(handoff)
            raise
    with sw.lock:
        abandoned = handoff.state == "abandoned"
        bridge = sw.bridge("queue", [handoff.dequeuer, leg])
        handoff.bridge = bridge
        if not abandoned:
            handoff.state = "ready"
    handoff.dequeuer.poke()
    if abandoned:
        sw.end_bridge(bridge, handoff.dequeuer.sid, [leg])
        return
    stay_in_bridge(leg, bridge, [handoff.dequeuer])


# --- Dial -----------------------------------------------------------------------------


@dataclass
class DialOutcome:
    status: str
    child_sid: str | None = None
    duration: int = 0
    bridged: bool = False
    interrupted: Interrupt | None = None
    extra: dict[str, str] = field(default_factory=dict)


def dial(leg: Leg, el: ET.Element, doc_url: str, mode: str) -> Source | None:
    """https://www.twilio.com/docs/voice/twiml/dial

    action gets DialCallStatus (completed | answered | busy | no-answer | failed
    | canceled), DialCallSid, DialCallDuration, DialBridged; without action the
    document goes on with the next verb. timeout (default 30) is the ringing time.
    answerOnBridge on the first verb keeps an inbound call ringing until the bridge.
    """
    action = el.get("action")
    method = el.get("method", "POST").upper()
    timeout = float(el.get("timeout", "30") or 30)
    caller_id = el.get("callerId") or leg.from_
    time_limit = float(el.get("timeLimit") or 0) or None  # Twilio's default: 4 hours
    record = el.get("record", "do-not-record")
    nouns = list(el)
    for noun in nouns:
        if noun.tag not in ("Number", "Client", "Sip", "Queue", "Conference"):
            leg.sim.error(f"{leg.sid}: <{noun.tag}> is not a <Dial> noun ({doc_url})")
            leg.application_error()
            raise HungUp("application-error")
    queue = next((n for n in nouns if n.tag == "Queue"), None)
    room = next((n for n in nouns if n.tag == "Conference"), None)
    if queue is not None:
        leg.note("dial", {"queue": text_of(queue)})
        outcome = dial_queue(leg, queue, doc_url, timeout)
    elif room is not None:
        leg.note("dial", {"conference": text_of(room)})
        outcome = dial_conference(leg, room)
    else:
        targets: list[Target] = []
        for n in nouns:
            number = text_of(n)
            if n.tag == "Client" and not number.startswith("client:"):
                number = "client:" + number
            targets.append(Target(
                number=number,
                url=absolute(doc_url, n.get("url")) if n.get("url") else None,
                method=n.get("method", "POST").upper(),
                status_callback=absolute(doc_url, n.get("statusCallback"))
                if n.get("statusCallback") else None,
                status_events=frozenset((n.get("statusCallbackEvent") or "completed").split()),
                status_method=n.get("statusCallbackMethod", "POST").upper(),
            ))
        if not nouns and text_of(el):
            targets.append(Target(number=text_of(el)))
        leg.note("dial", {"numbers": [t.number for t in targets], "record": el.get("record"),
                          "callerId": caller_id})
        outcome = dial_numbers(leg, targets, timeout, caller_id, time_limit)
    params = {
        "DialCallStatus": outcome.status,
        "DialCallDuration": str(outcome.duration),
        "DialBridged": "true" if outcome.bridged else "false",
        **outcome.extra,
    }
    if outcome.child_sid:
        params["DialCallSid"] = outcome.child_sid
    if record != "do-not-record" and outcome.bridged:
        # https://www.twilio.com/docs/voice/twiml/dial#record: the action gets the recording.
        rec_sid = new_sid("RE")
        leg.sim.recordings[rec_sid] = float(outcome.duration)
        params.update({"RecordingUrl": leg.sim.recording_url(rec_sid), "RecordingSid": rec_sid,
                       "RecordingDuration": str(outcome.duration)})
    leg.note("dial-result", outcome.status)
    if leg.answered_at is None and outcome.interrupted is None and leg.direction == "inbound":
        answer(leg)  # answerOnBridge without a bridge: the action's TwiML is played
    if outcome.interrupted is not None:
        if action and isinstance(outcome.interrupted, HungUp):
            leg.post(absolute(doc_url, action), params, method=method)  # answer not played
        raise outcome.interrupted
    if action:
        return Source(url=absolute(doc_url, action), method=method, params=params)
    return None


def bridge_seconds(bridge: Bridge | None) -> int:
    if bridge is None:
        return 0
    end = bridge.ended or time.time()
    return int(round(end - bridge.started))


def dial_queue(leg: Leg, noun: ET.Element, doc_url: str, timeout: float) -> DialOutcome:
    """https://www.twilio.com/docs/voice/twiml/queue — bridge to the front caller of the queue;
    an empty queue waits up to the Dial timeout; `url` is played to the dequeued caller."""
    sw = leg.sim.switch
    name = text_of(noun)
    url = absolute(doc_url, noun.get("url")) if noun.get("url") else None
    method = noun.get("method", "POST").upper()
    deadline = time.monotonic() + timeout * leg.sim.time_scale
    handoff: Handoff | None = None
    sw.watch(name, leg, True)
    try:
        while True:
            handoff = sw.pop(name, leg, url, method)
            if handoff is None:
                remaining = (deadline - time.monotonic()) / leg.sim.time_scale
                if remaining <= 0:
                    return DialOutcome("no-answer")
                leg.wait_until(lambda: sw.size(name) > 0, remaining)
                continue
            handoff.member.leg.interrupt(Dequeued(handoff))
            def settled(h: Handoff = handoff) -> bool:
                return h.state != "pending"

            leg.wait_until(settled, None)
            if handoff.state == "ready":
                break
    except Interrupt as exc:
        if handoff is not None:
            with sw.lock:
                if handoff.state == "pending":
                    handoff.state = "abandoned"
        return DialOutcome("canceled", interrupted=exc)
    finally:
        sw.watch(name, leg, False)
    member = handoff.member.leg
    assert handoff.bridge is not None
    try:
        stay_in_bridge(leg, handoff.bridge, [member])
    except Interrupt as exc:
        return DialOutcome("completed", member.sid, bridge_seconds(handoff.bridge), True, exc)
    return DialOutcome("completed", member.sid, bridge_seconds(handoff.bridge), True,
                       extra={"QueueSid": handoff.queue.sid})


def dial_conference(leg: Leg, noun: ET.Element) -> DialOutcome:
    """https://www.twilio.com/docs/voice/twiml/conference — everyone in the same room talks;
    startConferenceOnEnter (default true), endConferenceOnExit (default false)."""
    sw = leg.sim.switch
    name = text_of(noun)
    room = sw.enter_room(
        name, leg, start=flag(noun, "startConferenceOnEnter", True),
        end=flag(noun, "endConferenceOnExit", False),
    )
    joined = time.time()
    saved = leg.hangup_at
    limit_set = False
    try:
        while True:
            talking = sw.talking(room)
            if talking and not limit_set:
                leg.note("connected", [s for s in room.participants if s != leg.sid])
                leg.hang_up_in(leg.talk_limit)
                limit_set = True
            if room.ended:
                break
            def changed(was: bool = talking) -> bool:
                return room.ended or sw.talking(room) != was

            if not leg.wait_until(changed, None):
                leg.sim.error(f"{leg.sid}: conference lasted past max_call_seconds")
                raise HungUp("sim-cap")
    except Interrupt as exc:
        sw.leave_room(room, leg)
        return DialOutcome("answered", duration=int(round(time.time() - joined)),
                           bridged=limit_set, interrupted=exc,
                           extra={"ConferenceSid": room.sid})
    finally:
        if leg.gone is None:
            leg.hangup_at = saved
    sw.leave_room(room, leg)
    leg.note("disconnected", "conference-ended")
    return DialOutcome("answered", duration=int(round(time.time() - joined)), bridged=limit_set,
                       extra={"ConferenceSid": room.sid})


class DialAttempt:
    """The numbers of one <Dial> ringing at once: the first to answer and pass the whisper wins."""

    def __init__(self, parent: Leg) -> None:
        self.parent = parent
        self.lock = threading.Lock()
        self.children: list[Leg] = []
        self.results: dict[str, str] = {}
        self.order: list[str] = []
        self.decided = False
        self.winner: Leg | None = None
        self.bridge: Bridge | None = None

    def report(self, child: Leg, result: str) -> None:
        with self.lock:
            self.results[child.sid] = result
            self.order.append(child.sid)
        self.parent.poke()

    def ready(self) -> Leg | None:
        with self.lock:
            for sid in self.order:
                if self.results.get(sid) == "ready":
                    return next(c for c in self.children if c.sid == sid)
        return None

    def all_reported(self) -> bool:
        with self.lock:
            return len(self.results) >= len(self.children)

    def close(self, winner: Leg | None, bridge: Bridge | None) -> None:
        with self.lock:
            self.decided = True
            self.winner = winner
            self.bridge = bridge
        for child in self.children:
            if child is not winner:
                child.interrupt(HungUp("dial-closed", status="canceled"))
            child.poke()

    def outcome_without_winner(self) -> str:
        values = [v for v in self.results.values() if v != "ready"]
        if values and all(v == "busy" for v in values):
            return "busy"
        if values and all(v == "failed" for v in values):
            return "failed"
        return "no-answer"


@dataclass
class Target:
    """One <Number>/<Client>/<Sip> of a <Dial>."""

    number: str
    url: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset({"completed"})
    status_method: str = "POST"


def dial_numbers(
    leg: Leg, targets: list[Target], timeout: float, caller_id: str,
    time_limit: float | None = None,
) -> DialOutcome:
    """https://www.twilio.com/docs/voice/twiml/number — ring every number at once; a `url`
    whisper runs on the answering phone before bridging; hanging up in it declines;
    statusCallback/statusCallbackEvent report the dialed leg's progress."""
    sim = leg.sim
    attempt = DialAttempt(leg)
    for t in targets:
        child = sim.new_leg(from_=caller_id, to=t.number, direction="outbound-dial", parent=leg,
                            status_callback=t.status_callback, status_events=t.status_events,
                            status_method=t.status_method)
        attempt.children.append(child)
    for child, t in zip(attempt.children, targets, strict=True):
        sim.start_thread(child, functools.partial(child_leg, child, attempt, t.url, t.method,
                                                  timeout))
    if not attempt.children:
        return DialOutcome("failed")
    try:
        leg.wait_until(lambda: attempt.ready() is not None or attempt.all_reported(), None)
    except Interrupt as exc:
        attempt.close(None, None)
        return DialOutcome("canceled", interrupted=exc)
    winner = attempt.ready()
    single = attempt.children[0].sid if len(attempt.children) == 1 else None
    if winner is None:
        attempt.close(None, None)
        return DialOutcome(attempt.outcome_without_winner(), single)
    if leg.answered_at is None:
        answer(leg)  # answerOnBridge: answered when the dialed party is
    bridge = sim.switch.bridge("dial", [leg, winner])
    attempt.close(winner, bridge)
    try:
        stay_in_bridge(leg, bridge, [winner], time_limit)
    except Interrupt as exc:
        return DialOutcome("completed", winner.sid, bridge_seconds(bridge), True, exc)
    return DialOutcome("completed", winner.sid, bridge_seconds(bridge), True)


def ring(leg: Leg, timeout: float) -> str:
    """Ring the phone at `leg.to`: answered | busy | failed | no-answer | canceled.

    A REST redirect while ringing just changes the TwiML fetched on answer.
    """
    outcome = _ring(leg, timeout)
    if outcome != "answered":
        leg.note("not-answered", outcome)
    return outcome


def _ring(leg: Leg, timeout: float) -> str:
    phone = leg.phone
    leg.set_status("ringing", "ringing")
    leg.note("ringing", leg.to)

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds * leg.sim.time_scale
        while True:
            remaining = (deadline - time.monotonic()) / leg.sim.time_scale
            if remaining <= 0:
                return
            try:
                leg.sleep(remaining)
                return
            except Redirected as r:
                leg.pending_source = r.source

    try:
        if phone is None:
            wait(timeout)
            return "no-answer"
        behaviour: Behaviour = phone.next_behaviour()
        if behaviour == "failed":
            return "failed"
        if behaviour == "busy" or not phone.claim(leg.sid):
            wait(0.5)
            return "busy"
        if phone.on_ring is not None:
            behaviour = phone.on_ring(leg.sid, leg.from_, leg.to) or behaviour
            leg.check()
        if behaviour in ("busy", "failed"):
            return behaviour
        if behaviour == "no-answer" or phone.ring_delay >= timeout:
            wait(timeout)
            return "no-answer"
        wait(phone.ring_delay)
        leg.script = phone.script(behaviour)
        if behaviour == "decline" and (phone.live is not None or phone.plan):
            leg.declining = True  # decided at the ring (console, plan): hang up at the whisper
        return "answered"
    except HungUp:
        return "canceled"


def child_leg(child: Leg, attempt: DialAttempt, url: str | None, method: str,
              timeout: float) -> None:
    """The dialed party's side of a <Dial><Number>: ring, whisper, talk."""
    status = "completed"
    try:
        outcome = ring(child, timeout)
        if outcome != "answered":
            attempt.report(child, outcome)
            child.finish(outcome)
            return
        child.set_status("in-progress", "answered")
        if url:
            try:
                run_nested(child, Source(url=url, method=method), "whisper")
            except (HungUp, Redirected):
                attempt.report(child, "declined")
                child.finish("completed")
                return
        attempt.report(child, "ready")
        child.wait_until(lambda: attempt.decided, None)
        if attempt.winner is child and attempt.bridge is not None:
            stay_in_bridge(child, attempt.bridge, [attempt.parent])
    except HungUp as h:
        status = "completed" if child.answered_at else h.status
        with attempt.lock:
            known = child.sid in attempt.results
        if not known:
            attempt.report(child, "canceled")
    except Exception as exc:  # never leave the parent waiting on a crashed child
        child.sim.error(f"{child.sid}: simulator fault: {exc!r}")
        attempt.report(child, "failed")
    child.finish(status)


VERBS: dict[str, Handler] = {
    "Say": say,
    "Play": play,
    "Pause": pause,
    "Gather": gather,
    "Redirect": redirect,
    "Hangup": hangup,
    "Reject": reject,
    "Record": record,
    "Enqueue": enqueue,
    "Leave": leave,
    "Dial": dial,
}
