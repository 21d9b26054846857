"""The messaging endpoint, in three stages, in this order:

1. **opt-out** for every sender, agents' phones included: a STOP word opts the
   sender out, and an opted-out number gets nothing back (START opts it in) —
   the text engine's opt-out rules answer these and nothing else runs;
2. **agents' commands** (ON, OFF, BREAK, STATUS from an agent's own phone),
   reached only by a number that has not opted out, so their replies are
   checked like every other text;
3. **the flows**, for everyone else (the text engine, which applies the same
   opt-out rules first for its own senders).

When handling fails (`unanswered`), a `<Message>` goes back only to a number
known not to have opted out: with Redis unreachable the answer is an empty
`<Response/>`, except that a STOP is confirmed and kept to be stored later.
"""

from __future__ import annotations

import logging
import threading

import redis
from flask import Blueprint
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from ivr import paths
from ivr.context import get_redis, get_router, get_texting
from ivr.flows import optout
from ivr.flows.on_error import on_error_twiml
from ivr.flows.texting import STOP_CONFIRMATION
from ivr.webhooks.agent_line import agent_sms_answer
from ivr.webhooks.common import TwiML, flow_for_request, twilio_webhook

log = logging.getLogger("ivr.webhooks.sms")

bp = Blueprint("sms", __name__)


class PendingOptOuts:
    """STOPs confirmed while Redis was unreachable, stored by the next text this
    worker handles. Bounded: past `limit` numbers, the oldest are only in the log."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._numbers: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, number: str) -> None:
        with self._lock:
            self._numbers[optout.bare_number(number)] = None
            while len(self._numbers) > self.limit:
                self._numbers.pop(next(iter(self._numbers)))

    def flush(self, store: redis.Redis) -> None:
        """Store every pending opt-out (free when there is none: no round trip)."""
        if not self._numbers:
            return
        with self._lock:
            numbers = list(self._numbers)
        try:
            for number in numbers:
                optout.opt_out(store, number)
                with self._lock:
                    self._numbers.pop(number, None)
                log.warning("opt-out of %s stored now that Redis answers", number)
        except redis.RedisError:
            pass  # still away: kept for the next text

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and optout.bare_number(number) in self._numbers


PENDING = PendingOptOuts()


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


def unanswered(params: MultiDict[str, str], exc: Exception) -> TwiML:
    """The answer to a text whose handling failed.

    The flow's apology only to a number known not to have opted out; nothing
    when that cannot be checked (Redis unreachable). A STOP is confirmed even
    then: carriers expect the one confirmation, Twilio's own opt-out handling
    sends it anyway where it is on (and then drops ours), and the opt-out is kept
    in this worker (`PENDING`) and logged, to be stored when Redis answers.
    """
    sender = params.get("From", "")
    redis_down = isinstance(exc, redis.RedisError)
    if optout.keyword(params.get("Body", "")) in optout.STOP_WORDS:
        new: bool | None = None  # None: it could not be stored
        if not redis_down:
            try:
                new = optout.opt_out(get_redis(), sender)
            except redis.RedisError:
                new = None
        if new is None:
            PENDING.add(sender)
            log.error("STOP from %s could not be stored (Redis unreachable): confirmed, and "
                      "kept to be stored when Redis answers", sender)
        response = MessagingResponse()
        if new is not False:  # confirmed once, as the text engine does
            response.message(STOP_CONFIRMATION)
        return response
    opted_out: bool | None = True if sender in PENDING else None
    if not redis_down and opted_out is None:
        try:
            opted_out = optout.is_opted_out(get_redis(), sender)
        except redis.RedisError:
            opted_out = None
    if opted_out is False:
        return on_error_twiml(flow_for_request(params, "sms"), "sms")
    if opted_out is None:
        log.warning("text from %s: no reply, its opt-out cannot be checked (Redis unreachable)",
                    sender)
    return MessagingResponse()


@bp.post(paths.SMS)
@twilio_webhook("sms", required=("From", "To"), fault=unanswered)
def incoming(params: MultiDict[str, str]) -> TwiML:
    PENDING.flush(get_redis())
    # 1. opt-out first, for every sender
    if opt_out_first(params):
        return get_texting().incoming(params)
    # 2. agents' commands
    reply = agent_sms_answer(params)
    if reply is not None:
        return reply
    # 3. the flows
    return get_texting().incoming(params)
