"""The desk tests: the API tests' app (admin token set, agents alice and bob with PINs) with
Twilio signatures on, so that texts are signed as Twilio signs them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from tests.api.conftest import SERVICE, TOKEN, make_app  # noqa: F401
from tests.browser import chromium, playwright_or_skip

TWILIO_TOKEN = "desk-test-twilio-token"
ACCOUNT_SID = "AC" + "7" * 32
ALICE_PHONE = "+15005550101"
BOB_PHONE = "+15005550102"
BASE = "http://localhost"

_sids = count(1)


@pytest.fixture()
def desk_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(twilio_auth_token=TWILIO_TOKEN, twilio_account_sid=ACCOUNT_SID)


def text(app: Flask, body: str, sender: str = ALICE_PHONE) -> list[str]:
    """A text to the service number, signed as Twilio signs it; the `<Message>` bodies back."""
    params = {"MessageSid": f"SM{next(_sids):032d}", "AccountSid": ACCOUNT_SID,
              "From": sender, "To": SERVICE, "Body": body}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(BASE + "/twilio/sms", params)
    resp = app.test_client().post("/twilio/sms", data=params,
                                  headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 200, resp.text
    root = ET.fromstring(resp.data)
    return [m.text or "" for m in root.iter("Message")]


def texted_link(app: Flask, sender: str = ALICE_PHONE) -> str:
    """Text DESK; the link's path (/desk/login/TOKEN) from the reply."""
    [reply] = text(app, "DESK", sender)
    match = re.search(r"(https?://[^\s]+)(/desk/login/[A-Za-z0-9_-]+)", reply)
    assert match, reply
    assert match.group(1) == BASE
    return match.group(2)


def sign_in(app: Flask, sender: str = ALICE_PHONE) -> FlaskClient:
    """A browser (test client) signed in through a texted link."""
    client = app.test_client()
    path = texted_link(app, sender)
    assert client.get(path).status_code == 200
    resp = client.post(path)
    assert resp.status_code == 303, resp.text
    assert resp.headers["Location"].endswith("/desk")
    return client


def desk_data(client: FlaskClient) -> dict[str, Any]:
    """What the signed-in page hands its script (the CSRF token among it)."""
    resp = client.get("/desk")
    assert resp.status_code == 200
    match = re.search(r'<script type="application/json" id="desk-data">(.*?)</script>',
                      resp.text, re.S)
    assert match, "not the desk page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def csrf_headers(client: FlaskClient) -> dict[str, str]:
    return {"X-CSRF-Token": desk_data(client)["csrf"]}


__all__ = ["TOKEN", "make_app"]


@pytest.fixture()
def browser() -> Iterator[Any]:
    """Headless Chromium for the desk's browser tests."""
    with chromium() as launched:
        yield launched


def desk_link(live: Any, phone: str) -> str:
    """Text DESK from `phone` to the service number: the one-time link it gets back."""
    before = len(live.sim.inbox(phone))
    live.sim.send_sms(phone, SERVICE, "DESK")
    texts = live.sim.inbox(phone)[before:]
    assert len(texts) == 1, texts
    link = re.search(r"https?://\S+/desk/login/[A-Za-z0-9_-]+", texts[0].body)
    assert link, texts[0].body
    assert link.group(0).startswith(live.url + "/desk/login/")
    return link.group(0)


def desk_session(live: Any, phone: str) -> requests.Session:
    """A browser's session opened by the link texted to `phone`, sending the page's CSRF
    token with every request."""
    session = requests.Session()
    spent = session.post(desk_link(live, phone), allow_redirects=False,
                         headers={"Origin": live.url})
    assert spent.status_code == 303, spent.text
    page = session.get(live.url + "/desk")
    data = re.search(r'<script type="application/json" id="desk-data">(.*?)</script>',
                     page.text, re.S)
    assert data, page.text
    session.headers["X-CSRF-Token"] = json.loads(data.group(1))["csrf"]
    return session


def open_desk(browser: Any, live: Any, phone: str, viewport: dict[str, Any]) -> Any:
    """Open the link texted to `phone` in a browser context of its own (`viewport`): the
    desk page, signed in; `page.errors` collects its JavaScript errors."""
    page = browser.new_context(**viewport).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.errors = errors
    page.goto(desk_link(live, phone))
    playwright_or_skip().expect(page.locator("#status-pill")).to_have_text(
        re.compile("^(offline|available|break)"), timeout=10000)
    assert page.url == live.url + "/desk"
    return page
