"""Twilio endpoints of the queues and the agents' phones (URLs are ours, put into TwiML).

- /twilio/queue/wait    the <Enqueue> waitUrl: hold music, position, expected wait
- /twilio/queue/key     a key pressed while waiting (1: call me back)
- /twilio/agent/whisper the agent answered an offer: whisper, press 1 to accept
- /twilio/agent/accept  the whisper's Gather action
- /twilio/agent/bridge  connects the agent to the caller's own Twilio queue
- /twilio/agent/dialed  the agent's <Dial> to a callback customer ended
- /twilio/agent/status  status callbacks of every call placed to an agent
- /twilio/agent/line    the agent's self-service phone menu (PIN, then 1/2/3)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
from flask import Blueprint
from twilio.twiml.voice_response import Dial, VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr.context import get_router
from ivr.routing.router import spoken_number, spoken_wait
from ivr.webhooks.common import TwiML, twilio_webhook

if TYPE_CHECKING:
    from ivr.routing.router import Router

bp = Blueprint("queue", __name__)
log = logging.getLogger("ivr.routing")

BRIDGE_TRIES = 10  # seconds an accepting agent waits for the caller's hold loop to start


def _router() -> Router:
    router: Router = get_router()
    return router


def _goodbye(text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return response


@bp.post("/twilio/queue/wait")
@twilio_webhook("voice", required=("call",), replay=False)  # harmless twice; must work w/o Redis
def wait(params: MultiDict[str, str]) -> TwiML:
    router = _router()
    call, n = params["call"], int(params.get("n", "0") or 0)
    try:
        return router.wait_twiml(call, n)
    except redis.RedisError:
        # Redis is away (a restart, a failover): keep the caller holding rather than
        # answering on_error, which would end a call that loses nothing by waiting.
        log.warning("hold loop of %s: Redis unavailable, holding", call)
        response = VoiceResponse()
        response.pause(length=5)
        response.redirect(router.url("/twilio/queue/wait", call=call, n=n + 1), method="POST")
        return response


@bp.post("/twilio/queue/key")
@twilio_webhook("voice", required=("call",))
def key(params: MultiDict[str, str]) -> TwiML:
    router = _router()
    call, n = params["call"], int(params.get("n", "0") or 0)
    if params.get("Digits") == "1":
        caller = router._caller(call)
        if caller and router.queue_config(caller["q"]).callback:
            verdict = router.press_callback(call)
            if verdict == "ok":
                response = VoiceResponse()
                response.leave()  # the <Enqueue> action tells the engine: callback
                return response
            if verdict == "busy":
                response = VoiceResponse()
                response.say("An agent is about to take your call. Please hold.")
                response.redirect(router.url("/twilio/queue/wait", call=call, n=n + 1))
                return response
    response = VoiceResponse()
    response.redirect(router.url("/twilio/queue/wait", call=call, n=n + 1), method="POST")
    return response


@bp.post("/twilio/agent/whisper")
@twilio_webhook("voice", required=("agent", "token"))
def whisper(params: MultiDict[str, str]) -> TwiML:
    router = _router()
    agent_id, token = params["agent"], params["token"]
    live = router.offer(agent_id, token)
    if live is None or live[1].get("st") != "offered":
        return _goodbye("Sorry, that caller is no longer waiting. Goodbye.")
    if params.get("CallSid"):
        router.run("set_leg", {"agent": agent_id, "token": token, "leg": params["CallSid"]})
    _, caller = live
    waited = spoken_wait(router.clock() - caller["t0"] / 1000.0)
    queue = caller["q"].replace("_", " ").replace("-", " ").capitalize()
    if caller.get("kind") == "callback":
        text = (f"{queue} callback for {spoken_number(caller.get('from', ''))}, "
                f"waited {waited}. Press 1 to call them now.")
    else:
        text = f"{queue} call, waited {waited}. Press 1 to accept."
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, timeout=8, method="POST",
        action=router.url("/twilio/agent/accept", agent=agent_id, token=token),
    )
    gather.say(text)
    response.say("No answer. Goodbye.")
    response.hangup()
    return response


@bp.post("/twilio/agent/accept")
@twilio_webhook("voice", required=("agent", "token"))
def accept(params: MultiDict[str, str]) -> TwiML:
    router = _router()
    agent_id, token = params["agent"], params["token"]
    if params.get("Digits") != "1":
        # A decline: the miss is counted when this call has ended (its status callback),
        # so the agent's phone is free before any other offer rings it.
        return _goodbye("Declined. Goodbye.")
    verdict, caller = router.accept(agent_id, token)
    if verdict == "gone" or caller is None:
        return _goodbye("Sorry, that caller has hung up or was taken by someone else. Goodbye.")
    if caller.get("kind") == "callback":
        response = VoiceResponse()
        response.say("Calling them now.")
        dial = Dial(
            caller_id=caller.get("to") or None, timeout=30, method="POST",
            action=router.url("/twilio/agent/dialed", agent=agent_id, token=token),
        )
        dial.number(caller.get("from", ""))
        response.append(dial)
        return response
    return _bridge(router, agent_id, token, caller["id"], 0)


def _bridge(router: Router, agent_id: str, token: str, call_sid: str, n: int) -> VoiceResponse:
    response = VoiceResponse()
    if router.in_twilio_queue(call_sid) or n >= BRIDGE_TRIES:
        dial = Dial(timeout=10)  # an empty queue: the caller hung up as we accepted
        dial.queue(call_sid)
        response.append(dial)
        response.say("Sorry, the caller has hung up.")
        response.hangup()
        return response
    response.pause(length=1)
    response.redirect(
        router.url("/twilio/agent/bridge", agent=agent_id, token=token, call=call_sid, n=n + 1),
        method="POST",
    )
    return response


@bp.post("/twilio/agent/bridge")
@twilio_webhook("voice", required=("agent", "token", "call"))
def bridge(params: MultiDict[str, str]) -> TwiML:
    return _bridge(_router(), params["agent"], params["token"], params["call"],
                   int(params.get("n", "0") or 0))


@bp.post("/twilio/agent/dialed")
@twilio_webhook("voice", required=("agent", "token"))
def dialed(params: MultiDict[str, str]) -> TwiML:
    verdict = _router().callback_dialed(
        params["agent"], params["token"], params.get("DialCallStatus", "failed")
    )
    if verdict == "retry":
        return _goodbye("They did not answer. We will try again later. Goodbye.")
    if verdict == "failed":
        return _goodbye("They did not answer, and that was the last try. Goodbye.")
    response = VoiceResponse()
    response.hangup()
    return response


@bp.post("/twilio/agent/status")
@twilio_webhook("callback", required=("agent", "token"))
def agent_status(params: MultiDict[str, str]) -> TwiML | None:
    _router().agent_leg_status(params["agent"], params["token"], params)
    return None


@bp.post("/twilio/agent/line")
@twilio_webhook("voice", required=("agent", "stage"))
def agent_line(params: MultiDict[str, str]) -> TwiML:
    return _router().agent_line_step(params)
