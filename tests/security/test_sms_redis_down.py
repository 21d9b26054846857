"""Redis unreachable on the messaging endpoint: nothing is texted to a number whose
opt-out cannot be checked, and a STOP is confirmed (as Twilio's own opt-out handling
would) and kept until Redis answers again."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from itertools import count

import pytest
import redis
from flask import Flask

from ivr.app import create_app
from ivr.flows import optout
from ivr.flows.texting import STOP_CONFIRMATION
from ivr.store import connect
from tests.security.conftest import DEMO, SERVICE, TEXTER

_sids = count(1)


@pytest.fixture()
def app_without_redis() -> Flask:
    # Port 1 on loopback: connections are refused at once.
    return create_app({"redis_url": "redis://127.0.0.1:1/0", "callflows": DEMO,
                       "background": False, "twilio_auth_token": None})


def text(app: Flask, body: str, sender: str = TEXTER) -> list[str]:
    resp = app.test_client().post("/twilio/sms", data={
        "MessageSid": f"SM{next(_sids):032d}", "From": sender, "To": SERVICE, "Body": body})
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


def test_no_apology_to_a_number_whose_opt_out_cannot_be_checked(
        app_without_redis: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for body in ("hello", "HELP", "START", "ON"):
        assert text(app_without_redis, body) == [], body
    assert "opt-out cannot be checked" in caplog.text


def test_stop_is_confirmed_and_stored_when_redis_answers_again(
        app_without_redis: Flask, r: redis.Redis, redis_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert text(app_without_redis, "Stop.") == [STOP_CONFIRMATION]
    assert "could not be stored" in caplog.text and TEXTER in caplog.text
    assert not optout.is_opted_out(r, TEXTER)
    # Redis is back (same app, now reaching the test's server): the next text through
    # this worker stores the opt-out before anything else runs.
    app_without_redis.extensions["ivr.redis"] = connect(redis_url)
    text(app_without_redis, "anything", sender="+14155550111")
    assert optout.is_opted_out(r, TEXTER)


def test_a_fault_with_redis_up_still_apologises_to_a_subscribed_texter(
        make_app, r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(twilio_auth_token=None)

    def broken(params: object) -> None:
        raise RuntimeError("a bug in the text engine")

    monkeypatch.setattr(app.extensions["ivr.texting"], "incoming", broken)
    [apology] = text(app, "hello")
    assert "trouble" in apology
    # ...but not to one who opted out.
    optout.opt_out(r, TEXTER)
    assert text(app, "hello again") == []
