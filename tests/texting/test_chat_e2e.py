"""Texters talk to agents by text, end to end: the app over HTTP, Twilio simulated.

A texter walks the sms flow into a `chat: true` queue; the agent's own phone gets
the offer and answers by text; messages are relayed both ways through the service
number, so neither side sees the other's number."""

from __future__ import annotations

from typing import Any

from tests.texting.conftest import HOURS, SERVICE
from tests.waiting import wait_until

TEXTER = "+14155550123"
TEXTER2 = "+14155550177"
WA_TEXTER = "whatsapp:+14155550188"
ALICE = "+15005550101"
BOB = "+15005550102"
TOKEN = "chat-e2e-admin-token"

CHAT_QUEUES = """
support:
  skills: [support]
  ring_timeout: 30
  max_wait: 600
  wrap_up: 5
  chat: true
  chat_capacity: 3
  survey_by_text: "How did we do? Reply 1 (poor) to 5 (great)."
  dispositions: [solved, follow-up]
billing:
  skills: [billing]
  ring_timeout: 30
  max_wait: 600
  wrap_up: 0
  chat: true
"""

CHAT_AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{support: 5}}
bob:
  name: Bob Stone
  phone: "{BOB}"
  skills: {{billing: 5}}
"""

CHAT_FLOW = f"""
numbers: ["{SERVICE}", "*"]
channels: [sms]
start: menu
steps:
  menu:
    menu: "Reply 1 for support, 2 for billing."
    options: {{1: support, 2: billing}}
    fallback: bye
  support:
    queue: support
    overflow: nobody
  billing:
    queue: billing
    overflow: nobody
  nobody:
    hangup: "Nobody can answer texts right now."
  bye:
    hangup: "Bye."
"""

FILES_CHAT = {"queues.yaml": CHAT_QUEUES, "agents.yaml": CHAT_AGENTS, "hours.yaml": HOURS,
              "text.yaml": CHAT_FLOW}


def texts_to(lv: Any, number: str) -> list[str]:
    return [m.body for m in lv.sim.inbox(number)]


def senders_to(lv: Any, number: str) -> set[str]:
    return {m.from_ for m in lv.sim.inbox(number)}


def wait_text(lv: Any, number: str, needle: str, timeout: float = 10) -> None:
    wait_until(lambda: any(needle in t for t in texts_to(lv, number)), timeout)


def sign_on(lv: Any, phone: str) -> None:
    assert "available" in lv.sim.send_sms(phone, SERVICE, "ON")[0]


def test_texter_reaches_agent_by_phone_relay_done_survey(live):
    lv = live(FILES_CHAT)
    sign_on(lv, ALICE)
    assert "Reply 1" in lv.sim.send_sms(TEXTER, SERVICE, "hi")[0]
    replies = lv.sim.send_sms(TEXTER, SERVICE, "1")
    assert replies == ["An agent will be with you shortly."]
    wait_text(lv, ALICE, "New text from +1 415… (support)")
    offer = texts_to(lv, ALICE)[-1]
    assert TEXTER not in offer and "Reply A" in offer and '"1"' not in offer
    assert lv.sim.send_sms(ALICE, SERVICE, "A") == []
    wait_text(lv, TEXTER, "Alice has joined the conversation.")
    # relay both ways, masked: each side only ever hears from the service number
    lv.sim.send_sms(TEXTER, SERVICE, "My order is late", [("https://img.test/a.jpg",
                                                          "image/jpeg")])
    wait_text(lv, ALICE, "My order is late")
    relayed = [m for m in lv.sim.inbox(ALICE) if m.body == "My order is late"]
    assert relayed[0].media == ["https://img.test/a.jpg"]
    lv.sim.send_sms(ALICE, SERVICE, "Sorry! Checking now.")
    wait_text(lv, TEXTER, "Sorry! Checking now.")
    assert senders_to(lv, TEXTER) == {SERVICE} and senders_to(lv, ALICE) == {SERVICE}
    assert all(ALICE not in t for t in texts_to(lv, TEXTER))
    # a late A (its offer rang out a moment before) never reaches the texter
    assert "No text is waiting for your answer" in lv.sim.send_sms(ALICE, SERVICE, "A")[0]
    assert "A" not in texts_to(lv, TEXTER)
    # the commands of the agents' phones never reach the texter
    status = lv.sim.send_sms(ALICE, SERVICE, "STATUS")[0]
    assert "available" in status and "You have 1 text conversation open" in status
    assert not any("STATUS" in t for t in texts_to(lv, TEXTER))
    lv.sim.send_sms(ALICE, SERVICE, "DONE")
    wait_text(lv, TEXTER, "This conversation has ended.")
    wait_text(lv, TEXTER, "How did we do?")
    wait_text(lv, ALICE, "You are wrapping up")
    router = lv.app.extensions["ivr.router"]
    [chat] = [c for c in router.chats.of_agent("alice")]
    assert chat.state == "wrap" and chat.outcome == "answered"
    bodies = [(m["by"], m["body"]) for m in router.chats.transcript(chat.id)]
    # the menu choice that led here ("1") is not a message for the agent
    assert bodies == [("system", "Alice Jones joined"),
                      ("texter", "My order is late"), ("agent", "Sorry! Checking now."),
                      ("system", "Ended by Alice Jones")]
    lv.sim.assert_no_errors()


def test_two_conversations_addressed_by_number_and_transfer(live):
    lv = live(FILES_CHAT)
    sign_on(lv, ALICE)
    sign_on(lv, BOB)
    for number in (TEXTER, TEXTER2):
        lv.sim.send_sms(number, SERVICE, "hello")
        lv.sim.send_sms(number, SERVICE, "1")
        wait_until(lambda: texts_to(lv, ALICE) and "Reply A" in texts_to(lv, ALICE)[-1])
        lv.sim.send_sms(ALICE, SERVICE, "A")
        wait_text(lv, number, "Alice has joined")
    lv.sim.send_sms(TEXTER2, SERVICE, "second here")
    wait_text(lv, ALICE, "#2 second here")
    # without a number, alice is asked which conversation
    assert "start your reply with its number" in lv.sim.send_sms(ALICE, SERVICE, "hi")[0]
    lv.sim.send_sms(ALICE, SERVICE, "#1 to the first")
    lv.sim.send_sms(ALICE, SERVICE, "#2 to the second")
    wait_text(lv, TEXTER, "to the first")
    wait_text(lv, TEXTER2, "to the second")
    assert "to the second" not in texts_to(lv, TEXTER)
    assert "to the first" not in texts_to(lv, TEXTER2)
    listing = lv.sim.send_sms(ALICE, SERVICE, "LIST")[0]
    assert "#1 +1 415…" in listing and "#2 +1 415…" in listing
    # transfer #2 to billing: bob gets it and talks to the texter
    lv.sim.send_sms(ALICE, SERVICE, "#2 XFER billing")
    wait_text(lv, TEXTER2, "transferred to our billing team")
    wait_text(lv, BOB, "New text from +1 415… (billing)")
    lv.sim.send_sms(BOB, SERVICE, "A")
    wait_text(lv, TEXTER2, "Bob has joined")
    lv.sim.send_sms(TEXTER2, SERVICE, "for bob")
    wait_text(lv, BOB, "for bob")
    assert "for bob" not in "".join(texts_to(lv, ALICE))
    router = lv.app.extensions["ivr.router"]
    chat = router.chats.open_of(TEXTER2, SERVICE)
    assert chat.agents == ["alice", "bob"] and chat.transfers == 1
    lv.sim.assert_no_errors()


def test_stop_mid_conversation_ends_it_and_nothing_more_is_sent(live):
    lv = live(FILES_CHAT)
    sign_on(lv, ALICE)
    wa_service = "whatsapp:" + SERVICE
    lv.sim.send_sms(WA_TEXTER, wa_service, "hi")
    lv.sim.send_sms(WA_TEXTER, wa_service, "1")
    wait_text(lv, ALICE, "New text from +1 415…")
    lv.sim.send_sms(ALICE, SERVICE, "A")
    wait_text(lv, WA_TEXTER, "Alice has joined")
    # WhatsApp both ways: the texter hears from whatsapp:+service
    assert senders_to(lv, WA_TEXTER) == {wa_service}
    stop_reply = lv.sim.send_sms(WA_TEXTER, wa_service, "STOP")
    assert "unsubscribed" in stop_reply[0]
    wait_text(lv, ALICE, "opted out; the conversation has ended")
    before = len(lv.sim.inbox(WA_TEXTER))
    assert lv.sim.send_sms(ALICE, SERVICE, "are you there?")  # told there is nothing open
    router = lv.app.extensions["ivr.router"]
    assert router.chats.open_of(WA_TEXTER, wa_service) is None
    assert len(lv.sim.inbox(WA_TEXTER)) == before
    lv.sim.assert_no_errors()


def test_nobody_logged_in_overflows_and_call_swaps_for_a_callback(live):
    lv = live(FILES_CHAT, admin_token=TOKEN)
    lv.sim.send_sms(TEXTER, SERVICE, "hi")
    assert lv.sim.send_sms(TEXTER, SERVICE, "1") == ["Nobody can answer texts right now."]
    lv.sim.send_sms(ALICE, SERVICE, "BREAK")  # logged in, not free: the texter waits
    lv.sim.send_sms(TEXTER, SERVICE, "hi")
    [queued] = lv.sim.send_sms(TEXTER, SERVICE, "1")
    assert queued.startswith("You're number 1 in line for an agent")
    # the wallboard's queue figures count texters waiting (chat queues only)
    board = lv.app.test_client().get("/api/wallboard",
                                     headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    figures = {q["queue"]: q for q in board["queues"]}
    assert figures["support"]["chat"] and figures["support"]["texts_waiting"] == 1
    assert figures["billing"]["texts_waiting"] == 0
    [called] = lv.sim.send_sms(TEXTER, SERVICE, "call me")
    assert "call back" in called
    router = lv.app.extensions["ivr.router"]
    assert router.chats.open_of(TEXTER, SERVICE) is None
    assert [w["kind"] for w in router.waiting()] == ["callback"]
