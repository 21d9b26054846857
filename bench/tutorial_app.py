"""The peer a user would write by hand: a Flask IVR in the style of Twilio's own tutorial.

Every request has its signature checked (twilio-python's `RequestValidator`
over the request URL and form), reads the form, and builds its TwiML with
`VoiceResponse` on each request; nothing is stored anywhere. It answers the
same two paths as `ivr` in `bench/webhooks.py`: the call's first webhook (a
welcome and a one-digit menu) and the menu's Gather action.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)
validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))


def twilio_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) any request whose X-Twilio-Signature does not match."""
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            abort(403)
        return view(*args, **kwargs)
    return checked


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def welcome_response() -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=url_for("menu", seq=1), method="POST")
    gather.say("Thanks for calling Acme. For sales press 1. For billing press 2.", loop=3)
    return response


def menu_response(choice: str) -> tuple[VoiceResponse, str]:
    """The answer to a menu choice, and the step the call is at after it."""
    response = VoiceResponse()
    if choice == "1":
        response.say("Our sales team is available on weekdays.")
        response.hangup()
        return response, "sales"
    if choice == "2":
        gather = response.gather(num_digits=10, finish_on_key="#", action=url_for("menu", seq=2),
                                 method="POST")
        gather.say("Please enter your account number, then press pound.")
        return response, "account"
    response.say("Sorry, I don't understand that choice.")
    response.redirect(url_for("welcome"))
    return response, "menu"


@app.post("/twilio/voice")
@twilio_only
def welcome() -> Response:
    return twiml(welcome_response())


@app.post("/twilio/voice/step")
@twilio_only
def menu() -> Response:
    return twiml(menu_response(request.form.get("Digits", ""))[0])


@app.post("/ping")
def ping() -> Response:
    return Response("pong", mimetype="text/plain")
