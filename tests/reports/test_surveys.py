"""Surveys by text: sent once after an agent call (opt-out honoured, not after a survey by
key), a reply 1-5 scored on the contact and in the reports, anything else left alone."""

from __future__ import annotations

from ivr import keys
from ivr.flows import optout
from ivr.reports.contacts import Contact
from ivr.reports.recorder import SURVEY_THANKS, ContactRecorder
from tests.routing.conftest import agents_of

SERVICE = "+15005550006"
QUEUES = {"sales": {"survey_by_text": "How did we do? Reply 1 to 5."}}


def recorder_for(setup, twilio, clock, r) -> ContactRecorder:
    _, reports = setup(QUEUES, agents_of(1))
    return ContactRecorder(r, None, reports.contacts, reports,  # type: ignore[arg-type]
                           caller=lambda sid: None, clock=clock, twilio=twilio)


def served(n: int, clock, **kw: object) -> Contact:
    base: dict[str, object] = {"id": f"CA{n}", "channel": "voice", "start": clock() - 60,
                               "end": clock(), "number": f"+1555000000{n}",
                               "service_number": SERVICE, "queue": "sales",
                               "agents": ["a00"], "outcome": "connected"}
    base.update(kw)
    return Contact(**base)  # type: ignore[arg-type]


def test_texted_once_and_a_score_lands_on_the_contact_and_reports(setup, twilio, clock, r):
    rec = recorder_for(setup, twilio, clock, r)
    contact = served(1, clock)
    rec.contacts.put(contact)
    rec._text_survey(contact)
    assert [(t["to"], t["from_"], t["body"]) for t in twilio.texts] == [
        ("+15550000001", SERVICE, "How did we do? Reply 1 to 5.")]
    assert rec.survey_reply("+15550000001", SERVICE, "hello") is None  # to the flows
    assert rec.survey_reply("+15550000001", SERVICE, "7") is None  # off the scale
    clock.advance(30)
    assert rec.survey_reply("+15550000001", SERVICE, " 4 ") == SURVEY_THANKS
    got = rec.contacts.get("CA1")
    assert got is not None and (got.survey, got.survey_scale, got.survey_at) == (4, 5, clock())
    assert rec.survey_reply("+15550000001", SERVICE, "5") is None  # one score per contact
    cells = rec.reports.stored()
    slot = int(clock() * 1000) // 900_000
    assert cells[("q", "sales", slot, "surveys")] == 1
    assert cells[("a", "a00", slot, "survey_total")] == 4
    assert cells == rec.reports.rebuild()


def test_no_text_when_opted_out_rated_by_key_or_not_served(setup, twilio, clock, r):
    rec = recorder_for(setup, twilio, clock, r)
    optout.opt_out(r, "+15550000001")
    rec._text_survey(served(1, clock))
    rec._text_survey(served(2, clock, survey=5, survey_scale=5))
    rec._text_survey(served(3, clock, outcome="abandoned", agents=[]))
    rec._text_survey(served(4, clock, queue="support"))  # a queue without survey_by_text
    assert twilio.texts == []
    assert r.keys(keys.survey_pending("*", "*")) == []


def test_the_reply_waits_a_day(setup, twilio, clock, r):
    rec = recorder_for(setup, twilio, clock, r)
    contact = served(1, clock)
    rec.contacts.put(contact)
    rec._text_survey(contact)
    assert 86_000 < r.ttl(keys.survey_pending("+15550000001", SERVICE)) <= 86_400

