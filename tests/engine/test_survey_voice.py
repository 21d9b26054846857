"""The `survey` step on a call: one key through <Gather>, the score kept in the call's vars."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from ivr import keys

from .conftest import VoiceApp

FLOW = """
numbers: ["*"]
language: en-US
voice: Polly.Joanna
steps:
  rate:
    survey: "How did we do? Press 1 for poor up to 5 for great."
    attempts: 2
    next: thanks
    fallback: bye
  thanks:
    say: "You gave us {{ vars.survey }}."
    next: bye
  bye:
    hangup: "Goodbye."
"""


def test_one_key_scores_and_goes_on(voice_app: Callable[..., VoiceApp]) -> None:
    va = voice_app({"main.yaml": FLOW})
    phone = va.phone()
    phone.call()
    gather = phone.gather()
    assert gather.attrib["numDigits"] == "1" and gather.attrib["input"] == "dtmf"
    assert gather.attrib["finishOnKey"] == ""
    assert parse_qs(urlsplit(gather.attrib["action"]).query)["kind"] == ["survey"]
    assert phone.said() == "How did we do? Press 1 for poor up to 5 for great."
    phone.press("4")
    assert phone.said() == "You gave us 4. | Goodbye."
    assert phone.verbs() == ["Say", "Say", "Hangup"]
    state = va.engine.store.hgetall(keys.call(phone.sid))
    assert json.loads(state["vars"]) == {"survey": 4}


def test_a_key_off_the_scale_asks_again_then_fallback(voice_app: Callable[..., VoiceApp]) -> None:
    va = voice_app({"main.yaml": FLOW})
    phone = va.phone()
    phone.call()
    phone.press("7")
    assert phone.said() == ("Sorry, please answer with a number from 1 to 5. | "
                            "How did we do? Press 1 for poor up to 5 for great.")
    phone.silence()  # the second and last attempt
    assert phone.said() == "Goodbye."
    state = va.engine.store.hgetall(keys.call(phone.sid))
    assert json.loads(state["vars"]) == {}
