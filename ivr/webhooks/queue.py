"""Twilio endpoints of the queues and the agents' phones (URLs are ours, put into TwiML).

- QUEUE_WAIT     the <Enqueue> waitUrl: hold music, position, expected wait
- QUEUE_KEY      a key pressed while waiting (1: call me back)
- AGENT_WHISPER  the agent answered an offer: whisper, press 1 to accept
- AGENT_ACCEPT   the whisper's Gather action
- QUEUE_RESULT   the caller's Enqueue action and conference Dial action: back into the flow
- QUEUE_JOIN     where an accepted caller is moved (REST): the agent's conference
- CONFERENCE_STATUS  the conference's status callbacks
- AGENT_DIALED   the agent's <Dial> to a callback customer ended
- AGENT_STATUS   status callbacks of every call placed to an agent
- AGENT_LINE     the agent's self-service phone menu (ivr/webhooks/agent_line.py)

(paths: ivr/paths.py.) The router decides; this module turns its plain
answers into TwiML and the words callers and agents hear.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import redis
from flask import Blueprint
from twilio.twiml.voice_response import Dial, VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import final_writes, get_engine, get_router
from ivr.routing.router import LiveOffer, Router
from ivr.webhooks import agent_line
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("queue", __name__)
bp.register_blueprint(agent_line.bp)  # the agents' phone line rides with the queue endpoints
log = logging.getLogger("ivr.routing")

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
    if verdict == "hungup":
        return _goodbye("Sorry, the caller has hung up.")
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
    # The caller is on their way (Router.accept moved them): meet them in their conference.
    response = VoiceResponse()
    # a recorded queue: the recording's attributes (ivr/routing/recording.py)
    response.append(conference_dial(router, caller.id, **router.recording.conference_attrs(
        caller.id, caller_side=False)))
    return response


#: The conference events whose callbacks drive state (ivr/routing/lua/conf_event.lua).
CONFERENCE_EVENTS = "start end join leave hold"


def conference_dial(router: Router, call_sid: str, *, action: str | None = None,
                    end_on_exit: bool = True, **recording: Any) -> Dial:
    """`<Dial><Conference>CallSid</Conference></Dial>`: the caller's conference, beep off,
    started by whoever enters, ended when either of the two leaves (a plain call).
    `recording`: the record attributes of a recorded queue (Recording.conference_attrs)."""
    dial = Dial(action=action, method="POST") if action else Dial()
    dial.conference(
        call_sid, beep=False, start_conference_on_enter=True,
        end_conference_on_exit=end_on_exit, status_callback_method="POST",
        status_callback=router.url(paths.CONFERENCE_STATUS, call=call_sid),
        status_callback_event=CONFERENCE_EVENTS, **recording,
    )
    return dial


# --- the caller's side of the conference ---------------------------------------------------


def _resume(params: MultiDict[str, str], queue_result: str | None = None) -> TwiML:
    """Hand a continuation over to the flow engine (the flow's own URL query came along)."""
    if queue_result is not None:
        params = params.copy()
        params["QueueResult"] = queue_result
    return get_engine().resume(params, writes=final_writes())


@bp.post(paths.QUEUE_RESULT)
@twilio_webhook("voice", required=("CallSid", "call"), late_claim=True)
def result(params: MultiDict[str, str]) -> TwiML:
    """The caller's <Enqueue> action (via=queue) and their conference <Dial> action
    (via=conf): the flow goes on once (Router.continuation)."""
    via = params.get("via", "queue")
    verdict = get_router().continuation(params["call"], via, params.get("QueueResult", ""),
                                        params.get("g", ""))
    if verdict == "ignore":
        return VoiceResponse()  # Twilio does not play it: the call was moved by REST
    return _resume(params, "bridged" if via == "conf" else None)


@bp.post(paths.QUEUE_JOIN)
@twilio_webhook("voice", required=("call",), late_claim=True)
def join(params: MultiDict[str, str]) -> TwiML:
    """Where Router.accept's REST update sends the caller: their agent's conference."""
    router = get_router()
    call = params["call"]
    verdict, action, generation = router.join(call)
    if verdict == "done":
        # the agent hung up before we got here: the flow goes on as after the call
        merged = params.copy()
        for key, value in parse_qsl(urlsplit(router.result_url(call, "conf", action,
                                                                      generation)).query):
            merged[key] = value
        return _resume(merged, "bridged")
    if verdict != "ok":
        response = VoiceResponse()
        response.hangup()
        return response
    response = VoiceResponse()
    notice = router.recording.notice(call)  # a recorded queue: told before joining
    if notice:
        response.say(notice)
    response.append(conference_dial(router, call,
                                    action=router.result_url(call, "conf", action,
                                                             generation),
                                    **router.recording.conference_attrs(call, caller_side=True)))
    return response


@bp.post(paths.QUEUE_BACK)
@twilio_webhook("voice", required=("call",))
def back(params: MultiDict[str, str]) -> TwiML:
    """A caller transferred back into a line (REST move): their <Enqueue> again."""
    response = get_router().back_in_line(params["call"])
    if response is None:
        response = VoiceResponse()
        response.hangup()
    return response


@bp.post(paths.CONFERENCE_STATUS)
@twilio_webhook("callback", required=("call", "StatusCallbackEvent"))
def conference_status(params: MultiDict[str, str]) -> TwiML | None:
    try:
        seq = int(params.get("SequenceNumber", "0") or 0)
    except ValueError:
        seq = 0
    get_router().conference_event(params["call"], params["StatusCallbackEvent"],
                                  params.get("CallSid", ""), params.get("ConferenceSid", ""),
                                  seq)
    return None


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
