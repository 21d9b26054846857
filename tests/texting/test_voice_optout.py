"""Opt-out holds on the voice side too: a voice flow's `message` step and a voicemail
notice skip a number that texted STOP (checked on the simulator's REST record)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr.flows import optout
from ivr.sim.people import Caller, Record
from tests.waiting import wait_until

from .conftest import AGENTS, FILES, SERVICE, rest_to

Live = Any
OWNER = "+15005550188"
CALLER = "+14155550166"

VOICE = f"""
numbers: ["{SERVICE}", "*"]
channels: [voice]
steps:
  hello:
    message: "Thanks for calling! Here is our menu: https://acme.example/menu"
    next: leave
  leave:
    record: "Leave a message."
    box: owen
    next: bye
  bye:
    hangup: "Bye."
"""


def test_voice_texts_honour_opt_out(live: Callable[..., Live]) -> None:
    owen = f'owen:\n  name: Owen Box\n  phone: "{OWNER}"\n  skills: {{sales: 1}}\n'
    lv = live({**FILES, "main.yaml": VOICE, "agents.yaml": AGENTS + owen})
    sim = lv.sim
    # Before anyone opts out, both texts go.
    sim.place_call(CALLER, SERVICE, Caller([Record(5)])).wait(20)
    wait_until(lambda: rest_to(lv, CALLER) and rest_to(lv, OWNER), 5)
    # The caller texts STOP; the box owner (an agent: their texts are ON/OFF commands)
    # is opted out in the store directly. The next call texts nobody.
    assert "unsubscribed" in sim.send_sms(CALLER, SERVICE, "STOP")[0]
    assert optout.opt_out(lv.redis, OWNER)
    c = sim.place_call(CALLER, SERVICE, Caller([Record(5)])).wait(20)
    sim.wait_idle(10)
    assert c.said() == ["Leave a message.", "Bye."]
    assert len(rest_to(lv, CALLER)) == 1 and len(rest_to(lv, OWNER)) == 1
    sim.assert_no_errors()
