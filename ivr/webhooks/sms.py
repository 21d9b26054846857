"""The messaging endpoint of product.md §2, in three stages, in this order:

1. **opt-out** for every sender, agents' phones included: a STOP word opts the
   sender out, and an opted-out number gets nothing back (START opts it in) —
   the text engine's opt-out rules answer these and nothing else runs;
2. **agents' commands** (ON, OFF, BREAK, STATUS from an agent's own phone),
   reached only by a number that has not opted out, so their replies are
   checked like every other text;
3. **the flows**, for everyone else (the text engine, which applies the same
   opt-out rules first for its own senders).
"""

from __future__ import annotations

from flask import Blueprint
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import get_redis, get_router, get_texting
from ivr.flows import optout
from ivr.webhooks.common import TwiML, twilio_webhook

bp = Blueprint("sms", __name__)


def opt_out_first(params: MultiDict[str, str]) -> bool:
    """True when the opt-out rules alone answer this text.

    A STOP word from anyone; any text from an agent's phone that has opted
    out. Customers' opt-outs are checked by the text engine itself (stage 3),
    so a customer's text costs no extra round trip here; an agent's phone is
    known from memory (the router's phone book).
    """
    if optout.keyword(params.get("Body", "")) in optout.STOP_WORDS:
        return True
    sender = params.get("From", "")
    if get_router().agent_by_phone(sender) is None:
        return False
    return optout.is_opted_out(get_redis(), sender)


@bp.post(paths.SMS)
@twilio_webhook("sms", required=("From", "To"))
def incoming(params: MultiDict[str, str]) -> TwiML:
    # 1. opt-out first, for every sender
    if opt_out_first(params):
        return get_texting().incoming(params)
    # 2. agents' commands
    reply = get_router().handle_agent_sms(params)
    if reply is not None:
        response = MessagingResponse()
        response.message(reply)
        return response
    # 3. the flows
    return get_texting().incoming(params)
