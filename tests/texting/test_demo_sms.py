"""The demo company (callflows/, Acme Bikes) by text, end to end through the simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ivr.sim.people import Phone
from tests.waiting import wait_until

from .conftest import TEXTER

Live = Any
DEMO_NUMBER = "+15005550006"
BOB = "+15005550102"
OPEN = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
CLOSED = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Tuesday 22:00 in New York
MENU = ("Reply 1 (or SALES) for a call back from sales, 2 (or HOURS) for our opening hours, "
        "3 (or AGENT) to text with our support team.")


def demo(live_factory: Callable[..., Live], now: datetime) -> Live:
    lv = live_factory()  # the bundled callflows/ folder
    assert lv.app.extensions["ivr.flows"].current.flows, "the demo folder was refused"
    lv.app.extensions["ivr.texting"].clock = lambda: now
    return lv


def test_demo_menu_by_word_and_digit(live_factory: Callable[..., Live]) -> None:
    lv = demo(live_factory, OPEN)
    sim = lv.sim
    assert sim.send_sms(TEXTER, DEMO_NUMBER, "Hello") == ["Hi from Acme Bikes!\n" + MENU]
    assert sim.send_sms(TEXTER, DEMO_NUMBER, "HOURS?") == [
        "We're open Monday to Friday 9:00-17:30 and Saturday 10:00-14:00 (New York time).\n"
        "Thanks for texting Acme Bikes!"]
    sim.send_sms(TEXTER, DEMO_NUMBER, "hi")
    assert sim.send_sms(TEXTER, DEMO_NUMBER, "2")[0].startswith("We're open Monday")
    sim.assert_no_errors()


def test_demo_closed_and_help(live_factory: Callable[..., Live]) -> None:
    lv = demo(live_factory, CLOSED)
    sim = lv.sim
    assert sim.send_sms(TEXTER, DEMO_NUMBER, "help") == [
        "Acme Bikes: reply MENU to start over, STOP to opt out."]
    assert sim.send_sms(TEXTER, DEMO_NUMBER, "hi") == [
        "Hi from Acme Bikes!",
        "We're closed right now. Text us again during opening hours: Monday to Friday "
        "9:00-17:30, Saturday 10:00-14:00 (New York time).",
        "Thanks for texting Acme Bikes!"]


def test_demo_whatsapp_call_back_from_sales(live_factory: Callable[..., Live]) -> None:
    lv = demo(live_factory, OPEN)
    sim = lv.sim
    wa = "whatsapp:" + TEXTER
    sim.phones[BOB] = Phone(inputs=["1"], hangup_after=5)
    sim.phones[TEXTER] = Phone(hangup_after=2)
    assert sim.send_sms(wa, "whatsapp:" + DEMO_NUMBER, "hi") == ["Hi from Acme Bikes!\n" + MENU]
    offer = sim.send_sms(wa, "whatsapp:" + DEMO_NUMBER, "call me")
    assert offer[0].startswith("Would you like a call back from our sales team?")
    assert sim.send_sms(wa, "whatsapp:" + DEMO_NUMBER, "yes")[0].startswith(
        "Thank you. You are number 1 in line")
    assert all(m.from_ == "whatsapp:" + DEMO_NUMBER for m in sim.inbox(wa))
    # Bob (sales) logs in; he is offered the callback and his call reaches the texter's phone.
    assert "available" in sim.send_sms(BOB, DEMO_NUMBER, "ON")[0]
    wait_until(lambda: sim.record.calls_to(TEXTER)
               and sim.record.calls_to(TEXTER)[0].status == "completed", 20)
    assert sim.record.calls_to(TEXTER)[0].from_ == DEMO_NUMBER
    sim.assert_no_errors()
