"""The tutorial app (`bench/tutorial_app.py`) with the least state a real IVR keeps: the
cheapest stateful server a user would write by hand with redis-py.

Each webhook makes one Redis script call, in the way `ivr` does at best: the delivery is
claimed by its `X-Twilio-Signature` (Twilio repeats it on a retry; a retry gets the
first answer back) and, only if it is new, the call's place in the menu and the answer
are written. The TwiML is built first, as in the tutorial, with `VoiceResponse`. There
is no flow, no template, no counters and no metrics: what it costs over the tutorial is
the price of one round trip to Redis through redis-py's usual call (client and server).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, Response, abort, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)
validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                             decode_responses=True)
# KEYS[1] the delivery's replay key, KEYS[2] the call's hash
# ARGV[1] the answer, ARGV[2] seconds to keep both, ARGV[3..] field, value, ...
commit = store.register_script("""
local first = redis.call('GET', KEYS[1])
if first then return first end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return ARGV[1]
""")


def twilio_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) any request whose X-Twilio-Signature does not match."""
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            abort(403)
        return view(*args, **kwargs)
    return checked


def answer(response: VoiceResponse, step: str) -> Response:
    """Commit the call's step with the answer, once per delivery."""
    text = commit(keys=["replay:" + request.headers["X-Twilio-Signature"],
                        "call:" + request.form["CallSid"]],
                  args=[str(response), 14_400, "step", step,
                        "from", request.form.get("From", ""),
                        "digits", request.form.get("Digits", "")])
    return Response(text, mimetype="text/xml")


@app.post("/twilio/voice")
@twilio_only
def welcome() -> Response:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=url_for("menu", seq=1), method="POST")
    gather.say("Thanks for calling Acme. For sales press 1. For billing press 2.", loop=3)
    return answer(response, "menu")


@app.post("/twilio/voice/step")
@twilio_only
def menu() -> Response:
    choice = request.form.get("Digits", "")
    response = VoiceResponse()
    if choice == "1":
        response.say("Our sales team is available on weekdays.")
        response.hangup()
        step = "sales"
    elif choice == "2":
        gather = response.gather(num_digits=10, finish_on_key="#", action=url_for("menu", seq=2),
                                 method="POST")
        gather.say("Please enter your account number, then press pound.")
        step = "account"
    else:
        response.say("Sorry, I don't understand that choice.")
        response.redirect(url_for("welcome"))
        step = "menu"
    return answer(response, step)


@app.post("/ping")
def ping() -> Response:
    return Response("pong", mimetype="text/plain")
