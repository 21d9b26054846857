"""The part of Twilio's REST API the server uses, as a small Flask app.

Shapes follow what twilio-python sends and parses
(twilio/rest/api/v2010/account/call/__init__.py, .../message/__init__.py):
form-encoded bodies, HTTP basic auth with AccountSid:AuthToken, JSON answers
with snake_case fields and RFC 2822 dates, errors as {code, message,
more_info, status}.
https://www.twilio.com/docs/voice/api/call-resource
https://www.twilio.com/docs/messaging/api/message-resource
"""

from __future__ import annotations

import io
import threading
import time
import wave
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from ivr.sim.legs import HungUp, Leg, Redirected, Source, rfc2822_now
from ivr.sim.records import RestRequest
from ivr.sim.rest_conference import add_routes as add_conference_routes

if TYPE_CHECKING:
    from ivr.sim.twilio import TwilioSim

API = "/2010-04-01/Accounts/<account>"
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})


def error(status: int, code: int, message: str) -> tuple[Response, int]:
    return jsonify({
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }), status


def call_json(sim: TwilioSim, leg: Leg) -> dict[str, Any]:
    base = f"/2010-04-01/Accounts/{sim.account_sid}/Calls/{leg.sid}"
    return {
        "sid": leg.sid,
        "account_sid": sim.account_sid,
        "parent_call_sid": leg.parent.sid if leg.parent else None,
        "date_created": rfc2822_now(),
        "date_updated": rfc2822_now(),
        "to": leg.to,
        "to_formatted": leg.to,
        "from": leg.from_,
        "from_formatted": leg.from_,
        "phone_number_sid": None,
        "status": leg.status,
        "start_time": None,
        "end_time": None,
        "duration": str(leg.duration()) if leg.done.is_set() else None,
        "price": None,
        "price_unit": "USD",
        "direction": leg.direction,
        "answered_by": None,
        "api_version": "2010-04-01",
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": base + ".json",
        "subresource_uris": {"notifications": base + "/Notifications.json",
                             "recordings": base + "/Recordings.json"},
    }


def silent_wav(seconds: float) -> bytes:
    """A short silent WAV, so a recording URL can be fetched like Twilio's."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * min(seconds, 2.0)))
    return buf.getvalue()


def make_rest_app(sim: TwilioSim) -> Flask:
    app = Flask("ivr.sim.rest")

    @app.before_request
    def authenticate() -> Any:
        if "/Recordings/" in request.path:
            return None  # recordings are public media by default
        auth = request.authorization
        account = (request.view_args or {}).get("account")
        if (
            auth is None
            or auth.username != sim.account_sid
            or auth.password != sim.auth_token
            or (account is not None and account != sim.account_sid)
        ):
            return error(401, 20003, "Authenticate")
        return None

    @app.after_request
    def remember(resp: Response) -> Response:
        sim.record.add_rest(RestRequest(
            method=request.method, path=request.path,
            params={k: request.form.getlist(k) for k in request.form},
            status=resp.status_code, at=time.time(),
        ))
        return resp

    @app.post(API + "/Calls.json")
    def create_call(account: str) -> Any:
        f = request.form
        to, from_ = f.get("To"), f.get("From")
        if not to:
            return error(400, 21201, "No 'To' number is specified")
        if not from_:
            return error(400, 21213, "No 'From' number is specified")
        url, twiml = f.get("Url"), f.get("Twiml")
        if not url and not twiml and not f.get("ApplicationSid"):
            return error(400, 21205, "Url parameter is required.")
        events = frozenset(f.getlist("StatusCallbackEvent")) or frozenset({"completed"})
        unknown = events - EVENTS
        if unknown:
            return error(400, 21626, f"Invalid StatusCallbackEvent: {sorted(unknown)}")
        try:
            timeout = float(f.get("Timeout", "60"))
        except ValueError:
            return error(400, 21216, "Invalid Timeout")
        fallback = (
            Source(url=f["FallbackUrl"], method=f.get("FallbackMethod", "POST").upper())
            if f.get("FallbackUrl") else None
        )
        leg = sim.create_outbound(
            to=to, from_=from_,
            source=Source(url=url, method=f.get("Method", "POST").upper(), twiml=twiml),
            status_callback=f.get("StatusCallback"),
            status_events=events,
            status_method=f.get("StatusCallbackMethod", "POST").upper(),
            timeout=timeout,
            fallback=fallback,
        )
        return jsonify(call_json(sim, leg)), 201

    @app.get(API + "/Calls/<sid>.json")
    def fetch_call(account: str, sid: str) -> Any:
        leg = sim.legs.get(sid)
        if leg is None:
            return error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        return jsonify(call_json(sim, leg))

    @app.post(API + "/Calls/<sid>.json")
    def update_call(account: str, sid: str) -> Any:
        leg = sim.legs.get(sid)
        if leg is None:
            return error(404, 20404, f"The requested resource /Calls/{sid}.json was not found")
        f = request.form
        status = f.get("Status")
        if leg.done.is_set():
            if status in ("canceled", "completed"):
                return jsonify(call_json(sim, leg))  # already over: nothing to do
            return error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if f.get("StatusCallback"):
            leg.status_callback = f["StatusCallback"]
            leg.status_method = f.get("StatusCallbackMethod", "POST").upper()
        ringing = leg.answered_at is None
        if status == "canceled":
            if ringing:
                leg.interrupt(HungUp("rest", status="canceled"))
        elif status == "completed":
            leg.interrupt(HungUp("rest", status="canceled" if ringing else "completed"))
        elif status:
            return error(400, 21218, f"Invalid Status: {status}")
        elif f.get("Twiml") or f.get("Url"):
            leg.interrupt(Redirected(Source(
                url=f.get("Url"), method=f.get("Method", "POST").upper(), twiml=f.get("Twiml"),
            )))
        else:
            return error(400, 21205, "Url parameter is required.")
        return jsonify(call_json(sim, leg))

    @app.post(API + "/Messages.json")
    def create_message(account: str) -> Any:
        f = request.form
        to = f.get("To")
        from_ = f.get("From") or f.get("MessagingServiceSid")
        body = f.get("Body", "")
        media = f.getlist("MediaUrl")
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not from_:
            return error(400, 21603, "A 'From' phone number is required.")
        if not body and not media:
            return error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return error(400, 21617, "The message body exceeds the 1600 character limit.")
        released = threading.Event()  # the phone gets it once this answer went out
        msg = sim.deliver_rest_message(from_, to, body, media, f.get("StatusCallback"),
                                       released)
        resp = jsonify({
            "sid": msg.sid, "account_sid": sim.account_sid, "to": to, "from": from_,
            "body": body, "status": "queued", "num_media": str(len(media)),
            "num_segments": str(max(1, -(-len(body) // 160))), "direction": "outbound-api",
            "api_version": "2010-04-01", "date_created": rfc2822_now(),
            "date_updated": rfc2822_now(), "date_sent": None, "price": None,
            "price_unit": "USD", "error_code": None, "error_message": None,
            "messaging_service_sid": f.get("MessagingServiceSid"),
            "uri": f"/2010-04-01/Accounts/{sim.account_sid}/Messages/{msg.sid}.json",
            "subresource_uris": {},
        })
        resp.status_code = 201
        resp.call_on_close(released.set)
        return resp

    add_conference_routes(app, sim)

    @app.get(API + "/Recordings/<name>")
    def recording(account: str, name: str) -> Any:
        sid = name.split(".")[0]
        if sid not in sim.recordings:
            return error(404, 20404, f"The requested resource /Recordings/{name} was not found")
        return Response(silent_wav(sim.recordings[sid]), mimetype="audio/x-wav")

    from ivr.sim.recordings import register  # call recordings: list, fetch, delete, media
    register(app, sim)
    return app
