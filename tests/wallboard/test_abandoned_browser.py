"""The wallboard's list of today's abandoned callers, in headless Chromium: a supervisor
presses *Call back*, and the callback waits in the queue at the caller's original place."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ivr.reports.contacts import Contact
from tests.api.conftest import TOKEN, wire, write_folder
from tests.browser import ARTIFACTS, playwright_or_skip
from tests.wallboard.test_browser import browser_page  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()


def test_call_back_an_abandoned_caller_from_the_wallboard(
        live_factory: Any, callflows_dir: Path, browser_page: Any) -> None:  # noqa: F811
    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN)
    wire(live.app)
    router = live.app.extensions["ivr.router"]
    router.set_agent_status("alice", "break", source="test")  # nobody takes the callback yet
    now = time.time()
    contacts = live.app.extensions["ivr.reports"].contacts
    contacts.put(Contact(id="CAgaveup", channel="voice", start=now - 200, end=now - 30,
                         number="+15551234567", service_number="+15005550006", flow="main",
                         queue="sales", wait=150, outcome="abandoned"))

    page = browser_page
    page.goto(live.url + "/wallboard#token=" + TOKEN)
    row = page.locator("#abandoned-CAgaveup")
    expect(row).to_contain_text("+15551234567")
    expect(row).to_contain_text("2:30")
    row.locator("button[data-callback]").click()
    expect(row).to_contain_text("queued, #1")
    page.locator("#abandoned").screenshot(path=str(ARTIFACTS / "wallboard-abandoned.png"))
    callbacks = [w for w in router.waiting() if w.get("kind") == "callback"]
    assert len(callbacks) == 1
    record = router.caller(callbacks[0]["id"])
    assert record is not None and record.number == "+15551234567"
    assert abs(record.entered_ms / 1000 - (now - 180)) < 1  # arrived when they first did
    # the next poll shows the callback asked, with no second button
    expect(row).to_contain_text("callback asked", timeout=10_000)
    assert row.locator("button").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]
