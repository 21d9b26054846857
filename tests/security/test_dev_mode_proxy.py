"""Dev mode (no TWILIO_AUTH_TOKEN) trusts loopback peers only, and a proxied request is
not one: behind a tunnel or reverse proxy on the same host every request comes from
127.0.0.1, with the real client in a proxy header."""

from __future__ import annotations

import pytest
import redis

from tests.security.conftest import ALICE, SERVICE, snapshot

PROXY_HEADERS = [{"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                 {"Forwarded": "for=203.0.113.9;proto=https"},
                 {"X-Forwarded-For": "127.0.0.1"}]  # whatever it says: a proxy relayed it

# A superset of what any of our webhooks reads, so each would act if it got through.
PARAMS = {"CallSid": "CA" + "9" * 32, "MessageSid": "SM" + "9" * 32, "From": ALICE,
          "To": SERVICE, "Body": "OFF", "CallStatus": "completed", "Digits": "1",
          "AccountSid": "AC" + "2" * 32, "agent": "alice", "stage": "menu", "n": "0"}


def _status(app, agent: str) -> str:
    return next(a["status"] for a in app.extensions["ivr.router"].agents() if a["id"] == agent)


@pytest.mark.parametrize("headers", PROXY_HEADERS, ids=lambda h: next(iter(h)))
def test_proxied_sms_does_not_log_an_agent_out(make_app, r: redis.Redis,
                                               headers: dict[str, str]) -> None:
    app = make_app(twilio_auth_token=None)
    app.extensions["ivr.router"].set_agent_status("alice", "available", source="test")
    before = snapshot(r)
    resp = app.test_client().post("/twilio/sms", data=PARAMS, headers=headers)
    assert resp.status_code == 403
    assert snapshot(r) == before
    assert _status(app, "alice") == "available"
    # The same text from the machine itself is a dev-mode webhook like any other.
    assert app.test_client().post("/twilio/sms", data=PARAMS).status_code == 200
    assert _status(app, "alice") == "offline"


@pytest.mark.parametrize("headers", PROXY_HEADERS, ids=lambda h: next(iter(h)))
def test_every_webhook_refuses_proxied_requests_in_dev_mode(make_app, r: redis.Redis,
                                                            headers: dict[str, str]) -> None:
    app = make_app(twilio_auth_token=None)
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if rule.rule.startswith("/twilio/") and "POST" in (rule.methods or ())})
    assert "/twilio/voice" in paths and "/twilio/sms" in paths and len(paths) >= 8
    client = app.test_client()
    before = snapshot(r)
    for path in paths:
        resp = client.post(path, data=PARAMS, headers=headers)
        assert resp.status_code == 403, path
    assert snapshot(r) == before
