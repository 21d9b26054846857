"""Opt-out keywords win for every sender, agents included: an agent's phone that texts
STOP is opted out like anyone's, and nothing is texted back to it until START."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import count

import redis

from ivr.flows import optout
from ivr.flows.texting import START_CONFIRMATION, STOP_CONFIRMATION
from tests.security.conftest import ALICE, SERVICE

_sids = count(1)


def text(app, body: str, sender: str = ALICE) -> list[str]:
    """Texts `body` from `sender` (dev mode, from loopback); the `<Message>` bodies back."""
    resp = app.test_client().post("/twilio/sms", data={
        "MessageSid": f"SM{next(_sids):032d}", "From": sender, "To": SERVICE, "Body": body})
    assert resp.status_code == 200
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


def status(app, agent: str = "alice") -> str:
    return next(a["status"] for a in app.extensions["ivr.router"].agents() if a["id"] == agent)


def test_stop_from_an_agent_phone_opts_it_out(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    assert text(app, "STOP") == [STOP_CONFIRMATION]
    assert optout.is_opted_out(r, ALICE)
    # Every synonym, any case and punctuation, from an agent's phone too.
    optout.opt_in(r, ALICE)
    assert text(app, " unsubscribe! ") == [STOP_CONFIRMATION]
    assert optout.is_opted_out(r, ALICE)


def test_opted_out_agent_gets_no_reply_and_runs_no_command(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    app.extensions["ivr.router"].set_agent_status("alice", "available", source="test")
    text(app, "STOP")
    assert text(app, "STATUS") == []
    assert text(app, "OFF") == []
    assert text(app, "HELP") == []
    assert status(app) == "available"  # nothing ran: opted out means ignored but for START


def test_start_from_an_agent_phone_opts_back_in(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    text(app, "STOP")
    assert text(app, "unstop") == [START_CONFIRMATION]
    assert not optout.is_opted_out(r, ALICE)
    # Back in: the agent's commands answer again.
    [reply] = text(app, "STATUS")
    assert "Alice Jones, you are logged out." in reply
    [reply] = text(app, "ON")
    assert "available" in reply and status(app) == "available"


def test_agent_commands_still_answer_a_subscribed_agent(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    [reply] = text(app, "STATUS")
    assert reply.startswith("Alice Jones, you are")
    # START from an agent who never opted out is not an opt-in: the agents' help.
    [reply] = text(app, "START")
    assert "Text ON to take calls" in reply
    assert not optout.is_opted_out(r, ALICE)


def test_voicemail_notice_is_not_texted_to_an_agent_who_said_stop(make_app, r: redis.Redis
                                                                   ) -> None:
    """The agent's STOP is stored, so the guarded send of every notice holds it back."""
    from ivr.flows import voicemail
    from ivr.sim.twilio import TwilioSim
    from ivr.twilio_client import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN

    # Dev mode's placeholder credentials, which the simulator accepts.
    sim = TwilioSim(account_sid=DEV_ACCOUNT_SID, auth_token=DEV_AUTH_TOKEN)
    sim.start()
    try:
        app = make_app(twilio_auth_token=None, twilio_api_url=sim.api_url)
        twilio = app.extensions["ivr.twilio"]
        text(app, "STOP")
        voicemail.save(r, "vm1", box="alice", caller="+15551230001", called=SERVICE,
                       call_sid="CA" + "1" * 32, flow="main",
                       recording_url="https://api.twilio.com/r.wav", duration=5)
        sent = voicemail.notify_owner(r, twilio, "vm1", owner=ALICE, from_=SERVICE, box="alice",
                                      caller="+15551230001", duration=5,
                                      recording_url="https://api.twilio.com/r.wav")
        assert sent is False
        assert sim.inbox(ALICE) == []
        # START: the next notice goes out.
        text(app, "START")
        voicemail.save(r, "vm2", box="alice", caller="+15551230001", called=SERVICE,
                       call_sid="CA" + "2" * 32, flow="main",
                       recording_url="https://api.twilio.com/r2.wav", duration=5)
        assert voicemail.notify_owner(r, twilio, "vm2", owner=ALICE, from_=SERVICE, box="alice",
                                      caller="+15551230001", duration=5,
                                      recording_url="https://api.twilio.com/r2.wav")
        assert len(sim.inbox(ALICE)) == 1
    finally:
        sim.stop()
