"""Twilio endpoints of the queues and the agents' phones (URLs are ours, put into TwiML).

- QUEUE_WAIT     the <Enqueue> waitUrl: hold music, position, expected wait
- QUEUE_KEY      a key pressed while waiting (1: call me back)
- AGENT_WHISPER  the agent answered an offer: whisper, press 1 to accept
- AGENT_ACCEPT   the whisper's Gather action
- AGENT_BRIDGE   connects the agent to the caller's own Twilio queue
- AGENT_DIALED   the agent's <Dial> to a callback customer ended
- AGENT_STATUS   status callbacks of every call placed to an agent
- AGENT_LINE     the agent's self-service phone menu (ivr/webhooks/agent_line.py)

(paths: ivr/paths.py.) The router decides; this module turns its plain
answers into TwiML and the words callers and agents hear.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint
from twilio.twiml.voice_response import Dial, VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import get_router
from ivr.routing.router import LiveOffer, Router
from ivr.webhooks import agent_line
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("queue", __name__)
bp.register_blueprint(agent_line.bp)  # the agents' phone line rides with the queue endpoints
log = logging.getLogger("ivr.routing")

BRIDGE_TRIES = 10  # seconds an accepting agent waits for the caller's hold loop to start


def spoken_wait(seconds: float) -> str:
    """A wait as a person would say it: "less than a minute", "about 3 minutes"."""
    if seconds < 45:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes <= 1:
        return "about 1 minute"
    if minutes < 60:
        return f"about {minutes} minutes"
    hours = round(minutes / 60)
    return "about 1 hour" if hours <= 1 else f"more than {hours} hours"


def spoken_number(number: str) -> str:
    """Digits spaced so that <Say> reads a phone number digit by digit."""
    return " ".join(ch for ch in number if ch.isdigit() or ch == "+").replace("+", "plus")


def _goodbye(text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return response


def _n(params: MultiDict[str, str]) -> int:
    """The turn counter we put into our own URLs."""
    return int(params.get("n", "0") or 0)


# --- the caller's hold loop ------------------------------------------------------------


def _voice(voice: str | None, language: str | None) -> dict[str, str]:
    """<Say> attributes for what callers hear: their flow's voice and language (the agents'
    prompts keep Twilio's default voice)."""
    return {k: v for k, v in (("voice", voice), ("language", language)) if v}


def hold_twiml(router: Router, call_sid: str, n: int) -> VoiceResponse:
    """One turn of the hold loop (Enqueue waitUrl): what `Router.hold` says is due."""
    plan = router.hold(call_sid)
    response = VoiceResponse()
    if plan.leave:
        response.leave()
        return response
    gather = response.gather(
        num_digits=1, action=router.url(paths.QUEUE_KEY, call=call_sid, n=n),
        method="POST", timeout=1,
    ) if plan.callback_key else None
    target = gather if gather is not None else response
    parts = []
    if plan.position is not None:
        parts.append(f"You are number {plan.position} in line.")
    if plan.expected_wait is not None:
        parts.append(f"Your expected wait is {spoken_wait(plan.expected_wait)}.")
    voice = _voice(plan.voice, plan.language)
    if parts:
        target.say(" ".join(parts), **voice)
    if plan.offer_callback:
        target.say("To hang up and be called back, keeping your place in line, press 1.",
                   **voice)
    if plan.music:
        target.play(plan.music)
    else:
        target.pause(length=plan.pause)
    response.redirect(router.url(paths.QUEUE_WAIT, call=call_sid, n=n + 1), method="POST")
    return response


@bp.post(paths.QUEUE_WAIT)
@twilio_webhook("voice", required=("call",), replay=False)  # harmless twice; must work w/o Redis
def wait(params: MultiDict[str, str]) -> TwiML:
    router = get_router()
    call, n = params["call"], _n(params)
    try:
        return hold_twiml(router, call, n)
    except redis.RedisError:
        # Redis is away (a restart, a failover): keep the caller holding rather than
        # answering on_error, which would end a call that loses nothing by waiting.
        log.warning("hold loop of %s: Redis unavailable, holding", call)
        response = VoiceResponse()
        response.pause(length=5)
        response.redirect(router.url(paths.QUEUE_WAIT, call=call, n=n + 1), method="POST")
        return response


@bp.post(paths.QUEUE_KEY)
@twilio_webhook("voice", required=("call",))
def key(params: MultiDict[str, str]) -> TwiML:
    router = get_router()
    call, n = params["call"], _n(params)
    if params.get("Digits") == "1":
        verdict = router.press_callback(call)
        if verdict == "ok":
            response = VoiceResponse()
            response.leave()  # the <Enqueue> action tells the engine: callback
            return response
        if verdict == "busy":
            response = VoiceResponse()
            response.say("An agent is about to take your call. Please hold.",
                         **_voice(*router.voice_of(call)))
            response.redirect(router.url(paths.QUEUE_WAIT, call=call, n=n + 1))
            return response
    response = VoiceResponse()
    response.redirect(router.url(paths.QUEUE_WAIT, call=call, n=n + 1), method="POST")
    return response


# --- the agent's call of an offer ---------------------------------------------------------


def whisper_text(router: Router, live: LiveOffer) -> str:
    """What the agent hears before the caller is theirs."""
    caller = live.caller
    waited = spoken_wait(router.clock() - caller.entered_ms / 1000.0)
    queue = caller.queue.replace("_", " ").replace("-", " ").capitalize()
    if caller.kind == "callback":
        return (f"{queue} callback for {spoken_number(caller.number)}, "
                f"waited {waited}. Press 1 to call them now.")
    return f"{queue} call, waited {waited}. Press 1 to accept."


@bp.post(paths.AGENT_WHISPER)
@twilio_webhook("voice", required=("agent", "token"))
def whisper(params: MultiDict[str, str]) -> TwiML:
    router = get_router()
    agent_id, token = params["agent"], params["token"]
    live = router.offer(agent_id, token)
    if live is None or live.caller.state != "offered":
        return _goodbye("Sorry, that caller is no longer waiting. Goodbye.")
    if params.get("CallSid"):
        router.set_leg(agent_id, token, params["CallSid"])
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, timeout=8, method="POST",
        action=router.url(paths.AGENT_ACCEPT, agent=agent_id, token=token),
    )
    gather.say(whisper_text(router, live))
    response.say("No answer. Goodbye.")
    response.hangup()
    return response


@bp.post(paths.AGENT_ACCEPT)
@twilio_webhook("voice", required=("agent", "token"))
def accept(params: MultiDict[str, str]) -> TwiML:
    router = get_router()
    agent_id, token = params["agent"], params["token"]
    if params.get("Digits") != "1":
        # A decline: the miss is counted when this call has ended (its status callback),
        # so the agent's phone is free before any other offer rings it.
        return _goodbye("Declined. Goodbye.")
    verdict, caller = router.accept(agent_id, token)
    if verdict != "ok" or caller is None:
        return _goodbye("Sorry, that caller has hung up or was taken by someone else. Goodbye.")
    if caller.kind == "callback":
        response = VoiceResponse()
        response.say("Calling them now.")
        dial = Dial(
            caller_id=caller.service_number or None, timeout=30, method="POST",
            action=router.url(paths.AGENT_DIALED, agent=agent_id, token=token),
        )
        dial.number(caller.number)
        response.append(dial)
        return response
    return _bridge(router, agent_id, token, caller.id, 0)


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
        router.url(paths.AGENT_BRIDGE, agent=agent_id, token=token, call=call_sid, n=n + 1),
        method="POST",
    )
    return response


@bp.post(paths.AGENT_BRIDGE)
@twilio_webhook("voice", required=("agent", "token", "call"))
def bridge(params: MultiDict[str, str]) -> TwiML:
    return _bridge(get_router(), params["agent"], params["token"], params["call"], _n(params))


@bp.post(paths.AGENT_DIALED)
@twilio_webhook("voice", required=("agent", "token"))
def dialed(params: MultiDict[str, str]) -> TwiML:
    verdict = get_router().callback_dialed(
        params["agent"], params["token"], params.get("DialCallStatus", "failed")
    )
    if verdict == "retry":
        return _goodbye("They did not answer. We will try again later. Goodbye.")
    if verdict == "failed":
        return _goodbye("They did not answer, and that was the last try. Goodbye.")
    response = VoiceResponse()
    response.hangup()
    return response


@bp.post(paths.AGENT_STATUS)
@twilio_webhook("callback", required=("agent", "token"))
def agent_status(params: MultiDict[str, str]) -> TwiML | None:
    get_router().agent_leg_status(params["agent"], params["token"],
                                  params.get("CallStatus", ""), params.get("CallSid", ""))
    return None
