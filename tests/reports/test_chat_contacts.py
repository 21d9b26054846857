"""Contact records of text conversations with agents, kept from the `chat_*` events: one per
conversation (id = the chat id) once it has ended, with its wait, agents, transfers,
outcome, handle time, wrap-up, first response and transcript; the queue's texted survey
scores that record (and counts apart from the calls')."""

from __future__ import annotations

import json

import pytest

from ivr import keys
from ivr.flows import optout
from ivr.reports.contacts import CSV_HEADERS, to_csv
from ivr.reports.recorder import SURVEY_THANKS, ContactRecorder
from ivr.routing.chats import ChatRecord
from tests.reports.chatlog import SERVICE, chat_record, log, play_chats
from tests.routing.conftest import agents_of

QUEUES = {"sales": {"survey_by_text": "How did we do? Reply 1 to 5.", "wrap_up": 30},
          "support": {"survey_by_text": "Rate us 1 to 5."}}


def wired(setup, twilio, clock, r):
    """Reports and the recorder, as `Reporting` has them."""
    _, reports = setup(QUEUES, agents_of(2))
    rec = ContactRecorder(r, None, reports.contacts, reports,  # type: ignore[arg-type]
                          caller=lambda sid: None, clock=clock, twilio=twilio)
    return reports, rec


def record(r, chat: str) -> ChatRecord:
    return ChatRecord.from_dict(json.loads(r.hget(keys.acd("chats"), chat)))


@pytest.mark.parametrize("transfer_handle", [True, False])
def test_one_record_per_conversation_once_it_ends(setup, twilio, clock, r,
                                                  transfer_handle) -> None:
    reports, _ = wired(setup, twilio, clock, r)
    r.set(keys.call_wrapup("ch-1"), json.dumps({"disposition": "sale", "notes": "two seats"}))
    t = play_chats(r, clock, transfer_handle=transfer_handle)
    reports.fold()
    got = {c.id: c for c in reports.contacts.find()}
    assert sorted(got) == [f"ch-{n}" for n in range(1, 8)]
    one = got["ch-1"]
    assert (one.channel, one.number, one.service_number, one.flow, one.steps) == (
        "sms", "+14155550101", SERVICE, "text", ["text.hello", "text.menu", "text.agent"])
    assert (one.start, one.end, one.queue, one.wait, one.agents, one.transfers) == (
        t, t + 230, "sales", 30, ["a01"], 0)
    assert (one.outcome, one.talk, one.wrap, one.first_response) == ("connected", 200, 15, 12)
    assert (one.disposition, one.notes) == ("sale", "two seats")
    assert one.transcript == [
        {"at": t, "by": "texter", "agent": None, "body": "Where is my order?", "media": []},
        {"at": t + 30, "by": "system", "agent": None,
         "body": "Bob has joined the conversation.", "media": []},
        {"at": t + 42, "by": "agent", "agent": "a01", "body": "It ships today.", "media": []},
        {"at": t + 230, "by": "system", "agent": None, "body": "Thanks for texting Acme!",
         "media": []}]
    two = got["ch-2"]  # WhatsApp, transferred from sales to support
    assert (two.channel, two.number, two.queue, two.wait, two.agents, two.transfers) == (
        "whatsapp", "+14155550102", "support", 10, ["a00", "a01"], 1)
    assert (two.outcome, two.talk, two.wrap, two.first_response) == ("connected", 160, 5, 20)
    assert two.transcript is not None and two.transcript[0]["media"] == [
        {"url": "https://media.example/1.jpg", "type": "image/jpeg"}]
    outcomes = {c.id: (c.outcome, c.wait, c.agents, c.talk) for c in got.values()}
    assert outcomes["ch-3"] == ("abandoned", 300, [], 0)
    assert outcomes["ch-4"] == ("overflowed", None, [], 0)
    assert outcomes["ch-5"] == ("called back", None, [], 0)
    assert outcomes["ch-6"] == ("stopped", 20, [], 0)  # opted out while waiting
    assert outcomes["ch-7"] == ("stopped", 10, ["a00"], 50)  # opted out with an agent
    # kept IVR_RETENTION_DAYS from the end, like a call's; nothing left in the making
    assert 89 * 86_400 < r.ttl(keys.contact("ch-1")) <= 90 * 86_400
    assert not r.keys(keys.contact_pending("*"))
    # filters, and the CSV's columns unchanged (no transcript in it)
    contacts = reports.contacts
    assert [c.id for c in contacts.find(number="whatsapp:+14155550102")] == ["ch-2"]
    assert [c.id for c in contacts.find(queue="support")] == ["ch-2"]
    assert [c.id for c in contacts.find(agent="a00")] == ["ch-2", "ch-7"]
    assert to_csv([one]).splitlines()[0].split(",") == list(CSV_HEADERS)


def test_not_listed_while_open_and_a_late_wrap_up_patches(setup, twilio, clock, r) -> None:
    reports, _ = wired(setup, twilio, clock, r)
    chat_record(r, "ch-9", texter="+14155550109", queue="sales", t0=clock())
    log(r, clock, "chat_enter", chat="ch-9", queue="sales", number="+14155550109",
        channel="sms")
    clock.advance(5)
    log(r, clock, "chat_connect", chat="ch-9", queue="sales", agent="a00", wait=5)
    reports.fold()
    assert reports.contacts.find() == [] and reports.contacts.get("ch-9") is None
    clock.advance(60)
    log(r, clock, "chat_end", chat="ch-9", queue="sales", agent="a00", outcome="answered",
        handle=60)
    reports.fold()
    ended = reports.contacts.get("ch-9")
    assert ended is not None and (ended.wrap, ended.disposition, ended.transcript) == \
        (0, None, [])
    ttl = r.ttl(keys.contact("ch-9"))
    clock.advance(20)
    log(r, clock, "chat_wrap", chat="ch-9", queue="sales", agent="a00", wrap=20,
        disposition="refund", notes="sent a label")
    reports.fold()
    wrapped = reports.contacts.get("ch-9")
    assert wrapped is not None
    assert (wrapped.wrap, wrapped.disposition, wrapped.notes) == (20, "refund", "sent a label")
    assert r.ttl(keys.contact("ch-9")) <= ttl  # patched in place, the expiry kept


def test_the_texted_survey_scores_the_conversation(setup, twilio, clock, r) -> None:
    """The relay asks for the survey when the agent ends the conversation (before its end
    is folded); a reply scores the conversation's record, counted apart from calls."""
    reports, rec = wired(setup, twilio, clock, r)
    optout.opt_out(r, "+14155550105")
    play_chats(r, clock)
    assert rec.chat_survey(record(r, "ch-1")) == "How did we do? Reply 1 to 5."
    assert rec.chat_survey(record(r, "ch-2")) == "Rate us 1 to 5."  # its queue at the end
    assert r.get(keys.survey_pending("+14155550101", SERVICE)) == "ch-1"
    assert r.get(keys.survey_pending("+14155550102", SERVICE)) == "ch-2"  # WhatsApp: bare
    assert rec.chat_survey(record(r, "ch-7")) is None  # opted out mid-conversation
    assert rec.chat_survey(record(r, "ch-5")) is None  # opted out before
    # a quick reply: the conversation's end is not folded yet, the reply folds it
    assert reports.contacts.get("ch-2") is None
    clock.advance(60)
    assert rec.survey_reply("+14155550102", SERVICE, "4") == SURVEY_THANKS
    scored = reports.contacts.get("ch-2")
    assert scored is not None and (scored.survey, scored.survey_at) == (4, clock())
    assert rec.survey_reply("+14155550101", SERVICE, "5") == SURVEY_THANKS
    support = reports.report(scope="q", names=["support"], start=_day(clock),
                             end=_day(clock, 1), interval="day")[0]
    assert (support["chat_surveys"], support["chat_csat"]) == (1, 4.0)
    assert (support["surveys"], support["csat"]) == (0, None)  # the calls' own score
    a01 = reports.report(scope="a", names=["a01"], start=_day(clock), end=_day(clock, 1),
                         interval="day")[0]
    assert (a01["chat_surveys"], a01["chat_csat"], a01["surveys"]) == (2, 4.5, 0)
    assert twilio.texts == []  # the relay texts the survey, not the reports
    assert reports.stored() == reports.rebuild()


def _day(clock, days: int = 0):
    from datetime import UTC, datetime, timedelta

    midnight = datetime.fromtimestamp(clock(), UTC).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    return midnight + timedelta(days=days)
