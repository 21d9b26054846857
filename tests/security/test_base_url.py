"""The base URL that goes into TwiML and REST calls is learnt only from Twilio's own
webhooks, and with no admin token the API and the wallboard answer only requests
addressed to this machine by name (a rebound DNS name is refused)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from ivr.sim.twilio import TwilioSim
from tests.api.conftest import write_folder
from tests.security.conftest import ACCOUNT_SID, SERVICE, TEXTER, TWILIO_TOKEN, sign, snapshot

# A tunnel's name (RFC 2606 .example: the simulator never reaches a real host).
TUNNEL = "https://abc.trycloudflare.example"
LOCAL = "http://127.0.0.1:8000"


@pytest.fixture()
def sim() -> Iterator[TwilioSim]:
    sim = TwilioSim(account_sid=ACCOUNT_SID, auth_token=TWILIO_TOKEN)
    sim.start()
    yield sim
    sim.stop()


def _webhook(client, base: str, url: str, params: dict[str, str]) -> ET.Element:
    """POSTs a webhook signed as Twilio signs it for `url` (absolute, under `base`)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    resp = client.post(path, data=params, base_url=base,
                       headers={"X-Twilio-Signature": sign(url, params)})
    assert resp.status_code == 200, resp.data
    return ET.fromstring(resp.data)


def test_a_local_api_call_does_not_move_the_base_url(
        make_app, callflows_dir: Path, sim: TwilioSim) -> None:
    app = make_app(callflows=write_folder(callflows_dir), twilio_auth_token=TWILIO_TOKEN,
                   twilio_account_sid=ACCOUNT_SID, twilio_api_url=sim.api_url,
                   admin_token=None, public_url=None)
    client = app.test_client()
    call = {"CallSid": "CA" + "4" * 32, "AccountSid": ACCOUNT_SID, "From": TEXTER,
            "To": SERVICE, "CallStatus": "ringing"}
    # Alice is logged in but on break, so the caller waits for her.
    assert client.put("/api/agents/alice/status", json={"status": "break"},
                      base_url=LOCAL).status_code == 200
    # Twilio reaches us through a tunnel: the caller picks sales (1) and waits.
    menu = _webhook(client, TUNNEL, TUNNEL + "/twilio/voice", call)
    action = menu.find(".//Gather").get("action")
    assert action.startswith(TUNNEL + "/")
    held = _webhook(client, TUNNEL, action, {**call, "CallStatus": "in-progress", "Digits": "1"})
    assert held.find(".//Enqueue") is not None
    # An admin on the machine itself makes Alice available: her phone is called now,
    # and Twilio must fetch the whisper from where it reaches us (the tunnel).
    assert client.put("/api/agents/alice/status", json={"status": "available"},
                      base_url=LOCAL).status_code == 200
    created = [q for q in sim.record.rest_requests
               if q.method == "POST" and q.path.endswith("/Calls.json")]
    assert created, sim.record.rest_requests
    url = created[-1].params["Url"][0]
    assert url.startswith(TUNNEL + "/twilio/agent/whisper"), url


API_AND_WALLBOARD = ["/api/agents", "/api/wallboard", "/api/openapi.json", "/wallboard"]


@pytest.mark.parametrize("path", API_AND_WALLBOARD)
@pytest.mark.parametrize("host", ["rebind.attacker.example:8000", "rebind.attacker.example",
                                  "127.0.0.1.nip.io:8000", "evil.example@127.0.0.1"])
def test_no_token_refuses_requests_addressed_to_another_name(make_app, path: str,
                                                             host: str) -> None:
    app = make_app(admin_token=None)
    resp = app.test_client().get(path, headers={"Host": host})
    assert resp.status_code in (400, 403)


def test_rebound_change_is_refused_and_changes_nothing(make_app, r: redis.Redis) -> None:
    app = make_app(admin_token=None)
    before = snapshot(r)
    resp = app.test_client().put("/api/agents/alice/status", json={"status": "available"},
                                 headers={"Host": "rebind.attacker.example:8000"})
    assert resp.status_code == 403 and "Host" in resp.json["error"]
    assert snapshot(r) == before


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000",
                                  "127.0.0.2", "LOCALHOST:5000", "ivr.example.com"])
def test_no_token_serves_loopback_names_and_the_public_host(make_app, host: str) -> None:
    app = make_app(admin_token=None, public_url="https://ivr.example.com")
    for path in ("/api/agents", "/wallboard"):
        assert app.test_client().get(path, headers={"Host": host}).status_code == 200, path


def test_with_a_token_any_host_may_be_used(make_app) -> None:
    app = make_app(admin_token="s3cret")
    resp = app.test_client().get("/api/agents", headers={
        "Host": "ivr.internal:8000", "Authorization": "Bearer s3cret"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert resp.status_code == 200


def test_dev_mode_webhook_addressed_to_another_name_is_refused(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    before = snapshot(r)
    resp = app.test_client().post("/twilio/sms", headers={"Host": "rebind.attacker.example"},
                                  data={"MessageSid": "SM" + "5" * 32, "From": TEXTER,
                                        "To": SERVICE, "Body": "hello"})
    assert resp.status_code == 403
    assert snapshot(r) == before
