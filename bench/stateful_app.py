"""The tutorial app (`bench/tutorial_app.py`) with the least state a real IVR keeps: the
cheapest stateful server a user would write by hand with redis-py.

Each webhook makes one Redis script call, as `ivr`'s first webhook does: the delivery is
claimed by its `X-Twilio-Signature` (Twilio repeats it on a retry; a retry gets the
first answer back) and, only if it is new, the call's place in the menu and the answer
are written. The TwiML is the tutorial's own (the same functions), built first. There
is no flow, no template, no counters and no metrics: what it costs over the tutorial is
the price of one round trip to Redis through redis-py's usual call (client and server).
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from bench.tutorial_app import menu_response, twilio_only, welcome_response

app = Flask(__name__)
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
    return answer(welcome_response(), "menu")


@app.post("/twilio/voice/step")
@twilio_only
def menu() -> Response:
    return answer(*menu_response(request.form.get("Digits", "")))


@app.post("/ping")
def ping() -> Response:
    return Response("pong", mimetype="text/plain")
