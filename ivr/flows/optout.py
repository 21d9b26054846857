"""Opt-out: who asked us to stop texting them, and the one guarded way to send a text.

Carriers (and Twilio's own Advanced Opt-Out) treat STOP and its synonyms as
binding: once a number opts out, nothing more may be sent to it until it opts
back in. So this module keeps the opt-outs in Redis (one key per number,
shared by every worker) and offers `send_text`, which every outbound text of
the server goes through — the flows' `message` steps, voicemail and callback
notices, the missed-call text. A sender who says STOP on WhatsApp is opted
out on SMS too: the opt-out is stored per bare number (without `whatsapp:`),
which is the safe reading of "nothing is sent to them".

Keywords count only as the whole message, in any case, with
surrounding whitespace and punctuation ignored: "stop", " STOP! " and "Stop."
opt out; "please stop texting me" does not (Twilio's rule too).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Sequence

import redis
from prometheus_client import Counter
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from ivr import keys
from ivr.flows.templates import xml_safe

log = logging.getLogger("ivr.flows.optout")

STOP_WORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

MAX_BODY = 1600  # Twilio refuses longer message bodies (error 21617)
WHATSAPP = "whatsapp:"

TEXTS = Counter("ivr_texts_total", "Outbound texts by outcome (sent, opted-out, failed)",
                ["outcome"])
OPT_CHANGES = Counter("ivr_sms_optouts_total", "Opt-out keyword changes", ["change"])

def bare_number(address: str) -> str:
    """"whatsapp:+15551230000" -> "+15551230000"; other addresses unchanged."""
    address = address.strip()
    return address[len(WHATSAPP):] if address.lower().startswith(WHATSAPP) else address


def _noise(ch: str) -> bool:
    """Whitespace, punctuation, symbols (emoji) and control characters."""
    return unicodedata.category(ch)[0] in "PSZC"


def keyword(body: str) -> str | None:
    """The keyword a whole message is ("STOP", "START", "HELP", ...), or None.

    Surrounding whitespace and punctuation (and symbols such as emoji) are
    ignored; anything else in the message makes it not a keyword.
    """
    text = unicodedata.normalize("NFKC", body or "")
    first, last = 0, len(text)
    while first < last and _noise(text[first]):
        first += 1
    while last > first and _noise(text[last - 1]):
        last -= 1
    word = text[first:last]
    word = word.upper()
    if word in STOP_WORDS or word in START_WORDS or word in HELP_WORDS:
        return word
    return None


def is_opted_out(store: redis.Redis, number: str) -> bool:
    """True when `number` (any form: +E.164 or whatsapp:+E.164) has opted out."""
    return bool(store.exists(keys.optout(bare_number(number))))


def opt_out(store: redis.Redis, number: str) -> bool:
    """Record the opt-out; True when it is new (so the confirmation goes out only once)."""
    changed = bool(store.set(keys.optout(bare_number(number)), repr(time.time()), nx=True))
    if changed:
        OPT_CHANGES.labels("out").inc()
    return changed


def opt_in(store: redis.Redis, number: str) -> bool:
    """Lift an opt-out; True when the number was opted out."""
    changed = bool(store.delete(keys.optout(bare_number(number))))
    if changed:
        OPT_CHANGES.labels("in").inc()
    return changed


def split_body(text: str, limit: int = MAX_BODY) -> list[str]:
    """A long text as bodies of at most `limit` characters, cut at whitespace when possible."""
    text = xml_safe(text).strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def send_text(
    store: redis.Redis,
    twilio: Client,
    *,
    to: str,
    from_: str,
    body: str,
    media: Sequence[str] | None = None,
) -> bool:
    """Send a text through Twilio's REST API unless `to` has opted out.

    True when Twilio accepted every part; False when the number opted out
    (nothing is sent), there is nothing to send, or Twilio refused. A body over
    1,600 characters goes as several messages. A WhatsApp recipient gets the
    `whatsapp:` prefix on the sender too (Twilio requires both or neither).
    """
    if not to or not from_:
        log.warning("text to %r from %r: no address", to, from_)
        return False
    if is_opted_out(store, to):
        TEXTS.labels("opted-out").inc()
        log.info("text to %s not sent: opted out", to)
        return False
    if to.lower().startswith(WHATSAPP) and not from_.lower().startswith(WHATSAPP):
        from_ = WHATSAPP + from_
    elif from_.lower().startswith(WHATSAPP) and not to.lower().startswith(WHATSAPP):
        from_ = bare_number(from_)
    parts = split_body(body) or ([""] if media else [])
    if not parts:
        return False
    try:
        for i, part in enumerate(parts):
            extra: dict[str, object] = {}
            if media and i == len(parts) - 1:
                extra["media_url"] = list(media)
            twilio.messages.create(to=to, from_=from_, body=part, **extra)
    except (TwilioException, OSError) as exc:
        TEXTS.labels("failed").inc()
        log.warning("text to %s failed: %s", to, exc)
        return False
    TEXTS.labels("sent").inc()
    return True
