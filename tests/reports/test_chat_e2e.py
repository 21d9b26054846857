"""Text conversations with agents end to end, through the real app and the Twilio simulator:
a texter reaches Alice by text, she answers from her phone, ends it with DONE and files a
disposition, the texter rates it by text; another texter opts out while waiting. The
contact records and the reports are read back over HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import requests

from ivr import keys
from ivr.reports.intervals import QUEUE_COLUMNS
from tests.texting.conftest import SERVICE, write_flows
from tests.texting.test_chat_e2e import (
    ALICE,
    BOB,
    FILES_CHAT,
    TEXTER,
    WA_TEXTER,
    sign_on,
    texts_to,
    wait_text,
)
from tests.waiting import wait_until

SURVEY = "How did we do? Reply 1 (poor) to 5 (great)."


def test_a_conversation_with_an_agent_is_one_contact_and_counts(
        live_factory: Callable[..., Any], callflows_dir: Any) -> None:
    lv = live_factory(write_flows(callflows_dir, FILES_CHAT))
    reporting = lv.app.extensions["ivr.reports"]
    # the relay asks the reports for the survey when an agent ends a conversation
    lv.app.extensions["ivr.chat_relay"].survey = reporting.chat_survey
    router = lv.app.extensions["ivr.router"]
    api = f"{lv.url}/api"
    sign_on(lv, ALICE)

    # 1. a texter reaches Alice, who answers from her phone, replies, and ends it
    lv.sim.send_sms(TEXTER, SERVICE, "hi")
    lv.sim.send_sms(TEXTER, SERVICE, "1")
    wait_text(lv, ALICE, "New text from +1 415… (support)")
    lv.sim.send_sms(ALICE, SERVICE, "A")
    wait_text(lv, TEXTER, "Alice has joined the conversation.")
    lv.sim.send_sms(TEXTER, SERVICE, "My order is late", [("https://img.test/a.jpg",
                                                          "image/jpeg")])
    wait_text(lv, ALICE, "My order is late")
    lv.sim.send_sms(ALICE, SERVICE, "Sorry! Checking now.")
    wait_text(lv, TEXTER, "Sorry! Checking now.")
    [chat] = router.chats.of_agent("alice")
    lv.sim.send_sms(ALICE, SERVICE, "DONE")
    wait_text(lv, TEXTER, SURVEY)
    router.chats.wrapup("alice", chat.id, "solved")
    assert lv.sim.send_sms(TEXTER, SERVICE, " 5 ") == ["Thank you for your feedback!"]

    # 2. another texter (WhatsApp) waits for billing (Bob on a break) and opts out
    sign_on(lv, BOB)
    lv.sim.send_sms(BOB, SERVICE, "BREAK")
    wa_service = "whatsapp:" + SERVICE
    lv.sim.send_sms(WA_TEXTER, wa_service, "hi")
    [queued] = lv.sim.send_sms(WA_TEXTER, wa_service, "2")
    assert queued.startswith("You're number 1 in line")
    assert "unsubscribed" in lv.sim.send_sms(WA_TEXTER, wa_service, "STOP")[0]
    lv.sim.assert_no_errors()

    # the contact records (the timer thread folds the events by itself)
    contacts = wait_until(lambda: (lambda got: got if len(got) == 2 and got[0]["survey"]
                                   else None)(
        requests.get(f"{api}/contacts", timeout=10).json()), timeout=15)
    served, gone = contacts
    assert served["id"] == chat.id and gone["id"].startswith("ch-")
    assert (served["channel"], served["number"], served["service_number"]) == (
        "sms", TEXTER, SERVICE)
    assert (served["queue"], served["agents"], served["outcome"], served["transfers"]) == (
        "support", ["alice"], "connected", 0)
    assert (served["disposition"], served["survey"], served["survey_scale"]) == (
        "solved", 5, 5)
    assert served["flow"] == "text" and served["steps"] == ["text.menu", "text.support"]
    assert served["wait"] >= 0 and served["talk"] >= 0 and served["first_response"] >= 0
    assert served["wrap"] >= 0
    assert [(m["by"], m["agent"], m["body"]) for m in served["transcript"]] == [
        ("system", "alice", "Alice Jones joined"),
        ("texter", None, "My order is late"), ("agent", "alice", "Sorry! Checking now."),
        ("system", "alice", "Ended by Alice Jones")]
    assert served["transcript"][1]["media"] == [{"url": "https://img.test/a.jpg",
                                                "type": "image/jpeg"}]
    assert all(served["start"] <= m["at"] <= served["end"] for m in served["transcript"])
    assert (gone["channel"], gone["number"], gone["queue"], gone["outcome"]) == (
        "whatsapp", WA_TEXTER.removeprefix("whatsapp:"), "billing", "stopped")
    assert gone["agents"] == [] and gone["wait"] >= 0 and gone["survey"] is None
    assert not any("How did we do" in t for t in texts_to(lv, WA_TEXTER))
    for params, ids in (({"number": TEXTER}, [chat.id]), ({"queue": "billing"}, [gone["id"]]),
                        ({"agent": "alice"}, [chat.id])):
        got = requests.get(f"{api}/contacts", params=params, timeout=10).json()
        assert [c["id"] for c in got] == ids, params
    exported = requests.get(f"{api}/contacts", params={"format": "csv"}, timeout=10).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["id"] for r in rows] == [chat.id, gone["id"]] and "transcript" not in rows[0]
    assert 89 * 86_400 < lv.redis.ttl(keys.contact(chat.id)) <= 90 * 86_400

    # the reports: chats counted apart, no call figure moved
    support = requests.get(f"{api}/reports", params={"queue": "support", "interval": "day"},
                           timeout=10).json()["rows"][0]
    assert (support["chats_offered"], support["chats_handled"], support["chats_abandoned"],
            support["chat_surveys"], support["chat_csat"]) == (1, 1, 0, 1, 5.0)
    assert support["chat_frt"] is not None and support["chat_aht"] is not None
    assert (support["offered"], support["answered"], support["surveys"]) == (0, 0, 0)
    billing = requests.get(f"{api}/reports", params={"queue": "billing", "interval": "day"},
                           timeout=10).json()["rows"][0]
    assert (billing["chats_offered"], billing["chats_abandoned"]) == (1, 1)
    alice = requests.get(f"{api}/reports", params={"agent": "alice", "interval": "day"},
                         timeout=10).json()["rows"][0]
    assert (alice["chats_handled"], alice["handled"], alice["chat_surveys"]) == (1, 0, 1)
    table = requests.get(f"{api}/reports", params={"queue": "support", "interval": "day",
                                                   "format": "csv"}, timeout=10).text
    assert next(csv.reader(io.StringIO(table))) == list(QUEUE_COLUMNS)
    reports = reporting.reports
    reports.fold()
    assert reports.stored() == reports.rebuild()


def test_a_transferred_conversation_counts_each_agents_part(
        live_factory: Callable[..., Any], callflows_dir: Any) -> None:
    """Alice transfers the texter to billing, where Bob ends it: one contact with both
    agents; Alice's part counts in her handle time although `chat_transfer` gives none."""
    lv = live_factory(write_flows(callflows_dir, FILES_CHAT))
    api = f"{lv.url}/api"
    sign_on(lv, ALICE)
    sign_on(lv, BOB)
    lv.sim.send_sms(TEXTER, SERVICE, "hi")
    lv.sim.send_sms(TEXTER, SERVICE, "1")
    wait_text(lv, ALICE, "New text from +1 415… (support)")
    lv.sim.send_sms(ALICE, SERVICE, "A")
    wait_text(lv, TEXTER, "Alice has joined")
    lv.sim.send_sms(ALICE, SERVICE, "Let me pass you to billing.")
    lv.sim.send_sms(ALICE, SERVICE, "XFER billing")
    wait_text(lv, BOB, "New text from +1 415… (billing)")
    lv.sim.send_sms(BOB, SERVICE, "A")
    wait_text(lv, TEXTER, "Bob has joined")
    lv.sim.send_sms(BOB, SERVICE, "Refund on its way.")
    wait_text(lv, TEXTER, "Refund on its way.")
    lv.sim.send_sms(BOB, SERVICE, "DONE")
    wait_text(lv, TEXTER, "This conversation has ended.")
    lv.sim.assert_no_errors()

    [contact] = wait_until(lambda: requests.get(f"{api}/contacts", timeout=10).json(),
                           timeout=15)
    assert (contact["queue"], contact["agents"], contact["transfers"], contact["outcome"]) == (
        "billing", ["alice", "bob"], 1, "connected")
    assert [(m["by"], m["agent"]) for m in contact["transcript"] if m["by"] == "agent"] == [
        ("agent", "alice"), ("agent", "bob")]
    rows = {who: requests.get(f"{api}/reports", params={**params, "interval": "day"},
                              timeout=10).json()["rows"][0]
            for who, params in (("support", {"queue": "support"}),
                                ("billing", {"queue": "billing"}),
                                ("alice", {"agent": "alice"}), ("bob", {"agent": "bob"}))}
    assert (rows["support"]["chats_offered"], rows["support"]["chats_handled"],
            rows["support"]["chat_transfers_out"]) == (1, 1, 1)
    assert (rows["billing"]["chats_offered"], rows["billing"]["chats_handled"],
            rows["billing"]["chat_transfers_out"]) == (1, 1, 0)
    for who in ("support", "billing", "alice", "bob"):
        assert rows[who]["chat_aht"] is not None and rows[who]["chat_frt"] is not None, who
    assert rows["alice"]["chat_transfers_out"] == 1
    reports = lv.app.extensions["ivr.reports"].reports
    reports.fold()
    assert reports.stored() == reports.rebuild()
