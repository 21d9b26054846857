"""The voice endpoints users paste into Twilio, and the flow engine's own callbacks.

HTTP in, a call on the engine (or, for an agent's own phone, the router), TwiML
out. The engine gets the webhook's parameters as a plain mapping and the
decorator's pipeline (`final_writes()`); inside a webhook its last writes go to
the delivery (`ivr.replay`) and out with the replay-cache write in one script call.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from werkzeug.datastructures import MultiDict

from ivr import paths, replay
from ivr.context import final_writes, get_engine, get_reporting, get_router, get_texting
from ivr.webhooks.agent_line import agent_line_answer
from ivr.webhooks.common import TwiML, flow_for_request, on_error_twiml, twilio_webhook

bp = Blueprint("voice", __name__)
log = logging.getLogger("ivr.webhooks.voice")


@bp.post(paths.VOICE)
@twilio_webhook("voice", required=("CallSid", "From", "To"), late_claim=True)
def incoming(params: MultiDict[str, str]) -> TwiML:
    """A call comes in: an agent calling from their own phone, or a customer.

    The delivery is claimed late (`ivr.replay`): a customer's first turn is
    computed, then committed with its answer in one script call.
    """
    if get_router().agent_by_phone(params.get("From", "")) is not None:
        replay.before_side_effect()  # the agent's line changes the agent: claim first
    agent_line = agent_line_answer(params)
    if agent_line is not None:
        return agent_line
    return get_engine().incoming(params, writes=final_writes())


@bp.post(paths.VOICE_STEP)
@twilio_webhook("voice", required=("CallSid",), late_claim=True)
def step(params: MultiDict[str, str]) -> TwiML:
    """Every way back into a flow: Gather, Record, Dial and Enqueue actions, Redirects.

    The engine claims the delivery with its state read (one script call).
    """
    return get_engine().resume(params, writes=final_writes())


@bp.post(paths.VOICE_FALLBACK)
@twilio_webhook("voice", replay=False)
def fallback(params: MultiDict[str, str]) -> TwiML:
    """Twilio calls this when our primary handler failed: answer from memory, no Redis."""
    return on_error_twiml(flow_for_request(params, "voice"), "voice")


@bp.post(paths.VOICE_STATUS)
@twilio_webhook("callback", required=("CallSid",))
def status(params: MultiDict[str, str]) -> TwiML | None:
    """Call progress: a hang-up ends the call's flow state and any queue wait or offer."""
    get_engine().status(params)
    get_router().call_ended(params["CallSid"], params.get("CallStatus", ""))
    # Last, so it sees what the engine and the router made of the hang-up: the flow's
    # missed_call text to a caller who hung up in a queue or called after hours.
    try:
        get_texting().after_call(params)
    except Exception:  # a failed courtesy text must not undo the hang-up bookkeeping
        log.exception("missed-call text for %s failed", params.get("CallSid"))
    get_reporting().call_ended(params)  # the contact record (logs, never raises)
    return None


@bp.post(paths.VOICE_TRANSCRIPTION)
@twilio_webhook("callback", required=("RecordingSid",))
def transcription(params: MultiDict[str, str]) -> TwiML | None:
    get_engine().transcription(params)
    return None
