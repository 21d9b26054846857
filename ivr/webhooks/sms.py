"""The messaging endpoint of product.md §2: agents' status texts, then customers' flows."""

from __future__ import annotations

from flask import Blueprint
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from ivr.context import get_router, get_texting
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("sms", __name__)


@bp.post("/twilio/sms")
@twilio_webhook("sms", required=("From", "To"))
def incoming(params: MultiDict[str, str]) -> TwiML:
    reply = get_router().handle_agent_sms(params)
    if reply is not None:
        response = MessagingResponse()
        response.message(reply)
        return response
    return get_texting().incoming(params)
