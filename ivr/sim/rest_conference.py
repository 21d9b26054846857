"""The Conferences and Participants REST resources, as twilio-python calls them.

https://www.twilio.com/docs/voice/api/conference-resource : list (FriendlyName,
Status filters), fetch, update Status=completed (ends it for everyone).
https://www.twilio.com/docs/voice/api/conference-participant-resource : create
(dials `To` and joins them on answer; the conference may be named by its sid or
its FriendlyName; a completed conference's sid is refused, error 16022; a participant
whose conference completes before they answer joins no other one), fetch,
list, update (Hold, HoldUrl, Muted, Coaching, CallSidToCoach,
EndConferenceOnExit), delete (removes the participant: their
<Dial> ends and their call goes on with its next TwiML). Participants are
listed while connected only, as at Twilio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from flask import Flask, Response, jsonify, request

from ivr.sim import conference_recording
from ivr.sim.conference import post_events
from ivr.sim.legs import Source, rfc2822_now
from ivr.sim.switch import Participant, Room

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

API = "/2010-04-01/Accounts/<account>"


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def room_json(sim: TwilioSim, room: Room) -> dict[str, Any]:
    base = f"/2010-04-01/Accounts/{sim.account_sid}/Conferences/{room.sid}"
    return {
        "sid": room.sid,
        "account_sid": sim.account_sid,
        "friendly_name": room.name,
        "status": "completed" if room.ended else ("in-progress" if room.started else "init"),
        "date_created": rfc2822_now(),
        "date_updated": rfc2822_now(),
        "api_version": "2010-04-01",
        "region": "us1",
        "reason_conference_ended": room.ended_reason or None,
        "call_sid_ending_conference": room.ended_by,
        "uri": base + ".json",
        "subresource_uris": {"participants": base + "/Participants.json",
                             "recordings": base + "/Recordings.json"},
    }


def participant_json(sim: TwilioSim, room: Room, p: Participant) -> dict[str, Any]:
    return {
        "account_sid": sim.account_sid,
        "call_sid": p.leg.sid,
        "label": None,
        "call_sid_to_coach": p.coach_of,
        "coaching": p.coaching,
        "conference_sid": room.sid,
        "date_created": rfc2822_now(),
        "date_updated": rfc2822_now(),
        "end_conference_on_exit": p.end,
        "muted": p.muted,
        "hold": p.hold,
        "start_conference_on_enter": p.start,
        "status": "connected",
        "queue_time": "0",
        "uri": f"/2010-04-01/Accounts/{sim.account_sid}/Conferences/{room.sid}"
               f"/Participants/{p.leg.sid}.json",
    }


def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "first_page_uri": None, "next_page_uri": None,
            "previous_page_uri": None, "page": 0, "page_size": 50, "start": 0,
            "end": max(len(items) - 1, 0), "uri": request.path}


def add_routes(app: Flask, sim: TwilioSim) -> None:
    from ivr.sim.rest import error

    sw = sim.switch

    def not_found(what: str) -> tuple[Response, int]:
        return error(404, 20404, f"The requested resource {what} was not found")

    @app.get(API + "/Conferences.json")
    def list_conferences(account: str) -> Any:
        name, status = request.args.get("FriendlyName"), request.args.get("Status")
        with sw.lock:
            unique = {id(r): r for r in [*sw.rooms.values(), *sw.done_rooms.values()]}
            rooms = sorted(unique.values(), key=lambda r: r.created)
        found = [room_json(sim, r) for r in rooms if name in (None, r.name)]
        if status:
            found = [r for r in found if r["status"] == status]
        return jsonify(page("conferences", found))

    @app.get(API + "/Conferences/<sid>.json")
    def fetch_conference(account: str, sid: str) -> Any:
        room = sw.room_named(sid)
        if room is None:
            return not_found(f"/Conferences/{sid}.json")
        return jsonify(room_json(sim, room))

    @app.post(API + "/Conferences/<sid>.json")
    def update_conference(account: str, sid: str) -> Any:
        room = sw.room_named(sid)
        if room is None:
            return not_found(f"/Conferences/{sid}.json")
        status = request.form.get("Status")
        if status not in (None, "completed"):
            return error(400, 21218, f"Invalid Status: {status}")
        if status == "completed" and sw.end_room(room, "conference-ended-via-api"):
            post_events(sim, room, [("conference-end", None)])
        return jsonify(room_json(sim, room))

    @app.get(API + "/Conferences/<sid>/Participants.json")
    def list_participants(account: str, sid: str) -> Any:
        room = sw.room_named(sid)
        if room is None:
            return not_found(f"/Conferences/{sid}/Participants.json")
        with sw.lock:
            items = [participant_json(sim, room, p) for p in room.participants.values()]
        return jsonify(page("participants", items))

    def find(sid: str, call: str) -> tuple[Room | None, Participant | None]:
        room = sw.room_named(sid)
        if room is None:
            return None, None
        with sw.lock:
            return room, room.participants.get(call)

    @app.get(API + "/Conferences/<sid>/Participants/<call>.json")
    def fetch_participant(account: str, sid: str, call: str) -> Any:
        room, p = find(sid, call)
        if room is None or p is None:
            return not_found(f"/Conferences/{sid}/Participants/{call}.json")
        return jsonify(participant_json(sim, room, p))

    @app.post(API + "/Conferences/<sid>/Participants/<call>.json")
    def update_participant(account: str, sid: str, call: str) -> Any:
        room, p = find(sid, call)
        if room is None or p is None:
            return not_found(f"/Conferences/{sid}/Participants/{call}.json")
        f = request.form
        events: list[tuple[str, Participant | None]] = []
        with sw.lock:
            hold, muted = _bool(f.get("Hold")), _bool(f.get("Muted"))
            coaching, ender = _bool(f.get("Coaching")), _bool(f.get("EndConferenceOnExit"))
            if f.get("HoldUrl"):
                p.hold_url = f["HoldUrl"]
            if hold is not None and hold != p.hold:
                p.hold = hold
                events.append(("participant-hold" if hold else "participant-unhold", p))
            if muted is not None and muted != p.muted:
                p.muted = muted
                events.append(("participant-mute" if muted else "participant-unmute", p))
            modified = False
            if f.get("CallSidToCoach"):
                p.coach_of = f["CallSidToCoach"]
                modified = True
            if coaching is not None and coaching != p.coaching:
                if coaching and not p.coach_of:
                    return error(400, 21218, "CallSidToCoach is required to coach")
                p.coaching = coaching
                if not coaching:
                    p.coach_of = None
                modified = True
            if ender is not None and ender != p.end:
                p.end = ender
                modified = True
            if modified:
                events.append(("participant-modify", p))
            legs = [q.leg for q in room.participants.values()]
        for leg in legs:
            leg.poke()
        post_events(sim, room, events)
        return jsonify(participant_json(sim, room, p))

    @app.delete(API + "/Conferences/<sid>/Participants/<call>.json")
    def delete_participant(account: str, sid: str, call: str) -> Any:
        room, p = find(sid, call)
        if room is None or p is None:
            return not_found(f"/Conferences/{sid}/Participants/{call}.json")
        with sw.lock:
            p.kicked = True
        p.leg.poke()
        return Response(status=204)

    # --- conference recordings (ivr/sim/conference_recording.py) ----------------------

    @app.get(API + "/Conferences/<sid>/Recordings.json")
    def list_conference_recordings(account: str, sid: str) -> Any:
        if sw.room_named(sid) is None:
            return not_found(f"/Conferences/{sid}/Recordings.json")
        items = [conference_recording.rest_json(sim, rr)
                 for rr in conference_recording.recordings_of(sim, sid)]
        status = request.args.get("Status")
        return jsonify(page("recordings", [r for r in items
                                           if status in (None, r["status"])]))

    def find_recording(sid: str, rec: str) -> Any:
        for rr in conference_recording.recordings_of(sim, sid):
            if rr.rec is not None and rr.rec.sid == rec:
                return rr
        return None

    @app.get(API + "/Conferences/<sid>/Recordings/<rec>.json")
    def fetch_conference_recording(account: str, sid: str, rec: str) -> Any:
        rr = find_recording(sid, rec)
        if rr is None:
            return not_found(f"/Conferences/{sid}/Recordings/{rec}.json")
        return jsonify(conference_recording.rest_json(sim, rr))

    @app.post(API + "/Conferences/<sid>/Recordings/<rec>.json")
    def update_conference_recording(account: str, sid: str, rec: str) -> Any:
        rr = find_recording(sid, rec)
        if rr is None:
            return not_found(f"/Conferences/{sid}/Recordings/{rec}.json")
        status = request.form.get("Status")
        behavior = request.form.get("PauseBehavior")
        if status not in ("paused", "in-progress", "stopped"):
            return error(400, 21220, f"Invalid Status: {status}")
        if behavior not in (None, "skip", "silence"):
            return error(400, 21220, f"Invalid PauseBehavior: {behavior}")
        problem = conference_recording.set_status(rr, status, behavior)
        if problem:
            return error(400, 21220, problem)
        return jsonify(conference_recording.rest_json(sim, rr))

    @app.post(API + "/Conferences/<sid>/Participants.json")
    def create_participant(account: str, sid: str) -> Any:
        f = request.form
        to, from_ = f.get("To"), f.get("From")
        if not to or not from_:
            return error(400, 21201, "To and From are required")
        room = sw.room_named(sid)
        name = room.name if room is not None else sid
        if room is None and sid.startswith("CF"):
            return not_found(f"/Conferences/{sid}/Participants.json")
        if room is not None and room.ended and sid == room.sid:
            # https://www.twilio.com/docs/api/errors/16022 : "The requested conference sid
            # or friendly name refers to a non-existent or completed conference."
            return error(404, 16022, "Conference does not exist or is completed")
        attrs = {
            "startConferenceOnEnter": f.get("StartConferenceOnEnter", "true"),
            "endConferenceOnExit": f.get("EndConferenceOnExit", "false"),
            "muted": f.get("Muted", "false"),
            "beep": f.get("Beep", "true"),
        }
        if f.get("CallSidToCoach") and _bool(f.get("Coaching")) is not False:
            attrs["coach"] = f["CallSidToCoach"]
        if f.get("ConferenceStatusCallback"):
            attrs["statusCallback"] = f["ConferenceStatusCallback"]
            attrs["statusCallbackEvent"] = " ".join(
                e for v in f.getlist("ConferenceStatusCallbackEvent") for e in v.split())
        if f.get("WaitUrl"):
            attrs["waitUrl"] = f["WaitUrl"]
        noun = "<Conference " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) \
            + f">{escape(name)}</Conference>"
        events = frozenset(f.getlist("StatusCallbackEvent")) or frozenset({"completed"})
        leg = sim.create_outbound(
            to=to, from_=from_, source=Source(twiml=f"<Response><Dial>{noun}</Dial></Response>"),
            status_callback=f.get("StatusCallback"), status_events=events,
            status_method=f.get("StatusCallbackMethod", "POST").upper(),
            timeout=float(f.get("Timeout", "30") or 30), fallback=None,
        )
        if room is not None:
            leg.participant_of = room.sid
        return jsonify({
            "account_sid": sim.account_sid, "call_sid": leg.sid, "label": f.get("Label"),
            "call_sid_to_coach": f.get("CallSidToCoach"), "coaching": "coach" in attrs,
            "conference_sid": room.sid if room is not None else None,
            "date_created": rfc2822_now(), "date_updated": rfc2822_now(),
            "end_conference_on_exit": attrs["endConferenceOnExit"] == "true",
            "muted": attrs["muted"] == "true", "hold": False,
            "start_conference_on_enter": attrs["startConferenceOnEnter"] == "true",
            "status": "queued", "queue_time": "0",
            "uri": f"/2010-04-01/Accounts/{sim.account_sid}/Conferences/{sid}"
                   f"/Participants/{leg.sid}.json",
        }), 201
