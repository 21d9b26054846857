"""Dial and its nouns (Number, Client, Sip, Queue, Conference), and ringing the
phones the app calls: the dialed party's side of a call."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from ivr.sim import conference, dial_recording
from ivr.sim.documents import absolute, answer, run_nested, text_of
from ivr.sim.legs import Dequeued, HungUp, Interrupt, Leg, Redirected, Source
from ivr.sim.people import Behaviour
from ivr.sim.queueing import stay_in_bridge
from ivr.sim.records import Bridge, new_sid
from ivr.sim.switch import Handoff


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
        outcome = dial_conference(leg, room, doc_url)
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
        recording = dial_recording.configure(el, doc_url)  # ivr/sim/dial_recording.py
        if recording is not None and recording.start_on == "ringing" and targets:
            dial_recording.start(leg, recording)
        on_bridge = (functools.partial(dial_recording.bridged, leg, recording)
                     if recording is not None else None)
        outcome = dial_numbers(leg, targets, timeout, caller_id, time_limit, on_bridge)
        made = dial_recording.finish(leg, recording) if recording is not None else None
        if made is not None:
            outcome.extra.update({"RecordingUrl": leg.sim.recording_url(made.sid),
                                  "RecordingSid": made.sid,
                                  "RecordingDuration": str(made.duration)})
    params = {
        "DialCallStatus": outcome.status,
        "DialCallDuration": str(outcome.duration),
        "DialBridged": "true" if outcome.bridged else "false",
        **outcome.extra,
    }
    if outcome.child_sid:
        params["DialCallSid"] = outcome.child_sid
    if record != "do-not-record" and outcome.bridged and "RecordingSid" not in params:
        # https://www.twilio.com/docs/voice/twiml/dial#record: the action gets the recording
        # (a <Queue> Dial's: a placeholder; Numbers' are made by dial_recording).
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


def dial_conference(leg: Leg, noun: ET.Element, doc_url: str) -> DialOutcome:
    """https://www.twilio.com/docs/voice/twiml/conference (ivr/sim/conference.py): the Dial
    of a conference reports `answered` with the ConferenceSid when it ends."""
    room, talked, joined, exc = conference.dial_conference(leg, noun, doc_url)
    return DialOutcome("answered", duration=int(round(time.time() - joined)), bridged=talked,
                       interrupted=exc, extra={"ConferenceSid": room.sid})


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
    time_limit: float | None = None, on_bridge: Callable[[Bridge], None] | None = None,
) -> DialOutcome:
    """https://www.twilio.com/docs/voice/twiml/number — ring every number at once; a `url`
    whisper runs on the answering phone before bridging; hanging up in it declines;
    statusCallback/statusCallbackEvent report the dialed leg's progress. `on_bridge` is
    told when the winner is bridged (a recording from the answer starts then)."""
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
    if on_bridge is not None:
        on_bridge(bridge)
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
    leg.ring_timeout = timeout
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

