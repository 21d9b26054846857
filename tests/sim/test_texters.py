"""Scripted texting people: texts reach their handlers in order, after the REST call that
sent them returned; an agent's phone answers offers and relayed messages; the record
holds every text either way (media and whatsapp: addresses kept)."""

from __future__ import annotations

import random
import threading
from xml.sax.saxutils import escape

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.sim.people import Phone
from ivr.sim.records import SimMessage
from ivr.sim.texters import AgentTextPhone, Conversation, Text, Texter
from ivr.sim.twilio import TwilioSim

from .canned import ACCOUNT_SID, AUTH_TOKEN, resp
from .conftest import Canned

SERVICE, AGENT = "+15005550006", "+15005550101"
TEXTER = "whatsapp:+15551230001"


def client_for(sim: TwilioSim) -> Client:
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = sim.api_url
    return client


def test_rest_texts_reach_the_handler_in_order_after_the_call_returned(
    canned: Canned, sim: TwilioSim
) -> None:
    seen: list[tuple[str, bool]] = []
    lock = threading.Lock()

    @canned.twiml("/twilio/sms")
    def sms(p: dict[str, str]) -> str:
        client = client_for(sim)
        for i in range(5):
            client.messages.create(to=AGENT, from_=SERVICE, body=f"{p['Body']} {i}",
                                       media_url=[p["MediaUrl0"]] if i == 0 else None)
        return resp(f"<Message>got {escape(p['Body'])}</Message>")

    def handler(msg: SimMessage) -> None:
        # the REST answer was made (and sent: the phone gets it when the response closes)
        answered = any(r.status == 201 and r.params.get("Body") == [msg.body]
                       for r in sim.record.snapshot()["rest_requests"])
        with lock:
            seen.append((msg.body, answered))

    sim.on_text(AGENT, handler)
    texter = Texter(sim, TEXTER, "whatsapp:" + SERVICE)
    sent = texter.send("hi", [("https://example.com/p.jpg", "image/jpeg")])
    assert sent.replies == ["got hi"] and sent.status == 200 and sent.via == "inbound"
    assert texter.wait_for("got hi", 5) is not None
    assert sim.texts_settled(5)
    assert seen == [(f"hi {i}", True) for i in range(5)]
    texts = sim.texts
    assert [(m.via, m.from_, m.to) for m in texts][:2] == [
        ("inbound", TEXTER, "whatsapp:" + SERVICE), ("rest", SERVICE, AGENT)]
    assert texts[0].media == ["https://example.com/p.jpg"]
    assert texts[1].media == ["https://example.com/p.jpg"]  # media_url on Messages.json
    assert [m.seq for m in texts] == list(range(1, len(texts) + 1))
    # the <Message> reply kept the whatsapp: addresses, and reached the texter's handler
    assert texts[-1].via == "twiml" and texts[-1].to == TEXTER
    assert texts[-1].from_ == "whatsapp:" + SERVICE
    assert texter.bodies() == ["got hi"]
    assert sim.inbox("whatsapp:" + SERVICE) == []  # what the app got is not an inbox
    sim.assert_no_errors()


def test_texter_schedule_waits_for_what_it_expects(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/sms")
    def sms(p: dict[str, str]) -> str:
        if p["Body"] == "hello":
            return resp("<Message>Reply 1 for hours</Message>")
        return resp(f"<Message>you said {escape(p['Body'])}</Message>")

    texter = Texter(sim, "+15551230002", SERVICE, [
        "hello", Text("1", when="reply 1", after=5), Text("never", when="nothing like it",
                                                          within=50)]).start()
    texter.wait(5)
    assert [m.body for m in texter.sent] == ["hello", "1"]
    assert texter.bodies() == ["Reply 1 for hours", "you said 1"]
    assert texter.stopped_at == 2


def test_agent_phone_answers_offers_and_relayed_messages(canned: Canned, sim: TwilioSim) -> None:
    """A canned relay: the texter's first text is offered to the agent, whose `A` joins
    them (the phone greets them), the next ones are relayed; `#1 ...` goes back to the
    texter, `#1 DONE` ends it."""
    state = {"joined": False, "done": False}
    sim.phones[AGENT] = Phone()  # (only texts here)

    @canned.twiml("/twilio/sms")
    def sms(p: dict[str, str]) -> str:
        client = client_for(sim)
        body, who = p["Body"], p["From"]
        if who == AGENT:
            if body == "A":
                state["joined"] = True
                client.messages.create(to=AGENT, from_=SERVICE,
                                       body="You're texting with +1 555… (sales).")
                client.messages.create(to=TEXTER, from_="whatsapp:" + SERVICE,
                                       body="Alice has joined the conversation.")
            elif body == "#1 DONE":
                state["done"] = True
                client.messages.create(to=AGENT, from_=SERVICE,
                                       body="Conversation with +1 555… ended.")
                client.messages.create(to=TEXTER, from_="whatsapp:" + SERVICE,
                                       body="This conversation has ended.")
            elif body.startswith("#1 "):
                client.messages.create(to=TEXTER, from_="whatsapp:" + SERVICE, body=body[3:])
            else:
                return resp("<Message>Sorry?</Message>")
            return resp()
        if not state["joined"]:
            client.messages.create(to=AGENT, from_=SERVICE,
                                   body=f'New text: "{body}" Reply A to accept, D to decline.')
        elif not state["done"]:
            client.messages.create(to=AGENT, from_=SERVICE, body=body)
        return resp()

    def words(conv: Conversation) -> str:
        return f"answer to {conv.got[-1].body}" if conv.got else "hello"

    phone = AgentTextPhone(sim, AGENT, SERVICE, rng=random.Random(1), replies=(2, 2),
                           think=(1, 2), reply_text=words)
    texter = Texter(sim, TEXTER, "whatsapp:" + SERVICE, [
        "first words", Text("second", when="hello"), Text("third", when="answer to second")])
    texter.start().wait(10)
    assert texter.wait_for("has ended", 10) is not None
    assert sim.texts_settled(10)
    assert [m.body for m in phone.sent] == ["A", "#1 hello", "#1 answer to second", "#1 DONE"]
    assert texter.bodies() == ["Alice has joined the conversation.", "hello",
                               "answer to second", "This conversation has ended."]
    (conv,) = phone.history
    assert conv.ended == "done" and [m.body for m in conv.got] == ["second", "third"]
    assert conv.offer is not None and '"first words"' in conv.offer.body
    assert phone.conversations == {}
    assert [c for _, c in phone.offers] == ["accept"]
    sim.assert_no_errors()


def test_agent_phone_does_not_answer_an_offer_gone_meanwhile(canned: Canned,
                                                             sim: TwilioSim) -> None:
    @canned.twiml("/twilio/sms")
    def sms(p: dict[str, str]) -> str:
        return resp()

    client = client_for(sim)
    phone = AgentTextPhone(sim, AGENT, SERVICE, think=(100, 100))  # 0.2 s here
    client.messages.create(to=AGENT, from_=SERVICE, body='New text: "hi" Reply A to accept.')
    client.messages.create(to=AGENT, from_=SERVICE,
                           body="The text from +1 555… is no longer waiting for you.")
    client.messages.create(to=AGENT, from_=SERVICE, body='New text: "yo" Reply A to accept.')
    client.messages.create(to=AGENT, from_=SERVICE, body='New text: "hey" Reply A to accept.')
    assert sim.texts_settled(5)
    assert [c for _, c in phone.offers] == ["accept"] * 3
    assert [m.body for m in phone.sent] == ["A"]  # the newest offer's answer only
    assert phone.accepted and '"hey"' in phone.accepted[0].body
    sim.assert_no_errors()
