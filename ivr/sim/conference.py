"""<Dial><Conference> on the participant's side, and the conference status callbacks.

https://www.twilio.com/docs/voice/twiml/conference — startConferenceOnEnter
(default true), endConferenceOnExit (default false), muted, beep, waitUrl
(heard until the conference starts), coach (the call sid this participant
coaches), statusCallback + statusCallbackEvent (start end join leave mute hold
modify; the first participant that names a statusCallback sets the
conference's). A participant stays until they hang up, the conference ends,
they are removed through the Participants REST resource, or the call is
redirected by REST; in the first two and the third the <Dial> ends and the
call goes on with the Dial action (DialCallStatus `answered`, ConferenceSid).

Status callback parameters (https://www.twilio.com/docs/voice/api/conference-resource
"statusCallback"): ConferenceSid, FriendlyName, AccountSid, SequenceNumber,
Timestamp, StatusCallbackEvent (conference-start | conference-end |
participant-join | participant-leave | participant-hold | participant-unhold |
participant-mute | participant-unmute | participant-modify), and for
participant events CallSid, Muted, Hold, Coaching, EndConferenceOnExit,
StartConferenceOnEnter; ReasonConferenceEnded and CallSidEndingConference at
the end. Twilio posts them asynchronously (each in its own thread here).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from ivr.sim import conference_recording
from ivr.sim.documents import absolute, flag, text_of
from ivr.sim.legs import HungUp, Interrupt, Leg, rfc2822_now
from ivr.sim.switch import DEFAULT_CONFERENCE_MUSIC, Participant, Room

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

#: statusCallbackEvent word -> the StatusCallbackEvent values it asks for.
EVENT_WORDS = {
    "start": ("conference-start",),
    "end": ("conference-end",),
    "join": ("participant-join",),
    "leave": ("participant-leave",),
    "mute": ("participant-mute", "participant-unmute"),
    "hold": ("participant-hold", "participant-unhold"),
    "modify": ("participant-modify",),
}


def wanted(words: str | None) -> frozenset[str]:
    """The StatusCallbackEvent values a statusCallbackEvent attribute asks for."""
    out: set[str] = set()
    for word in (words or "start end").replace(",", " ").split():
        out.update(EVENT_WORDS.get(word, ()))
    return frozenset(out)


def post_events(sim: TwilioSim, room: Room, events: list[tuple[str, Participant | None]],
                leg: Leg | None = None) -> None:
    """Send the conference's status callbacks for `events` (those it asked for)."""
    if any(event == "conference-end" for event, _ in events):
        conference_recording.finish(sim, room, leg)  # its recording, if any, is complete
    for event, p in events:
        if not room.status_callback or event not in room.status_events:
            continue
        with sim.switch.lock:
            room.seq += 1
            params = {
                "AccountSid": sim.account_sid,
                "ConferenceSid": room.sid,
                "FriendlyName": room.name,
                "StatusCallbackEvent": event,
                "SequenceNumber": str(room.seq),
                "Timestamp": rfc2822_now(),
            }
            if p is not None:
                params.update({
                    "CallSid": p.leg.sid,
                    "Muted": str(p.muted).lower(),
                    "Hold": str(p.hold).lower(),
                    "Coaching": str(p.coaching).lower(),
                    "EndConferenceOnExit": str(p.end).lower(),
                    "StartConferenceOnEnter": str(p.start).lower(),
                })
                if p.coach_of:
                    params["CallSidToCoach"] = p.coach_of
            if event == "conference-end":
                params["ReasonConferenceEnded"] = room.ended_reason
                if room.ended_by:
                    params["CallSidEndingConference"] = room.ended_by
        url, method = room.status_callback, room.status_method
        owner = leg or (p.leg if p is not None else None)

        def send(u: str = url, m: str = method, ps: dict[str, str] = params,
                 sid: str | None = owner.sid if owner else None) -> None:
            if sim.status_jitter > 0:  # Twilio's callbacks may arrive out of order
                time.sleep(random.uniform(0, sim.status_jitter))
            sim.http(None, u, m, ps, call_sid=sid)
            sim.conference_callbacks += 1

        if owner is not None:
            sim.background(owner, send)
        else:
            send()


def _number(sim: TwilioSim, sid: str) -> str:
    """How a participant shows in a transcript: their phone number, as bridges show it."""
    other = sim.legs.get(sid)
    if other is None:
        return sid
    return other.to if other.direction != "inbound" else other.from_


def dial_conference(leg: Leg, noun: ET.Element, doc_url: str) -> tuple[Room, bool, float,
                                                                         Interrupt | None]:
    """Join the room named by the noun and stay until something moves us; returns
    (room, talked to someone, joined at, the interruption that ended it if any)."""
    sim = leg.sim
    sw = sim.switch
    name = text_of(noun)
    if leg.participant_of is not None:
        bound = sw.room_named(leg.participant_of)
        if bound is not None and bound.ended:
            # added by the Participants API to a conference that completed while this
            # call rang: it is no participant of a new conference of the same name
            leg.note("conference-over", bound.sid)
            return bound, False, time.time(), None
    callback = noun.get("statusCallback")
    wait_url = noun.get("waitUrl")
    room, events = sw.enter_room(
        name, leg, start=flag(noun, "startConferenceOnEnter", True),
        end=flag(noun, "endConferenceOnExit", False), muted=flag(noun, "muted", False),
        coach_of=noun.get("coach") or None,
        status_callback=absolute(doc_url, callback) if callback else None,
        status_events=wanted(noun.get("statusCallbackEvent")),
        status_method=noun.get("statusCallbackMethod", "POST").upper(),
        wait_url=absolute(doc_url, wait_url) if wait_url else DEFAULT_CONFERENCE_MUSIC,
    )
    if noun.get("beep", "true").lower() in ("true", "onenter"):
        leg.note("beep")
    conference_recording.configure(room, noun, doc_url)  # record="record-from-start"
    post_events(sim, room, events, leg)
    me = room.participants[leg.sid]
    joined = time.time()
    saved = leg.hangup_at
    talked = False
    heard: frozenset[str] = frozenset()
    try:
        while True:
            now_heard = frozenset(sw.hears(leg.sid))
            if now_heard != heard:
                heard = now_heard
                music = sorted(h for h in heard if ":" in h)
                people = sorted(h for h in heard if ":" not in h)
                if music:
                    leg.note("play", music[0].split(":", 1)[1])
                elif people:
                    leg.note("connected", [_number(sim, sid) for sid in people])
                if people:  # two bridged: a conference recording starts (once)
                    conference_recording.maybe_start(sim, room, leg)
                if people and not me.heard_once:
                    me.heard_once = True
                    talked = True
                    leg.hang_up_in(leg.talk_limit)
            if room.ended or me.kicked:
                break

            def changed(was: frozenset[str] = heard) -> bool:
                return room.ended or me.kicked or frozenset(sw.hears(leg.sid)) != was

            if not leg.wait_until(changed, None):
                leg.sim.error(f"{leg.sid}: conference lasted past max_call_seconds")
                raise HungUp("sim-cap")
    except Interrupt as exc:
        post_events(sim, room, sw.leave_room(room, leg), leg)
        if leg.gone is None:
            leg.hangup_at = saved
        return room, talked, joined, exc
    if leg.gone is None:
        leg.hangup_at = saved
    post_events(sim, room, sw.leave_room(room, leg), leg)
    leg.note("disconnected", "removed" if me.kicked and not room.ended else "conference-ended")
    return room, talked, joined, None
