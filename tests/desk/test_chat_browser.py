"""One text conversation from the desk, driven as an agent would drive it, through the real
HTTP server and the Twilio simulator, in headless Chromium at a desktop's width and at a
phone's (390 px).

Alice signs in by the link texted to her phone and makes herself available. A texter
answers the text flow's question (an order number) and reaches a queue that talks by
text; Alice's desk shows the offer with the texter's first message and the queue's
script filled in with the order number. She accepts on the desk (the texter is told she
joined), replies from the desk (the texter's inbox gets it from the service number), and
the texter's answer shows in the pane within two seconds; a reply she texts from her
phone shows there too. She ends the conversation (the texter is thanked) and files the
wrap-up with a disposition and notes.

Each state is a screenshot in artifacts/ (desk-chat-VIEWPORT-N-STATE.png); docs/desk.md
names them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ivr import keys
from ivr.flows.chat_relay import CLOSED_TEXTER, JOINED_TEXTER
from ivr.sim.people import Phone
from tests.browser import ARTIFACTS, VIEWPORTS, playwright_or_skip, wait_until
from tests.desk.chatcompany import ALICE, BOB, SERVICE, write_company
from tests.desk.conftest import open_desk

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()

TOKEN = "desk-chat-token"
TEXTER, OTHER = "+14155550142", "+14155550143"











@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_text_conversation_from_offer_to_wrap_up(live_factory: Any, callflows_dir: Path,
                                                  browser: Any, size: str) -> None:
    expect = sync_api.expect
    live = live_factory(write_company(callflows_dir), admin_token=TOKEN)
    sim = live.sim
    sim.phones[ALICE] = Phone(hangup_after=None)
    ARTIFACTS.mkdir(exist_ok=True)
    width = VIEWPORTS[size]["viewport"]["width"]

    def shot(page: Any, n: int, state: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, state
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"desk-chat-{size}-{n}-{state}.png"),
                        full_page=True)

    def texts_to(number: str) -> list[str]:
        return [m.body for m in sim.inbox(number)]

    # --- Alice signs in and is available; nothing to show yet ---------------------------
    alice = open_desk(browser, live, ALICE, VIEWPORTS[size])
    alice.click("#status-panel button[data-set=available]")
    expect(alice.locator("#status-pill")).to_have_text("available")
    expect(alice.locator("#no-conv")).to_be_visible()
    expect(alice.locator("#conv")).to_be_hidden()

    # --- 1. a texter answers the flow and reaches the queue: the offer on the desk -------
    assert sim.send_sms(TEXTER, SERVICE, "Hello") == ["Hi! What is your order number?"]
    sim.send_sms(TEXTER, SERVICE, "4417")
    expect(alice.locator("#conv-offer")).to_be_visible(timeout=5000)
    expect(alice.locator("#conv-tabs button")).to_have_count(1)
    expect(alice.locator("#conv-tabs button")).to_contain_text(TEXTER)
    expect(alice.locator("#conv-tabs button")).to_contain_text("support")
    expect(alice.locator("#conv-who")).to_contain_text(TEXTER)
    expect(alice.locator("#conv-state")).to_have_text("offered")
    expect(alice.locator("#conv-messages li")).to_have_count(1)
    expect(alice.locator("#conv-messages")).to_contain_text("4417")
    expect(alice.locator("#conv-script strong")).to_have_text("4417")
    expect(alice.locator("#conv-form")).to_be_hidden()  # nothing to send before accepting
    alice.click("#conv-history summary")
    expect(alice.locator("#conv-vars")).to_contain_text("4417")
    shot(alice, 1, "offer")

    # --- 2. accept; replies both ways --------------------------------------------------
    alice.click("#conv-accept")
    expect(alice.locator("#conv-state")).to_have_text("active", timeout=5000)
    expect(alice.locator("#conv-offer")).to_be_hidden()
    expect(alice.locator("#conv-tabs button")).to_contain_text("#1 ")
    wait_until("the texter is told Alice joined",
               lambda: JOINED_TEXTER.format(first_name="Alice") in texts_to(TEXTER))
    assert not any("Jones" in t or ALICE in t for t in texts_to(TEXTER))  # first name only
    alice.fill("#conv-text", "Hi! I'm looking at order 4417 now.")
    alice.click("#conv-send")
    wait_until("the desk's reply reaches the texter",
               lambda: "Hi! I'm looking at order 4417 now." in texts_to(TEXTER))
    [reply] = [m for m in sim.inbox(TEXTER) if m.body == "Hi! I'm looking at order 4417 now."]
    assert reply.from_ == SERVICE
    expect(alice.locator("#conv-text")).to_have_value("")
    sim.send_sms(TEXTER, SERVICE, "Thanks! It was due Monday.")
    sent = time.monotonic()
    expect(alice.locator("#conv-messages li").last).to_contain_text(
        "Thanks! It was due Monday.", timeout=2000)
    assert time.monotonic() - sent <= 2.0
    # what Alice texts from her phone is the same conversation: it shows on the desk
    sim.send_sms(ALICE, SERVICE, "It ships today.")
    wait_until("the phone's reply reaches the texter",
               lambda: "It ships today." in texts_to(TEXTER))
    expect(alice.locator("#conv-messages li").last).to_contain_text("It ships today.",
                                                                    timeout=2000)
    expect(alice.locator("#conv-messages li").last).to_contain_text("from the phone")
    shot(alice, 2, "active")

    # --- 3. End: the texter is thanked; the wrap-up form ----------------------------------
    alice.click("#conv-end")
    expect(alice.locator("#conv-wrapup")).to_be_visible(timeout=5000)
    expect(alice.locator("#conv-state")).to_have_text("wrap-up")
    expect(alice.locator("#conv-form")).to_be_hidden()
    expect(alice.locator("#conv-controls")).to_be_hidden()
    wait_until("the texter is thanked",
               lambda: CLOSED_TEXTER in texts_to(TEXTER))
    alice.select_option("#conv-disposition", "solved")
    alice.fill("#conv-notes", "Shipped today; customer happy")
    shot(alice, 3, "wrap-up")

    # --- 4. wrap-up filed: the conversation leaves the desk, its notes are kept ----------
    alice.click("#conv-wrapup-done")
    expect(alice.locator("#no-conv")).to_be_visible(timeout=5000)
    expect(alice.locator("#conv")).to_be_hidden()
    expect(alice.locator("#banner")).to_be_hidden()
    [chat_id] = [k for k in live.redis.hkeys(keys.acd("chats"))]
    record = live.app.extensions["ivr.router"].chats.get(chat_id)
    assert (record.state, record.disposition, record.agents) == ("ended", "solved", ["alice"])
    assert "Shipped today" in (live.redis.get(keys.call_wrapup(chat_id)) or "")
    shot(alice, 4, "done")
    assert alice.errors == []
    sim.assert_no_errors()


def test_two_conversations_a_declined_offer_and_a_transfer(live_factory: Any,
                                                           callflows_dir: Path,
                                                           browser: Any) -> None:
    """Tabs at a desktop's width: a second texter arrives while Alice answers the first
    (their tab says new, the page title counts it); while she reads that offer, the
    first texter's tab counts their new message; she declines the offer and transfers
    the first conversation to billing, where Bob's desk is offered it with its
    transcript, and his reply reaches the texter."""
    expect = sync_api.expect
    live = live_factory(write_company(callflows_dir), admin_token=TOKEN)
    sim = live.sim
    sim.phones[ALICE] = Phone(hangup_after=None)
    sim.phones[BOB] = Phone(hangup_after=None)
    viewport = VIEWPORTS["desktop"]
    alice = open_desk(browser, live, ALICE, viewport)
    bob = open_desk(browser, live, BOB, viewport)
    for page in (alice, bob):
        page.click("#status-panel button[data-set=available]")
        expect(page.locator("#status-pill")).to_have_text("available")
    tabs = alice.locator("#conv-tabs button")

    # the first texter, accepted
    sim.send_sms(TEXTER, SERVICE, "Hello")
    sim.send_sms(TEXTER, SERVICE, "4417")
    expect(alice.locator("#conv-offer")).to_be_visible(timeout=5000)
    alice.click("#conv-accept")
    expect(alice.locator("#conv-state")).to_have_text("active", timeout=5000)

    # a second texter: a new tab, the first conversation stays in view
    sim.send_sms(OTHER, SERVICE, "Hi")
    sim.send_sms(OTHER, SERVICE, "9001")
    expect(tabs).to_have_count(2, timeout=5000)
    expect(tabs.nth(0)).to_contain_text(OTHER)
    expect(tabs.nth(0).locator(".badge")).to_have_text("new")
    expect(alice.locator("#conv-who")).to_contain_text(TEXTER)
    assert alice.title().startswith("(1) New text")
    alice.fill("#conv-text", "Let me check with")  # a draft, kept while she looks away
    tabs.nth(0).click()
    expect(alice.locator("#conv-offer")).to_be_visible()
    expect(alice.locator("#conv-messages")).to_contain_text("9001")
    # the first texter writes while Alice reads the offer: their tab counts it
    sim.send_sms(TEXTER, SERVICE, "Can billing help?")
    expect(tabs.nth(1).locator(".badge")).to_have_text("1", timeout=2000)
    alice.click("#conv-decline")
    expect(tabs).to_have_count(1, timeout=5000)
    expect(alice.locator("#conv-who")).to_contain_text(TEXTER)
    expect(tabs.locator(".badge")).to_have_count(0)  # shown now: read
    assert not alice.title().startswith("(")
    expect(alice.locator("#conv-messages li").last).to_contain_text("Can billing help?")
    expect(alice.locator("#conv-text")).to_have_value("Let me check with")

    # the transfer to billing: off Alice's desk, offered on Bob's
    expect(alice.locator("#conv-transfer-queue option")).to_have_text(["billing"])
    alice.click("#conv-transfer-go")
    expect(tabs).to_have_count(0, timeout=5000)
    expect(alice.locator("#no-conv")).to_be_visible()
    expect(bob.locator("#conv-offer")).to_be_visible(timeout=5000)
    expect(bob.locator("#conv-where")).to_contain_text("billing")
    expect(bob.locator("#conv-messages")).to_contain_text("Can billing help?")
    bob.click("#conv-accept")
    expect(bob.locator("#conv-state")).to_have_text("active", timeout=5000)
    bob.fill("#conv-text", "Bob from billing here.")
    bob.click("#conv-send")
    wait_until("Bob's reply reaches the texter",
               lambda: any(m.body == "Bob from billing here." for m in sim.inbox(TEXTER)))
    ARTIFACTS.mkdir(exist_ok=True)
    bob.screenshot(path=str(ARTIFACTS / "desk-chat-desktop-5-transferred-bob.png"),
                   full_page=True)
    assert alice.errors == [] and bob.errors == []
    sim.assert_no_errors()
