"""The wallboard's Listen / Whisper / Barge / End buttons in headless Chromium, against the
app and the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import ARTIFACTS, launch, playwright_or_skip
from tests.supervision.conftest import SAM, TOKEN, Live
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()


@pytest.fixture()
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            p = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
            errors: list[str] = []
            p.on("pageerror", lambda exc: errors.append(str(exc)))
            p.errors = errors
            yield p
        finally:
            browser.close()


def test_wallboard_listen_barge_end(live: Live, page: Any) -> None:
    expect = sync_api.expect
    sid, agent = live.connected_call()
    page.goto(live.live.url + "/wallboard#token=" + TOKEN)
    row = page.locator("#agent-alice")
    expect(row.locator(".monitor button[data-monitor=listen]")).to_be_visible(timeout=15000)
    # no supervisor chosen yet: the page says so and calls nobody
    row.locator(".monitor button[data-monitor=listen]").click()
    expect(page.locator("#banner")).to_contain_text("Choose a supervisor")
    assert live.sim.record.calls_to(SAM) == []
    page.select_option("#supervisor", "sam")
    row.locator(".monitor button[data-monitor=listen]").click()
    wait_until(lambda: bool(live.sim.record.calls_to(SAM)))
    sup = live.sim.record.calls_to(SAM)[0].sid
    wait_until(lambda: live.sim.hears(sup) == {sid, agent} and live.sim.hears(sid) == {agent})
    row.locator(".monitor button[data-monitor=barge]").click()
    wait_until(lambda: live.sim.hears(sid) == {agent, sup})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wallboard-monitor.png"), full_page=True)
    row.locator(".monitor button[data-monitor=end]").click()
    wait_until(lambda: live.router.monitor.current(sid) is None)
    wait_until(lambda: live.sim.hears(sid) == {agent})
    assert len(live.sim.record.calls_to(SAM)) == 1
    assert page.errors == []


def desk_page(page: Any, live: Live, phone: str) -> Any:
    import re

    from tests.supervision.conftest import SERVICE

    [reply] = live.sim.send_sms(phone, SERVICE, "DESK")
    match = re.search(r"https?://\S+/desk/login/[A-Za-z0-9_-]+", reply)
    assert match, reply
    page.goto(match.group(0))
    sync_api.expect(page.locator("#status-pill")).to_be_visible(timeout=10000)
    return page


def test_desk_pauses_the_recording_and_a_supervisor_whispers(live: Live, page: Any) -> None:
    from ivr.sim import conference_recording
    from tests.supervision.conftest import ALICE

    expect = sync_api.expect
    sid, agent = live.connected_call()
    room = live.sim.switch.room_named(sid)
    wait_until(lambda: room is not None and room.recording is not None
               and room.recording.rec is not None)
    rr = conference_recording.of(room)
    assert rr is not None and rr.rec is not None
    desk = desk_page(page, live, ALICE)
    button = desk.locator("#recording")
    expect(button).to_be_visible(timeout=10000)
    button.click()
    wait_until(lambda: rr.rec is not None and rr.rec.status == "paused")
    expect(button).to_have_text("Resume recording")
    button.click()
    wait_until(lambda: rr.rec is not None and rr.rec.status == "in-progress")
    expect(button).to_have_text("Pause recording")
    # alice asks for help; sam's desk shows it with the supervisor's buttons
    assert live.post(f"/api/calls/{sid}/help", {"note": "angry caller"},
                     agent="alice").status_code == 200
    sam = desk_page(page.context.browser.new_context().new_page(), live, SAM)
    sam_errors: list[str] = []
    sam.on("pageerror", lambda exc: sam_errors.append(str(exc)))
    expect(sam.locator("#live-calls li[data-call] .monitor")).to_have_count(1, timeout=10000)
    whisper = sam.locator("#help-requests li .monitor button[data-monitor=whisper]")
    expect(whisper).to_be_visible(timeout=10000)
    whisper.click()
    wait_until(lambda: bool(live.sim.record.calls_to(SAM)))
    sup = live.sim.record.calls_to(SAM)[0].sid
    wait_until(lambda: live.sim.hears(agent) == {sid, sup} and live.sim.hears(sid) == {agent})
    ARTIFACTS.mkdir(exist_ok=True)
    sam.screenshot(path=str(ARTIFACTS / "desk-supervisor.png"), full_page=True)
    sam.locator("#help-requests li .monitor button[data-monitor=end]").click()
    wait_until(lambda: live.router.monitor.current(sid) is None)
    assert page.errors == [] and sam_errors == []
