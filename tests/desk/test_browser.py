"""The desk in headless Chromium (Debian's, driven by Playwright) against the app and the
Twilio simulator over real HTTP: Alice texts DESK, opens the texted link on her phone
(390 px) and on a desktop, sees her status change live, chats with the team and gets a
direct message; a caller rings her phone and the desk shows the offer, then the call.
Screenshots go to artifacts/ (desk-phone.png, desk-desktop.png, desk-ringing.png,
desk-call.png)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ivr.desk import chat
from ivr.sim.people import Caller, Phone
from tests.api.conftest import SERVICE, TOKEN, write_folder
from tests.browser import ARTIFACTS, playwright_or_skip

ALICE = "+15005550101"

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()




def texted_link(live: Any) -> str:
    [reply] = live.sim.send_sms(ALICE, SERVICE, "DESK")
    match = re.search(r"https?://\S+/desk/login/[A-Za-z0-9_-]+", reply)
    assert match, reply
    assert match.group(0).startswith(live.url)
    return match.group(0)


def open_desk(browser: Any, live: Any, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(texted_link(live))
    sync_api.expect(page.locator("#status-pill")).to_have_text(
        re.compile("^(offline|available|break)"), timeout=10000)
    assert page.url == live.url + "/desk"
    return page


def test_desk_on_a_phone_and_a_desktop(live_factory: Any, callflows_dir: Path,
                                       browser: Any) -> None:
    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN)
    ARTIFACTS.mkdir(exist_ok=True)

    # --- on a phone ------------------------------------------------------------------
    phone = open_desk(browser, live, viewport={"width": 390, "height": 844}, is_mobile=True)
    expect(phone.locator("#status-pill")).to_have_text("offline")
    expect(phone.locator("header h1")).to_have_text("Alice Jones")
    expect(phone.locator("#no-call")).to_be_visible()
    # a status set elsewhere (her phone's ON text) shows within 2 s
    live.sim.send_sms(ALICE, SERVICE, "BREAK")
    expect(phone.locator("#status-pill")).to_have_text(re.compile("^break"), timeout=2500)
    # the team chat: she posts, Bob answers, and the answer appears within 2 s
    phone.fill("#chat-text", "Morning, team")
    phone.click("#chat-send")
    expect(phone.locator("#messages li.mine")).to_contain_text("Morning, team")
    chat.post(live.redis, "team", sender="bob", name="Bob Smith", text="Morning, Alice")
    expect(phone.locator("#messages")).to_contain_text("Morning, Alice", timeout=2500)
    expect(phone.locator("#messages li")).to_have_count(2)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(ARTIFACTS / "desk-phone.png"), full_page=True)

    # --- on a desktop: a second session from a second link -----------------------------
    desk = open_desk(browser, live, viewport={"width": 1280, "height": 900})
    expect(desk.locator("#messages")).to_contain_text("Morning, Alice")
    # a direct message from Bob: a new room with an unread badge
    chat.post(live.redis, "agent:alice", sender="bob", name="Bob Smith", text="Got a minute?")
    tab = desk.locator("#rooms button[data-room='agent:bob']")
    expect(tab).to_contain_text("@Bob Smith", timeout=2500)
    expect(tab.locator(".badge")).to_have_text("1")
    tab.click()
    expect(desk.locator("#messages")).to_contain_text("Got a minute?")
    desk.fill("#chat-text", "Sure")
    desk.click("#chat-send")
    expect(desk.locator("#messages li.mine")).to_contain_text("Sure")
    assert [m["text"] for m in chat.read(live.redis, chat.direct_room("bob", "alice"))] == [
        "Got a minute?", "Sure"]
    desk.screenshot(path=str(ARTIFACTS / "desk-desktop.png"), full_page=True)

    # --- sign out: back to the sign-in form -----------------------------------------------
    desk.click("#signout")
    expect(desk.locator("#signin")).to_be_visible()
    expect(phone.locator("#status-pill")).to_be_visible()  # the phone's session lives on
    assert phone.errors == [] and desk.errors == []


@pytest.mark.load
def test_desk_shows_the_offer_and_the_call(live_factory: Any, callflows_dir: Path,
                                           browser: Any) -> None:
    """At the clock's pace (the whisper is spoken in real time): some 20 s."""
    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN, time_scale=1.0)
    router = live.app.extensions["ivr.router"]
    ARTIFACTS.mkdir(exist_ok=True)
    desk = open_desk(browser, live, viewport={"width": 1280, "height": 900})
    # (simulated time runs at the clock's pace here: her phone rings 3 s before she answers)
    live.sim.phones[ALICE] = Phone(inputs=["1"], ring_delay=3, hangup_after=None)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(inputs=["1"], talk_for=4))
    router.set_agent_status("alice", "available", source="test")
    expect(desk.locator("#offer")).to_be_visible(timeout=20000)
    expect(desk.locator("#status-pill")).to_have_text("available")
    expect(desk.locator("#state")).to_have_text("offered")
    desk.screenshot(path=str(ARTIFACTS / "desk-ringing.png"), full_page=True)
    # she answers on her phone (after the whisper): on a call
    expect(desk.locator("#state")).to_have_text("on-call", timeout=20000)
    expect(desk.locator("#offer")).to_be_hidden()
    expect(desk.locator("#call")).to_be_visible()
    expect(desk.locator("#hold")).to_be_visible()
    # the caller's number (with the call's details) or at least the call's sid
    expect(desk.locator("#call [data-field=who]")).to_contain_text(
        re.compile(re.escape("+15551230001") + "|" + call.sid))
    desk.screenshot(path=str(ARTIFACTS / "desk-call.png"), full_page=True)
    call.wait(60)
    expect(desk.locator("#no-call")).to_be_visible(timeout=5000)

    assert desk.errors == []


def test_desk_controls_send_what_the_api_expects(live_factory: Any, callflows_dir: Path,
                                                 browser: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The call's panel and controls against the JSON API's shapes: the agent's record and
    the call's context are played by the test (page.route), and every control's request
    is recorded: its path, its body, and the session's CSRF header."""
    import json

    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN)
    current = live.app.extensions["ivr.flows"].current
    monkeypatch.setattr(current, "breaks", ["lunch", "training"])
    monkeypatch.setattr(current.agents["alice"], "role", "supervisor")
    chat.post(live.redis, "team", sender="bob", name="Bob Smith", text="Caller is shouting",
              kind="help", call="CA" + "2" * 32)

    sid = "CA" + "1" * 32
    agent = {"id": "alice", "name": "Alice Jones", "phone": ALICE, "skills": {"sales": 5},
             "status": "available", "state": "on-call", "offer": None, "call": sid,
             "break_reason": None}
    context: dict[str, Any] = {
        "sid": sid, "number": "+15551230001", "name": "Pat Doe", "place": "Austin, TX",
        "queue": "sales", "waited": 95,
        "steps": [{"flow": "main", "step": "menu", "input": "1"}],
        "vars": {"order": "A-17"},
        "previous": [{"start": 1700000000, "queue": "sales", "agents": ["bob"],
                      "outcome": "connected", "disposition": "quote", "notes": "call back"}],
        "script_html": "<p>Greet <strong>Pat</strong>. Order A-17.</p>",
        "dispositions": ["sale", "no-sale"], "held": False, "consult": None, "help": False,
    }
    sent: list[tuple[str, str, Any, str | None]] = []

    def fake(route: Any) -> None:
        request = route.request
        path = request.url.split(live.url, 1)[1]
        if request.method == "GET":
            body = agent if path.startswith("/api/agents/") else context
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
            return
        sent.append((request.method, path, request.post_data_json,
                     request.headers.get("x-csrf-token")))
        route.fulfill(status=200, content_type="application/json", body="{}")

    page = open_desk(browser, live, viewport={"width": 390, "height": 844}, is_mobile=True)
    page.route("**/api/agents/alice", fake)
    page.route("**/api/agents/alice/status", fake)
    page.route("**/api/calls/**", fake)
    page.on("dialog", lambda dialog: dialog.accept())
    csrf = page.evaluate("JSON.parse(document.getElementById('desk-data').textContent).csrf")

    call = page.locator("#call")
    expect(call).to_be_visible(timeout=5000)
    expect(call.locator("[data-field=who]")).to_have_text("Pat Doe +15551230001")
    expect(page.locator("#caller")).to_contain_text("Austin, TX")
    expect(page.locator("#script strong")).to_have_text("Pat")
    page.click("#history summary")
    expect(page.locator("#steps")).to_contain_text("main › menu — 1")
    expect(page.locator("#vars")).to_contain_text("A-17")
    expect(page.locator("#previous")).to_contain_text(
        re.compile(r"2023.* · sales · Bob Smith · connected · quote · call back"))
    expect(page.locator("#help-requests")).to_contain_text("Caller is shouting")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "desk-phone-call.png"), full_page=True)

    def last_sent() -> tuple[str, str, Any]:
        expect(page.locator("#banner")).to_be_hidden()
        assert sent, "nothing was sent"
        method, path, body, token = sent[-1]
        assert token == csrf
        return method, path, body

    page.click("#hold")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/hold", {"hold": True})
    context["held"] = True
    expect(page.locator("#hold")).to_have_text("Resume", timeout=2500)
    expect(page.locator("#call-flags")).to_have_text("on hold")

    page.select_option("#transfer-kind", "agent")
    page.select_option("#transfer-agent", "bob")
    page.check("#transfer-warm")
    page.click("#transfer-go")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/transfer", {"to": "agent:bob", "warm": True})
    context["consult"] = {"to": "agent:bob", "agent": "bob", "by": "alice",
                          "three_way": False}
    expect(page.locator("#consult")).to_be_visible(timeout=2500)
    expect(page.locator("#consult-who")).to_have_text("Consulting Bob Smith:")
    expect(page.locator("#transfer")).to_be_hidden()
    expect(page.locator("#hold")).to_be_hidden()  # refused during a consult
    page.click("#consult-three")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/transfer/complete", {"three_way": True})
    page.click("#consult-cancel")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/transfer/cancel", {})
    context["consult"] = None
    expect(page.locator("#transfer")).to_be_visible(timeout=2500)
    page.select_option("#transfer-kind", "number")
    page.fill("#transfer-number", "+15557654321")
    page.uncheck("#transfer-warm")
    page.click("#transfer-go")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/transfer",
                           {"to": "+15557654321", "warm": False})

    page.fill("#help-note", "needs a refund")
    page.click("#help-go")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/help", {"note": "needs a refund"})
    page.click("#hangup")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/hangup", {})

    agent["state"] = "wrap-up"
    expect(page.locator("#wrapup")).to_be_visible(timeout=2500)
    expect(page.locator("#controls")).to_be_hidden()
    page.select_option("#disposition", "sale")
    page.fill("#notes", "Sold the blue one")
    page.click("#wrapup-done")
    page.wait_for_timeout(200)
    assert last_sent() == ("POST", f"/api/calls/{sid}/wrapup",
                           {"disposition": "sale", "notes": "Sold the blue one"})

    page.select_option("#break-reason", "training")
    page.click("#status-panel button[data-set=break]")
    page.wait_for_timeout(200)
    assert last_sent() == ("PUT", "/api/agents/alice/status",
                           {"status": "break", "reason": "training"})
    agent.update(status="break", break_reason="training", state="idle", call=None)
    expect(page.locator("#status-pill")).to_have_text("break (training)", timeout=2500)
    expect(page.locator("#no-call")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "desk-phone-controls.png"), full_page=True)
    assert page.errors == []
