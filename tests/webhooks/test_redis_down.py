"""The real app with Redis unreachable: Twilio still gets useful TwiML, never a 5xx."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import Flask

from ivr.app import create_app

DEMO = Path(__file__).resolve().parents[2] / "callflows"
CALL = {"CallSid": "CA" + "7" * 32, "From": "+15005550111", "To": "+15005550006",
        "AccountSid": "AC" + "2" * 32, "CallStatus": "ringing"}


@pytest.fixture()
def app_without_redis() -> Flask:
    # Port 1 on loopback: connections are refused at once.
    return create_app({"redis_url": "redis://127.0.0.1:1/0", "callflows": DEMO,
                       "background": False, "twilio_auth_token": None})


def _post(app: Flask, path: str, params: dict[str, str]):
    return app.test_client().post(path, data=params, environ_base={"REMOTE_ADDR": "127.0.0.1"})


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/fallback"])
def test_voice_answers_on_error_without_redis(app_without_redis: Flask, path: str) -> None:
    resp = _post(app_without_redis, path, CALL)
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    flow = app_without_redis.extensions["ivr.flows"].current.flow_for(CALL["To"], "voice")
    on_error = flow.on_error
    expected = on_error.say if isinstance(on_error.say, str) else on_error.say[flow.language]
    assert root.find("Say").text == expected
    if on_error.dial:
        assert root.find("Dial").text == on_error.dial
    else:
        assert root.find("Hangup") is not None


def test_sms_and_status_do_not_5xx_without_redis(app_without_redis: Flask) -> None:
    sms = _post(app_without_redis, "/twilio/sms",
                {"MessageSid": "SM" + "1" * 32, "From": "+15005550111",
                 "To": "+15005550006", "Body": "hello"})
    assert sms.status_code == 200
    assert ET.fromstring(sms.data).tag == "Response"
    status = _post(app_without_redis, "/twilio/voice/status", {**CALL, "CallStatus": "completed"})
    assert status.status_code == 200


def test_healthz_is_503_without_redis(app_without_redis: Flask) -> None:
    resp = app_without_redis.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable"
