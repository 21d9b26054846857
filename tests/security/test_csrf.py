"""Without tokens (no IVR_ADMIN_TOKEN, or dev mode's webhooks) the server trusts the
machine it runs on; a web page on another site must not borrow that trust through the
browser of someone sitting at that machine (cross-site request forgery)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from ivr.flows import voicemail
from tests.security.conftest import ALICE, SERVICE, snapshot

EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
FORM_POSTS: list[dict[str, str]] = [
    EVIL,
    {"Origin": "https://evil.example"},  # a browser without Fetch Metadata
    {"Sec-Fetch-Site": "cross-site"},   # a browser that left Origin out
    {"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost:8000"},
    {"Origin": "null"},                 # a sandboxed frame or a file: page
]


def _voicemail(r: redis.Redis) -> str:
    voicemail.save(r, "vm1", box="sales", caller="+15551230001", called=SERVICE,
                   call_sid="CA" + "3" * 32, flow="main",
                   recording_url="https://api.twilio.com/r.wav", duration=12)
    return "vm1"


@pytest.mark.parametrize("headers", FORM_POSTS)
@pytest.mark.parametrize("path", ["/api/reload", "/api/voicemails/vm1/heard"])
def test_cross_site_post_to_the_api_is_refused(make_app, r: redis.Redis, path: str,
                                               headers: dict[str, str]) -> None:
    app = make_app(admin_token=None)
    _voicemail(r)
    before = snapshot(r)
    resp = app.test_client().post(path, data="x", headers={**headers,
                                                           "Content-Type": "text/plain"})
    assert resp.status_code == 403, resp.json
    assert snapshot(r) == before
    assert voicemail.get(r, "vm1").get("heard") is None


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/api/agents/alice/status", {"status": "available"}),
    ("PATCH", "/api/agents/alice", {"name": "Mallory"}),
    ("DELETE", "/api/agents/bob", None),
    ("POST", "/api/agents", {"id": "mole", "phone": "+15005550177"}),
])
def test_cross_site_changes_are_refused_whatever_the_method(make_app, r: redis.Redis,
                                                            method: str, path: str,
                                                            body: Any) -> None:
    app = make_app(admin_token=None)
    before = snapshot(r)
    resp = app.test_client().open(path, method=method, json=body, headers=EVIL)
    assert resp.status_code == 403
    assert snapshot(r) == before


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_body_less_posts_need_json_without_a_token(make_app, r: redis.Redis,
                                                   ctype: str | None) -> None:
    """What a cross-site form or a "simple" fetch can send, even with no Origin at all."""
    app = make_app(admin_token=None)
    _voicemail(r)
    headers = {"Content-Type": ctype} if ctype else {}
    for path in ("/api/reload", "/api/voicemails/vm1/heard"):
        resp = app.test_client().post(path, data="x" if ctype else None, headers=headers)
        assert resp.status_code == 415, (path, ctype)
    assert voicemail.get(r, "vm1").get("heard") is None


def test_same_origin_json_requests_still_work(make_app, r: redis.Redis) -> None:
    app = make_app(admin_token=None)
    _voicemail(r)
    client = app.test_client()
    own = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    base = "http://127.0.0.1:8000"
    assert client.post("/api/reload", json={}, headers=own, base_url=base).status_code == 200
    heard = client.post("/api/voicemails/vm1/heard", headers={
        **own, "Content-Type": "application/json"}, base_url=base)
    assert heard.status_code == 200 and heard.json["heard"] is not None
    status = client.put("/api/agents/alice/status", json={"status": "break"}, headers=own,
                        base_url=base)
    assert status.status_code == 200
    # curl and scripts send no Origin and no Fetch Metadata.
    assert client.post("/api/reload", headers={"Content-Type": "application/json"}
                       ).status_code == 200


def test_with_a_token_the_token_is_the_defence(make_app) -> None:
    """A browser never attaches a bearer token by itself: scripts need no JSON header."""
    app = make_app(admin_token="s3cret")
    resp = app.test_client().post("/api/reload", headers={"Authorization": "Bearer s3cret"})
    assert resp.status_code == 200


def test_cross_site_form_to_a_dev_mode_webhook_is_refused(make_app, r: redis.Redis) -> None:
    app = make_app(twilio_auth_token=None)
    app.extensions["ivr.router"].set_agent_status("alice", "available", source="test")
    before = snapshot(r)
    resp = app.test_client().post("/twilio/sms", headers=EVIL, data={
        "MessageSid": "SM" + "6" * 32, "From": ALICE, "To": SERVICE, "Body": "OFF"})
    assert resp.status_code == 403
    assert snapshot(r) == before
    agents = app.extensions["ivr.router"].agents()
    assert next(a for a in agents if a["id"] == "alice")["status"] == "available"
