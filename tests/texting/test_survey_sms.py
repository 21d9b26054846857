"""The `survey` step by text: the reply is the score."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr import keys

from .conftest import SERVICE, TEXTER

Live = Any

FLOW = f"""
numbers: ["{SERVICE}", "*"]
channels: [voice, sms]
steps:
  rate:
    survey: "How did we do? Reply 1 (poor) to 5 (great)."
    invalid: "Please reply with a number from 1 to 5."
    next: thanks
    fallback: bye
  thanks:
    say: "Thanks for the {{{{ vars.survey }}}}!"
    next: bye
  bye:
    hangup: "Goodbye."
"""


def test_the_reply_is_the_score(live: Callable[..., Live]) -> None:
    lv = live({"main.yaml": FLOW})
    sim = lv.sim
    assert sim.send_sms(TEXTER, SERVICE, "hi") == ["How did we do? Reply 1 (poor) to 5 (great)."]
    assert sim.send_sms(TEXTER, SERVICE, "great") == [
        "Please reply with a number from 1 to 5.\nHow did we do? Reply 1 (poor) to 5 (great)."]
    assert sim.send_sms(TEXTER, SERVICE, " 5! ") == ["Thanks for the 5!\nGoodbye."]
    assert not lv.redis.exists(keys.conversation(TEXTER, SERVICE))
    sim.assert_no_errors()


def test_no_valid_score_takes_fallback(live: Callable[..., Live]) -> None:
    lv = live({"main.yaml": FLOW})
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    sim.send_sms(TEXTER, SERVICE, "0")
    sim.send_sms(TEXTER, SERVICE, "6")
    assert sim.send_sms(TEXTER, SERVICE, "ten") == ["Goodbye."]  # third attempt: fallback
