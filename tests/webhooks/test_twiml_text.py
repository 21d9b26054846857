"""`ivr.webhooks.twiml_text` writes exactly what twilio-python's `str(response)` writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml import GenericNode
from twilio.twiml import TwiML as Node
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from ivr.webhooks.twiml_text import to_text

# Any text a form can carry (strict UTF-8, so no lone surrogates), with the characters
# either escaper treats specially over-represented.
TEXT = st.text(
    alphabet=st.one_of(st.sampled_from('&<>"\'\r\n\t =;:/?#'),
                       st.characters(blacklist_categories=("Cs",))),
    max_size=12,
)
NAME = st.sampled_from(["Say", "Play", "Gather", "Dial", "Number", "Redirect", "Pause",
                        "Parameter", "Message", "Body", "Media"])
ATTR = st.sampled_from(["action", "method", "num_digits", "timeout", "language", "voice",
                        "from_", "xml_lang", "interpret_as", "loop", "url"])
VALUE = st.one_of(TEXT, st.booleans(), st.integers(-5, 500), st.none())


@st.composite
def documents(draw: st.DrawFn, depth: int = 0) -> Node:
    node: Node = VoiceResponse() if depth == 0 else GenericNode(
        draw(NAME), draw(st.one_of(st.none(), TEXT, st.dictionaries(TEXT, TEXT, max_size=2))),
        **draw(st.dictionaries(ATTR, VALUE)))
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 0))):
        if draw(st.booleans()):
            node.nest(draw(TEXT))  # a string among the verbs: text or a tail
        else:
            node.nest(draw(documents(depth + 1)))
    return node


@settings(max_examples=400, deadline=None)
@given(documents())
def test_generated_documents_match_twilio_python(document: Node) -> None:
    assert to_text(document) == document.to_xml()


def test_real_verbs_match_twilio_python() -> None:
    voice = VoiceResponse()
    gather = voice.gather(action="/twilio/voice/step?kind=gather&at=menu&seq=1",
                          num_digits=1, timeout=5, action_on_empty_result=True,
                          language="en-GB", input="dtmf speech")
    gather.say('Press 1 for "sales" & 2 for <support>.', voice="Polly.Amy", language="en-GB")
    gather.play("https://example.com/prompts/menu.mp3", loop=2)
    voice.redirect("/twilio/voice/step?kind=gather&at=menu&seq=2", method="POST")
    voice.enqueue("sales", wait_url="/twilio/queue/wait?q=sales", action="/x")
    dial = voice.dial(caller_id="+15005550006", timeout=20, record="record-from-answer")
    dial.conference("room-1", start_conference_on_enter=True, end_conference_on_exit=False)
    voice.hangup()
    sms = MessagingResponse()
    sms.message("Line one\nline two & more", to="+15005550100").media("https://e.x/a.png")
    empty = VoiceResponse()
    for document in (voice, sms, empty):
        assert to_text(document) == str(document)


def test_a_string_passes_unchanged() -> None:
    assert to_text("<Response/>") == "<Response/>"

