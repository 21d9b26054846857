"""The messaging endpoint of product.md §2: agents' status texts, then customers' flows."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.datastructures import MultiDict

from ivr.context import get_texting
from ivr.webhooks.agent_line import agent_sms_answer
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("sms", __name__)


@bp.post("/twilio/sms")
@twilio_webhook("sms", required=("From", "To"))
def incoming(params: MultiDict[str, str]) -> TwiML:
    reply = agent_sms_answer(params)
    if reply is not None:
        return reply
    return get_texting().incoming(params)
