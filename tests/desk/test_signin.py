"""Signing in to the desk: a texted one-time link, or agent id and PIN; sessions, their
cookie, sign-out, CSRF, and an agent who leaves the roster."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from ivr import keys
from ivr.desk import sessions
from tests.desk.conftest import (
    BOB_PHONE,
    csrf_headers,
    desk_data,
    sign_in,
    text,
    texted_link,
)


def pin_form(client: FlaskClient) -> str:
    """GET /desk (signed out): the sign-in form's token."""
    page = client.get("/desk")
    assert page.status_code == 200
    match = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def pin_sign_in(client: FlaskClient, agent: str, pin: str, **headers: str):
    token = pin_form(client)
    return client.post("/desk/signin", data={"agent": agent, "pin": pin, "form_token": token},
                       headers=headers)


# --- the texted link -------------------------------------------------------------------


def test_desk_text_answers_a_link_that_opens_a_session(desk_app: Flask, r: redis.Redis) -> None:
    path = texted_link(desk_app)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 32
    # Redis holds the token hashed only.
    assert r.get(keys.desk_link(sessions.digest(token))) == "alice"
    assert not [k for k in r.scan_iter("ivr:desk:*") if token in k]
    client = desk_app.test_client()
    assert "/desk" in client.get("/desk").text and "signin" in client.get("/desk").text
    page = client.get(path)
    assert page.status_code == 200 and "Alice Jones" in page.text
    # GET (what a link preview does) does not spend the link
    assert r.get(keys.desk_link(sessions.digest(token))) == "alice"
    resp = client.post(path)
    assert resp.status_code == 303
    data = desk_data(client)
    assert data["me"]["id"] == "alice" and data["me"]["name"] == "Alice Jones"
    assert len(data["csrf"]) >= 32
    # the session is stored under the id's hash, never the id
    sid = client.get_cookie("ivr_desk").value
    assert r.exists(keys.desk_session(sessions.digest(sid)))
    assert not [k for k in r.scan_iter("ivr:desk:*") if sid in k]


def test_reused_expired_forged_links_are_refused(desk_app: Flask, r: redis.Redis) -> None:
    path = texted_link(desk_app)
    first = desk_app.test_client()
    assert first.post(path).status_code == 303
    second = desk_app.test_client()
    for resp in (second.get(path), second.post(path)):
        assert resp.status_code == 410
        assert "expired" in resp.text
    assert second.get_cookie("ivr_desk") is None

    old = texted_link(desk_app)
    r.delete(keys.desk_link(sessions.digest(old.rsplit("/", 1)[1])))  # what 10 minutes do
    assert second.get(old).status_code == 410
    assert second.post(old).status_code == 410

    forged = "/desk/login/" + "A" * 32
    assert second.get(forged).status_code == 403
    assert second.post(forged).status_code == 403
    assert "not a valid sign-in link" in second.get(forged).text
    assert second.get("/desk/login/short").status_code == 403
    assert second.get_cookie("ivr_desk") is None


def test_link_lives_ten_minutes(desk_app: Flask, r: redis.Redis) -> None:
    token = texted_link(desk_app).rsplit("/", 1)[1]
    ttl = r.ttl(keys.desk_link(sessions.digest(token)))
    assert 590 <= ttl <= 600


def test_a_link_opens_one_session_only(desk_app: Flask) -> None:
    path = texted_link(desk_app)
    results = [desk_app.test_client().post(path).status_code for _ in range(3)]
    assert results == [303, 410, 410]


def test_the_token_is_never_logged_whole(desk_app: Flask,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = texted_link(desk_app)
    token = path.rsplit("/", 1)[1]
    client = desk_app.test_client()
    client.get(path)
    client.post(path)
    client.post(path)
    assert any(token[:6] in rec.getMessage() for rec in caplog.records)
    assert not [rec.getMessage() for rec in caplog.records if token in rec.getMessage()]
    # request logs (werkzeug, gunicorn) go through the desk's filter
    from ivr.desk.web import RedactLoginLinks

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '"%s %s HTTP/1.1" %s', ("GET", path, "200"), None)
    assert RedactLoginLinks().filter(record)
    assert token not in record.getMessage() and token[:6] in record.getMessage()


def test_desk_from_a_customer_phone_gets_no_link(desk_app: Flask) -> None:
    replies = text(desk_app, "DESK", sender="+14155550199")
    assert not any("/desk/login/" in reply for reply in replies)


def test_agent_help_text_mentions_desk(desk_app: Flask) -> None:
    [reply] = text(desk_app, "HELLO")
    assert "DESK" in reply


# --- agent id and PIN ------------------------------------------------------------------


def test_pin_sign_in(desk_app: Flask) -> None:
    client = desk_app.test_client()
    resp = pin_sign_in(client, "alice", "4321")
    assert resp.status_code == 303
    assert desk_data(client)["me"]["id"] == "alice"


def test_five_wrong_pins_lock_sign_in_for_everyone(desk_app: Flask) -> None:
    router = desk_app.extensions["ivr.router"]
    router.sync_roster()
    client = desk_app.test_client()
    # wrong PINs on the phone line and on the desk count together
    for _ in range(2):
        assert router.check_pin("alice", "0000") == "wrong"
    for _ in range(2):
        resp = pin_sign_in(client, "alice", "9999")
        assert resp.status_code == 401
        assert "Wrong agent id or PIN" in resp.text
    assert not router.pin_locked("alice")
    resp = pin_sign_in(client, "alice", "9999")  # the fifth wrong PIN locks
    assert resp.status_code == 429
    assert router.pin_locked("alice")
    resp = pin_sign_in(client, "alice", "4321")  # the right PIN, too late
    assert resp.status_code == 429
    assert "locked for 15 minutes" in resp.text
    assert client.get_cookie("ivr_desk") is None
    assert router.check_pin("alice", "4321") == "locked"  # the phone line is locked too
    # another agent is not affected
    assert pin_sign_in(desk_app.test_client(), "bob", "1234").status_code == 303


def test_unknown_agent_and_empty_pin_are_refused(desk_app: Flask) -> None:
    client = desk_app.test_client()
    assert pin_sign_in(client, "nobody", "1234").status_code == 401
    assert pin_sign_in(client, "alice", "").status_code == 401
    assert client.get_cookie("ivr_desk") is None


def test_sign_in_form_refuses_forged_posts(desk_app: Flask) -> None:
    client = desk_app.test_client()
    # no form token (another site's form cannot read ours nor send our SameSite cookie)
    resp = client.post("/desk/signin", data={"agent": "alice", "pin": "4321"})
    assert resp.status_code == 403
    resp = pin_sign_in(client, "alice", "4321", Origin="https://evil.example")
    assert resp.status_code == 403
    assert client.get_cookie("ivr_desk") is None
    path = texted_link(desk_app)
    assert client.post(path, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(path).status_code == 303  # not spent by the refused try


# --- the session -----------------------------------------------------------------------


def _set_cookie(resp, name: str) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_session_cookie_flags(make_app, desk_app: Flask) -> None:
    client = desk_app.test_client()
    path = texted_link(desk_app)
    cookie = _set_cookie(client.post(path), "ivr_desk")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back

    https_app = make_app(public_url="https://desk.example.com")
    client = https_app.test_client()
    cookie = _set_cookie(pin_sign_in(client, "alice", "4321"), "ivr_desk")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_session_lasts_twelve_hours(desk_app: Flask, r: redis.Redis) -> None:
    client = sign_in(desk_app)
    sid = client.get_cookie("ivr_desk").value
    ttl = r.ttl(keys.desk_session(sessions.digest(sid)))
    assert 12 * 3600 - 5 <= ttl <= 12 * 3600


def test_sign_out_needs_the_csrf_token_and_ends_the_session(desk_app: Flask,
                                                           r: redis.Redis) -> None:
    client = sign_in(desk_app)
    sid = client.get_cookie("ivr_desk").value
    assert client.post("/desk/signout").status_code == 403
    assert r.exists(keys.desk_session(sessions.digest(sid)))
    resp = client.post("/desk/signout", data={"csrf": desk_data(client)["csrf"]})
    assert resp.status_code == 303
    assert not r.exists(keys.desk_session(sessions.digest(sid)))
    assert "signin" in client.get("/desk").text
    # the old cookie, sent again, opens nothing
    again = desk_app.test_client()
    again.set_cookie("ivr_desk", sid)
    assert again.get("/api/agents/alice").status_code == 401


def test_state_changes_need_the_csrf_header(desk_app: Flask) -> None:
    client = sign_in(desk_app)
    resp = client.post("/api/chat/team", json={"text": "hello"})
    assert resp.status_code == 403
    assert "X-CSRF-Token" in resp.json["error"]
    resp = client.post("/api/chat/team", json={"text": "hello"},
                       headers={"X-CSRF-Token": "wrong"})
    assert resp.status_code == 403
    assert client.get("/api/chat/team").json["messages"] == []
    resp = client.post("/api/chat/team", json={"text": "hello"}, headers=csrf_headers(client))
    assert resp.status_code == 201
    # reading needs no token
    assert [m["text"] for m in client.get("/api/chat/team").json["messages"]] == ["hello"]


def test_without_a_session_the_api_is_closed(desk_app: Flask) -> None:
    client = desk_app.test_client()
    assert client.get("/api/agents/alice").status_code == 401
    client.set_cookie("ivr_desk", "made-up-session-id")
    assert client.get("/api/agents/alice").status_code == 401
    assert client.get("/api/chat/team").status_code == 401


def test_a_desk_session_reads_its_own_agent_only(desk_app: Flask) -> None:
    client = sign_in(desk_app)
    mine = client.get("/api/agents/alice")
    assert mine.status_code == 200
    assert mine.json["status"] == "offline" and "offer" in mine.json
    assert client.get("/api/agents/bob").status_code == 403
    assert client.get("/api/agents").status_code == 401  # admin only
    assert client.get("/api/wallboard").status_code == 401


def test_removed_agent_loses_their_sessions_at_once(desk_app: Flask, callflows_dir: Path,
                                                   r: redis.Redis) -> None:
    bob = sign_in(desk_app, BOB_PHONE)
    assert bob.get("/api/agents/bob").status_code == 200
    sid = bob.get_cookie("ivr_desk").value
    agents = callflows_dir / "agents.yaml"
    agents.write_text(agents.read_text().split("bob:")[0])
    desk_app.extensions["ivr.flows"].reload()
    assert bob.get("/api/agents/bob").status_code == 401
    assert not r.exists(keys.desk_session(sessions.digest(sid)))
    assert "signin" in bob.get("/desk").text
    # and no new link for the phone that was his
    assert not any("/desk/login/" in reply for reply in text(desk_app, "DESK", BOB_PHONE))


def test_signing_in_again_replaces_the_browsers_session(desk_app: Flask,
                                                        r: redis.Redis) -> None:
    client = sign_in(desk_app)
    first = client.get_cookie("ivr_desk").value
    path = texted_link(desk_app)
    assert client.post(path).status_code == 303
    second = client.get_cookie("ivr_desk").value
    assert second != first
    assert not r.exists(keys.desk_session(sessions.digest(first)))
    assert r.exists(keys.desk_session(sessions.digest(second)))


def test_desk_pages_forbid_inline_scripts_and_framing(desk_app: Flask) -> None:
    client = desk_app.test_client()
    for resp in (client.get("/desk"), client.get("/desk/login/" + "B" * 32)):
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert resp.headers["Cache-Control"] == "no-store"
    signed = sign_in(desk_app)
    page = signed.get("/desk")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    # the only inline <script> is the JSON data block, which browsers do not run
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline == [' type="application/json" id="desk-data"']
