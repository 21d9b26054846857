"""What a caller or texter gets when something fails: the flow's `on_error`.

Built from the checked flow in memory, never from Redis, so it works when
Redis is away; the web layer answers it for any fault, and the fallback
endpoint answers nothing else.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from ivr.flows.model import Flow, OnError

Kind: TypeAlias = Literal["voice", "sms", "callback"]

GENERIC_APOLOGY = "Sorry, we are having trouble right now. Please call again later."


def on_error_text(flow: Flow | None) -> str:
    """The flow's apology in its default language (the generic one without a flow)."""
    if flow is None:
        return GENERIC_APOLOGY
    text = flow.on_error.say
    if isinstance(text, dict):
        text = text.get(flow.language) or next(iter(text.values()), GENERIC_APOLOGY)
    return str(text)


def on_error_twiml(flow: Flow | None, kind: Kind) -> VoiceResponse | MessagingResponse:
    """The flow's `on_error`: a text and an optional transfer, built without Redis."""
    on_error = flow.on_error if flow else OnError()
    language = flow.language if flow else "en-US"
    text = on_error.say
    if isinstance(text, dict):
        text = text.get(language) or next(iter(text.values()), GENERIC_APOLOGY)
    if kind == "sms":
        sms = MessagingResponse()
        sms.message(text)
        return sms
    voice = VoiceResponse()
    if kind == "callback":
        return voice
    say_args: dict[str, Any] = {"language": language}
    if flow and flow.voice:
        say_args["voice"] = flow.voice
    voice.say(text, **say_args)
    if on_error.dial:
        voice.dial(on_error.dial)
    else:
        voice.hangup()
    return voice
