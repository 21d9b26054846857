"""The REST API through twilio-python's own Client, Record callbacks, and SMS."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.sim.people import Caller, Phone, Record
from ivr.sim.twilio import TwilioSim

from .canned import ACCOUNT_SID, AUTH_TOKEN, resp
from .conftest import Canned

CUSTOMER, NUMBER, AGENT = "+15551230001", "+15005550006", "+15005550101"


def client_for(sim: TwilioSim, token: str = AUTH_TOKEN) -> Client:
    client = Client(ACCOUNT_SID, token, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = sim.api_url
    return client


def test_rest_requires_basic_auth(sim: TwilioSim) -> None:
    url = f"{sim.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    data = {"To": AGENT, "From": NUMBER, "Url": "http://127.0.0.1:1/x"}
    assert requests.post(url, data=data, timeout=5).status_code == 401
    assert requests.post(url, data=data, auth=(ACCOUNT_SID, "wrong"), timeout=5).status_code == 401
    other = url.replace(ACCOUNT_SID, "AC" + "2" * 32)
    assert requests.post(other, data=data, auth=(ACCOUNT_SID, AUTH_TOKEN),
                         timeout=5).status_code == 401
    with pytest.raises(TwilioRestException) as err:
        client_for(sim, "wrong").calls.create(to=AGENT, from_=NUMBER, url="http://x/y")
    assert err.value.status == 401 and err.value.code == 20003
    assert sim.legs == {}


def test_rest_call_rings_phone_runs_url_and_sends_requested_events(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/offer")
    def offer(p: dict[str, str]) -> str:
        if p.get("Digits") == "1":
            return resp("<Say>Accepted</Say>")
        return resp('<Gather numDigits="1"><Say>Sales call. Press 1 to accept.</Say></Gather>')

    @canned.twiml("/status")
    def status(p: dict[str, str]) -> str:
        return ""

    sim.phones[AGENT] = Phone(inputs=["1"], ring_delay=3)
    call = client_for(sim).calls.create(
        to=AGENT, from_=NUMBER, url=canned.url + "/offer", method="POST",
        status_callback=canned.url + "/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        timeout=20,
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    assert call.to == AGENT and call._from == NUMBER and call.direction == "outbound-api"
    sim.call(call.sid).wait(10)
    assert sim.call(call.sid).said() == ["Sales call. Press 1 to accept.", "Accepted"]
    events = canned.hits_to("/status")
    assert [h.params["CallStatus"] for h in events] == [
        "initiated", "ringing", "in-progress", "completed"]
    assert [h.params["SequenceNumber"] for h in events] == ["0", "1", "2", "3"]
    assert all(h.params["Direction"] == "outbound-api" for h in events)
    assert all(h.signature_ok for h in events)
    assert "CallDuration" in events[-1].params and "CallDuration" not in events[0].params
    offer_hit = canned.hits_to("/offer")[0].params
    assert offer_hit["Direction"] == "outbound-api" and offer_hit["To"] == AGENT
    fetched = client_for(sim).calls(call.sid).fetch()
    assert fetched.status == "completed"


def test_rest_call_default_event_is_completed_only_and_no_answer(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/status")
    def status(p: dict[str, str]) -> str:
        return ""

    call = client_for(sim).calls.create(
        to="+15009999999", from_=NUMBER, twiml="<Response><Say>hi</Say></Response>",
        status_callback=canned.url + "/status", timeout=5,
    )
    sim.call(call.sid).wait(10)
    hits = canned.hits_to("/status")
    assert [h.params["CallStatus"] for h in hits] == ["no-answer"]
    assert hits[0].params["SequenceNumber"] == "0"


def test_rest_inline_twiml_busy_and_cancel(canned: Canned, sim: TwilioSim) -> None:
    client = client_for(sim)
    sim.phones["+15000000001"] = Phone(behaviour="busy")
    busy = client.calls.create(to="+15000000001", from_=NUMBER, twiml="<Response/>")
    assert sim.call(busy.sid).wait(10).status == "busy"

    sim.phones[AGENT] = Phone(behaviour="no-answer")
    ringing = client.calls.create(to=AGENT, from_=NUMBER, twiml="<Response/>", timeout=600)
    assert sim.wait_for(lambda: sim.call(ringing.sid).status == "ringing", 5)
    updated = client.calls(ringing.sid).update(status="canceled")
    assert updated.sid == ringing.sid
    assert sim.call(ringing.sid).wait(5).status == "canceled"

    sim.phones["+15000000002"] = Phone(hangup_after=None)
    inline = client.calls.create(
        to="+15000000002", from_=NUMBER,
        twiml="<Response><Say>Your callback</Say><Pause length=\"600\"/></Response>")
    assert sim.wait_for(lambda: sim.call(inline.sid).said() == ["Your callback"], 5)
    client.calls(inline.sid).update(status="completed")
    assert sim.call(inline.sid).wait(5).status == "completed"


def test_rest_update_unknown_call_is_404(sim: TwilioSim) -> None:
    with pytest.raises(TwilioRestException) as err:
        client_for(sim).calls("CA" + "0" * 32).update(url="http://127.0.0.1:1/x")
    assert err.value.status == 404 and err.value.code == 20404


def test_rest_redirect_interrupts_a_caller_waiting_in_queue(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Enqueue waitUrl="/wait" action="/after">sales</Enqueue>')

    @canned.twiml("/wait")
    def wait(p: dict[str, str]) -> str:
        return resp('<Play loop="0">/hold.mp3</Play>')  # forever, unless interrupted

    @canned.twiml("/after")
    def after(p: dict[str, str]) -> str:
        return resp("<Say>not played</Say>")

    @canned.twiml("/overflow")
    def overflow(p: dict[str, str]) -> str:
        return resp("<Say>Please leave a message</Say>")

    call = sim.place_call(CUSTOMER, NUMBER)
    assert sim.wait_for(lambda: sim.switch.size("sales") == 1, 5)
    client_for(sim).calls(call.sid).update(url=canned.url + "/overflow", method="POST")
    call.wait(5)
    assert call.said() == ["Please leave a message"]
    assert canned.hits_to("/after")[0].params["QueueResult"] == "redirected"
    assert sim.switch.size("sales") == 0
    with pytest.raises(TwilioRestException) as err:
        client_for(sim).calls(call.sid).update(url=canned.url + "/overflow")
    assert err.value.code == 21220


def test_record_action_and_callbacks(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp("<Say>Leave a message</Say>",
                    '<Record action="/saved" maxLength="60" transcribeCallback="/transcript" '
                    'recordingStatusCallback="/rec-status"/>')

    @canned.twiml("/saved")
    def saved(p: dict[str, str]) -> str:
        return resp(f"<Say>Got {p['RecordingDuration']} seconds</Say>")

    @canned.twiml("/transcript")
    def transcript(p: dict[str, str]) -> str:
        return ""

    @canned.twiml("/rec-status")
    def rec_status(p: dict[str, str]) -> str:
        return ""

    call = sim.place_call(CUSTOMER, NUMBER, Caller([Record(12, "call me back")])).wait(10)
    assert call.said() == ["Leave a message", "Got 12 seconds"]
    assert ("beep",) in call.transcript
    saved_p = canned.hits_to("/saved")[0].params
    assert saved_p["RecordingSid"].startswith("RE") and saved_p["Digits"] == "#"
    assert requests.get(saved_p["RecordingUrl"], timeout=5).headers["Content-Type"] == "audio/x-wav"
    tr = canned.hits_to("/transcript")[0].params
    assert tr["TranscriptionText"] == "call me back" and tr["TranscriptionStatus"] == "completed"
    assert tr["RecordingSid"] == saved_p["RecordingSid"] and tr["TranscriptionSid"].startswith("TR")
    rs = canned.hits_to("/rec-status")[0].params
    assert rs["RecordingStatus"] == "completed" and rs["RecordingDuration"] == "12"


def test_record_silence_skips_action_and_hangup_posts_it(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Record action="/saved" maxLength="10"/>', "<Say>No message</Say>")

    @canned.twiml("/saved")
    def saved(p: dict[str, str]) -> str:
        return resp("<Say>saved</Say>")

    call = sim.place_call(CUSTOMER, NUMBER).wait(10)  # no input: empty recording
    assert call.said() == ["No message"] and canned.hits_to("/saved") == []
    call = sim.place_call(CUSTOMER, NUMBER, Caller([Record(30, None, finish="hangup")])).wait(10)
    hit = canned.hits_to("/saved")[0].params
    assert hit["Digits"] == "hangup" and hit["RecordingDuration"] == "10"  # maxLength caps it
    assert call.said() == []


def test_messages_create_inbox_and_status_callbacks(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/sms-status")
    def sms_status(p: dict[str, str]) -> str:
        return ""

    msg = client_for(sim).messages.create(
        to=AGENT, from_=NUMBER, body="You are on break",
        media_url=["https://example.com/a.png"], status_callback=canned.url + "/sms-status")
    assert msg.sid.startswith("SM") and msg.status == "queued"
    assert [m.body for m in sim.inbox(AGENT)] == ["You are on break"]
    assert sim.messages[0].media == ["https://example.com/a.png"]
    sim.wait_for(lambda: len(canned.hits_to("/sms-status")) == 2, 5)
    assert [h.params["MessageStatus"] for h in canned.hits_to("/sms-status")] == [
        "sent", "delivered"]
    with pytest.raises(TwilioRestException) as err:
        client_for(sim).messages.create(to=AGENT, from_=NUMBER, body="")
    assert err.value.code == 21602


def test_inbound_sms_params_and_replies(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/sms")
    def sms(p: dict[str, str]) -> str:
        return resp(f"<Message>Echo: {escape(p['Body'])} ({p['NumMedia']} media)</Message>",
                    f'<Message to="{AGENT}"><Body>FYI from {p["From"]}</Body>'
                    "<Media>https://example.com/x.jpg</Media></Message>")

    replies = sim.send_sms("whatsapp:+15551230001", "whatsapp:" + NUMBER, "hello <b>",
                           media=[("https://example.com/p.jpg", "image/jpeg")])
    assert replies == ["Echo: hello <b> (1 media)", "FYI from whatsapp:+15551230001"]
    hit = canned.hits_to("/twilio/sms")[0]
    assert hit.signature_ok
    p = hit.params
    assert p["MessageSid"].startswith("SM") and p["SmsSid"] == p["MessageSid"]
    assert p["From"] == "whatsapp:+15551230001" and p["To"] == "whatsapp:" + NUMBER
    assert p["MediaUrl0"] == "https://example.com/p.jpg"
    assert p["MediaContentType0"] == "image/jpeg" and p["AccountSid"] == ACCOUNT_SID
    assert [m.body for m in sim.inbox("whatsapp:+15551230001")] == ["Echo: hello <b> (1 media)"]
    fyi = sim.inbox(AGENT)[0]
    assert fyi.media == ["https://example.com/x.jpg"] and fyi.from_ == "whatsapp:" + NUMBER
    assert sim.messages == []  # replies are not REST messages


def test_rest_update_with_inline_twiml_replaces_the_document(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Say>Please hold</Say><Pause length="600"/><Say>not reached</Say>')

    call = sim.place_call(CUSTOMER, NUMBER)
    assert sim.wait_for(lambda: call.said() == ["Please hold"], 5)
    client_for(sim).calls(call.sid).update(twiml="<Response><Say>Moved</Say></Response>")
    call.wait(5)
    assert call.said() == ["Please hold", "Moved"]
    assert sim.record.rest_requests[-1].params["Twiml"] == [
        "<Response><Say>Moved</Say></Response>"]


def test_status_jitter_delivers_every_event_possibly_out_of_order(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/status")
    def status(p: dict[str, str]) -> str:
        return ""

    sim.status_jitter = 0.2
    sim.phones[AGENT] = Phone(hangup_after=None)
    sids = [client_for(sim).calls.create(
        to=AGENT if i == 0 else f"+1500000000{i}", from_=NUMBER,
        twiml="<Response><Say>hi</Say></Response>",
        status_callback=canned.url + "/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    ).sid for i in range(3)]
    for sid in sids:
        sim.call(sid).wait(10)
    hits = canned.hits_to("/status")
    answered = [h.params for h in hits if h.params["CallSid"] == sids[0]]
    assert sorted(int(p["SequenceNumber"]) for p in answered) == [0, 1, 2, 3]
    by_seq = {p["SequenceNumber"]: p["CallStatus"] for p in answered}
    assert by_seq == {"0": "initiated", "1": "ringing", "2": "in-progress", "3": "completed"}
    for sid in sids[1:]:  # nobody there: initiated, ringing, no-answer
        statuses = sorted((int(h.params["SequenceNumber"]), h.params["CallStatus"])
                          for h in hits if h.params["CallSid"] == sid)
        assert statuses == [(0, "initiated"), (1, "ringing"), (2, "no-answer")]
