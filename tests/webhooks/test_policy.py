"""The error policy every Twilio endpoint shares, on a small
app whose handlers write to Redis, so "nothing changed" can be checked."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import metrics
from ivr.config import Config
from ivr.flows.model import Callflows, Flow, Location, OnError, Step
from ivr.store import connect
from ivr.webhooks.common import twilio_webhook

TOKEN = "test-token-123"
BASE = "http://localhost"
CALL = {"CallSid": "CA" + "1" * 32, "From": "+15005550111", "To": "+15005550006",
        "AccountSid": "AC" + "2" * 32}


def _flow() -> Flow:
    step = Step("hello", "hangup", True, {}, Location("main.yaml", 1, 1))
    return Flow(
        name="main", file="main.yaml", start="hello", steps={"hello": step},
        numbers=["+15005550006"],
        on_error=OnError(say="Sorry, trouble here. Connecting you.", dial="+15005550199"),
    )


def make_app(store: redis.Redis, **config: object) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    cfg = Config(twilio_auth_token=TOKEN).with_overrides(config)
    app.extensions["ivr.config"] = cfg
    app.extensions["ivr.redis"] = store
    app.extensions["ivr.flows"] = SimpleNamespace(current=Callflows(flows={"main": _flow()}))

    @app.post("/twilio/voice")
    @twilio_webhook("voice", required=("CallSid", "From", "To"))
    def voice(params: MultiDict[str, str]) -> VoiceResponse:
        count = store.incr(f"test:handled:{params['CallSid']}")
        response = VoiceResponse()
        response.say(f"Handled {count} times. You said {params.get('SpeechResult', '')}")
        return response

    @app.post("/twilio/boom")
    @twilio_webhook("voice", required=("CallSid",))
    def boom(params: MultiDict[str, str]) -> VoiceResponse:
        raise RuntimeError("a bug in a handler")

    return app


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(app: Flask, path: str, params: dict[str, str], *, signature: str | None = None,
         remote: str = "127.0.0.1", **kwargs: object):
    headers = {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return app.test_client().post(
        path, data=params, headers=headers, environ_base={"REMOTE_ADDR": remote}, **kwargs
    )


def test_signed_request_is_answered_with_twiml(r: redis.Redis) -> None:
    app = make_app(r)
    resp = post(app, "/twilio/voice", CALL, signature=sign(BASE + "/twilio/voice", CALL))
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    assert ET.fromstring(resp.data).tag == "Response"
    assert r.get(f"test:handled:{CALL['CallSid']}") == "1"


@pytest.mark.parametrize("signature", [None, "", "forged+signature=", sign(BASE + "/other", CALL)])
def test_bad_signature_is_403_and_writes_nothing(r: redis.Redis, signature: str | None) -> None:
    app = make_app(r)
    resp = post(app, "/twilio/voice", CALL, signature=signature)
    assert resp.status_code == 403
    assert r.dbsize() == 0


def test_signature_with_wrong_token_is_403(r: redis.Redis) -> None:
    app = make_app(r)
    resp = post(app, "/twilio/voice", CALL,
                signature=sign(BASE + "/twilio/voice", CALL, token="another-token"))
    assert resp.status_code == 403
    assert r.dbsize() == 0


def test_signature_uses_public_url(r: redis.Redis) -> None:
    app = make_app(r, public_url="https://ivr.example.com")
    good = sign("https://ivr.example.com/twilio/voice?x=1", CALL)
    assert post(app, "/twilio/voice?x=1", CALL, signature=good).status_code == 200
    # Signed over the internal URL (what a proxy forwards): refused.
    internal = sign(BASE + "/twilio/voice?x=1", CALL)
    assert post(app, "/twilio/voice?x=1", CALL, signature=internal).status_code == 403


def test_dev_mode_accepts_loopback_only(r: redis.Redis) -> None:
    app = make_app(r, twilio_auth_token=None)
    assert post(app, "/twilio/voice", CALL, remote="127.0.0.1").status_code == 200
    assert post(app, "/twilio/voice", CALL, remote="::1").status_code == 200
    resp = post(app, "/twilio/voice", {**CALL, "CallSid": "CA" + "3" * 32}, remote="203.0.113.9")
    assert resp.status_code == 403
    assert r.get("test:handled:CA" + "3" * 32) is None


def test_handler_exception_answers_on_error_not_500(r: redis.Redis) -> None:
    app = make_app(r)
    before = metrics.WEBHOOK_FAULTS.labels("boom")._value.get()
    resp = post(app, "/twilio/boom", CALL, signature=sign(BASE + "/twilio/boom", CALL))
    assert resp.status_code == 200
    root = ET.fromstring(resp.data)
    assert root.find("Say").text == "Sorry, trouble here. Connecting you."
    assert root.find("Dial").text == "+15005550199"
    assert metrics.WEBHOOK_FAULTS.labels("boom")._value.get() == before + 1


def test_redis_unreachable_answers_on_error(r: redis.Redis) -> None:
    dead = connect("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    app = make_app(dead)
    resp = post(app, "/twilio/voice", CALL, signature=sign(BASE + "/twilio/voice", CALL))
    assert resp.status_code == 200
    assert ET.fromstring(resp.data).find("Say").text == "Sorry, trouble here. Connecting you."


def test_replayed_delivery_has_one_effect_and_same_answer(r: redis.Redis) -> None:
    app = make_app(r)
    signature = sign(BASE + "/twilio/voice", CALL)
    first = post(app, "/twilio/voice", CALL, signature=signature)
    second = post(app, "/twilio/voice", CALL, signature=signature)
    assert first.data == second.data
    assert r.get(f"test:handled:{CALL['CallSid']}") == "1"


def test_concurrent_duplicates_run_the_handler_once(r: redis.Redis) -> None:
    app = make_app(r)
    signature = sign(BASE + "/twilio/voice", CALL)
    bodies: list[bytes] = []
    lock = threading.Lock()

    def deliver() -> None:
        resp = post(app, "/twilio/voice", CALL, signature=signature)
        with lock:
            bodies.append(resp.data)

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get(f"test:handled:{CALL['CallSid']}") == "1"
    assert len(set(bodies)) == 1


def test_caller_text_is_escaped_not_interpreted(r: redis.Redis) -> None:
    app = make_app(r)
    params = {**CALL, "SpeechResult": '</Say><Dial>+19005551234</Dial><Say>'}
    resp = post(app, "/twilio/voice", params, signature=sign(BASE + "/twilio/voice", params))
    root = ET.fromstring(resp.data)
    assert root.find("Dial") is None
    assert "<Dial>" in root.find("Say").text


def test_missing_parameters_are_400_twiml(r: redis.Redis) -> None:
    app = make_app(r)
    params = {"From": "+15005550111", "To": "+15005550006"}
    resp = post(app, "/twilio/voice", params, signature=sign(BASE + "/twilio/voice", params))
    assert resp.status_code == 400
    assert ET.fromstring(resp.data).tag == "Response"
    assert r.dbsize() == 0


def test_non_form_body_is_400(r: redis.Redis) -> None:
    app = make_app(r)
    resp = app.test_client().post("/twilio/voice", json=CALL,
                                  environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.status_code == 400
    assert ET.fromstring(resp.data).tag == "Response"
    assert r.dbsize() == 0


def test_invalid_utf8_is_400(r: redis.Redis) -> None:
    app = make_app(r)
    body = urlencode(CALL) + "&SpeechResult=%FF%FE"
    resp = app.test_client().post(
        "/twilio/voice", data=body, content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "whatever"}, environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert resp.status_code == 400
    assert r.dbsize() == 0


def test_oversized_body_is_413(r: redis.Redis) -> None:
    app = make_app(r)
    params = {**CALL, "Body": "x" * 70_000}
    resp = post(app, "/twilio/voice", params, signature=sign(BASE + "/twilio/voice", params))
    assert resp.status_code == 413
    assert ET.fromstring(resp.data).tag == "Response"
    assert r.dbsize() == 0
