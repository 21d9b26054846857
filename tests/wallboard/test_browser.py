"""The wallboard in headless Chromium (Debian's, driven by Playwright), against the app and
the Twilio simulator over real HTTP: a caller appears in the queue, an agent is made
available from the page and their simulated phone answers, then the agent is put on break
from the page. Screenshots go to artifacts/ (kept by CI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.sim.people import Caller, Phone
from tests.api.conftest import SERVICE, TOKEN, wire, write_folder
from tests.browser import ARTIFACTS, launch, playwright_or_skip

ALICE = "+15005550101"

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()


@pytest.fixture()
def browser_page() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()


def test_wallboard_follows_a_caller_and_sets_an_agent_on_break(
        live_factory: Any, callflows_dir: Path, browser_page: Any) -> None:
    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN)
    wire(live.app)
    router = live.app.extensions["ivr.router"]
    # Alice is logged in but on break: a caller waits for her.
    router.set_agent_status("alice", "break", source="test")
    live.sim.phones[ALICE] = Phone(inputs=["1"], ring_delay=2, hangup_after=None)

    page = browser_page
    page.goto(live.url + "/wallboard")
    # The page asks for the token once; a wrong one is refused and asked again.
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", "not-the-token")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_contain_text("refused")
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    expect(page.locator("#login")).to_be_hidden()
    alice = page.locator("#agent-alice")
    expect(alice.locator(".status")).to_have_text("break")
    expect(page.locator("#queue-sales [data-field=waiting]")).to_have_text("0")

    call = live.sim.place_call("+15551230001", SERVICE, Caller(inputs=["1"], talk_for=500))
    expect(page.locator("#queue-sales [data-field=waiting]")).to_have_text("1", timeout=15000)
    expect(page.locator("#queue-sales [data-field=offered]")).to_have_text("1")
    expect(page.locator("#waiting tbody tr[data-caller]")).to_have_count(1)
    expect(page.locator("#waiting tbody")).to_contain_text("+15551230001")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wallboard-waiting.png"), full_page=True)

    # From the page: Alice available; her simulated phone rings, she presses 1.
    alice.locator("button[data-set=available]").click()
    expect(page.locator("#queue-sales [data-field=answered]")).to_have_text("1", timeout=20000)
    expect(page.locator("#queue-sales [data-field=waiting]")).to_have_text("0")
    expect(alice.locator(".state")).to_have_attribute("data-state", re.compile("on-call|wrap-up"))
    # her call in progress: queue and caller (and talk time once connected)
    expect(alice.locator(".state .call")).to_contain_text("sales · +15551230001")
    assert live.sim.record.calls_to(ALICE), "the agent's phone was never rung"
    page.screenshot(path=str(ARTIFACTS / "wallboard-answered.png"), full_page=True)

    # From the page: Alice on break; the page and the router agree.
    alice.locator("button[data-set=break]").click()
    expect(alice.locator(".status")).to_have_text("break")
    assert next(a for a in router.agents() if a["id"] == "alice")["status"] == "break"
    expect(page.locator("#flow-main table.steps tbody tr[data-step=sales]")).to_contain_text("1",
                                                                                          timeout=20000)
    page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)

    # On a phone, opened as a kiosk link: the token comes in the fragment, which the page
    # keeps and removes from the address bar; nothing is wider than the screen.
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844},
                                             is_mobile=True)
    small = phone.new_page()
    small.goto(live.url + "/wallboard#token=" + TOKEN)
    expect(small.locator("#agent-alice .status")).to_have_text("break")
    expect(small.locator("#login")).to_be_hidden()
    assert TOKEN not in small.url
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    small.screenshot(path=str(ARTIFACTS / "wallboard-phone.png"), full_page=True)
    phone.close()
    call.wait(30)
    live.sim.assert_no_errors()
    assert page.errors == []  # type: ignore[attr-defined]


def test_without_a_token_the_page_can_still_change_things(
        live_factory: Any, callflows_dir: Path, browser_page: Any) -> None:
    """No IVR_ADMIN_TOKEN, on this machine: no token asked, and the page's changes carry
    the JSON content type that the server requires of every POST then."""
    from ivr.flows import voicemail

    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=None)
    wire(live.app)
    voicemail.save(live.redis, "vm1", box="sales", caller="+15551230001", called=SERVICE,
                   call_sid="CA" + "5" * 32, flow="main",
                   recording_url="https://api.twilio.com/recording.wav", duration=30)
    page = browser_page
    page.goto(live.url + "/wallboard")
    expect(page.locator("#agent-alice .status")).to_have_text("offline")
    expect(page.locator("#login")).to_be_hidden()
    page.locator("#vm-vm1 button[data-heard]").click()
    expect(page.locator("#vm-vm1")).to_contain_text("heard", timeout=10000)
    expect(page.locator("#vm-vm1 button[data-heard]")).to_have_count(0)
    assert voicemail.get(live.redis, "vm1")["heard"]
    page.locator("#agent-alice button[data-set=break]").click()
    expect(page.locator("#agent-alice .status")).to_have_text("break")
    expect(page.locator("#banner")).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]


def _contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS `rgb(...)` colours."""
    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_counts_read_well_links_are_readable_and_phones_see_the_table_scrolls(
        live_factory: Any, callflows_dir: Path, browser_page: Any) -> None:
    import time

    from ivr import keys
    from ivr.flows import voicemail

    expect = sync_api.expect
    live = live_factory(write_folder(callflows_dir), admin_token=TOKEN)
    wire(live.app)
    for n in (1, 2):
        voicemail.save(live.redis, f"vm{n}", box="sales", caller="+15551230001",
                       called=SERVICE, call_sid=f"CA{n:032d}", flow="main",
                       recording_url=f"https://api.twilio.com/recording{n}.wav", duration=30)
        live.redis.zadd(keys.calls_active(), {f"CA{n + 10:032d}": time.time()})
    page = browser_page
    page.goto(live.url + "/wallboard#token=" + TOKEN)
    summary = page.locator("#summary")
    expect(summary).to_have_text("2 calls in the flows · 2 unheard voicemails", timeout=10000)
    live.redis.zrem(keys.calls_active(), f"CA{11:032d}")
    page.locator("#vm-vm1 button[data-heard]").click()
    expect(summary).to_have_text("1 call in the flows · 1 unheard voicemail", timeout=10000)

    # The recording link on the dark voicemail panel: at least WCAG AA contrast.
    link = page.locator("#vm-vm2 a")
    expect(link).to_have_text("recording")
    colour = link.evaluate("a => getComputedStyle(a).color")
    panel = page.locator("#vm-vm2").evaluate("li => getComputedStyle(li).backgroundColor")
    assert _contrast(colour, panel) >= 4.5, (colour, panel)

    # Wide screen: the agents table fits, no hint. Phone: a hint and a glowing edge.
    expect(page.locator("#agent-alice")).to_be_visible()
    expect(page.locator("#agents-scroll-hint")).to_be_hidden()
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844},
                                             is_mobile=True)
    small = phone.new_page()
    small.goto(live.url + "/wallboard#token=" + TOKEN)
    expect(small.locator("#agent-alice")).to_be_visible()
    expect(small.locator("#agents-scroll-hint")).to_be_visible()
    expect(small.locator("#waiting-scroll-hint")).to_be_visible()
    box = small.locator("#agents-scroll")
    expect(box).to_have_class(re.compile(r"\boverflows\b.*\bat-start\b|\bat-start\b.*\boverflows\b"))
    assert box.evaluate("b => getComputedStyle(b).boxShadow") != "none"
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; b.dispatchEvent(new Event('scroll')); }")
    expect(box).to_have_class(re.compile(r"\bat-end\b"))
    small.screenshot(path=str(ARTIFACTS / "wallboard-phone-scroll.png"), full_page=True)
    phone.close()
    assert page.errors == []  # type: ignore[attr-defined]


def test_wall_screen_mode_fits_1920_by_1080_and_alerts_colour_the_cards(
        live_factory: Any, callflows_dir: Path, browser_page: Any) -> None:
    """`/wallboard?tv=1` on a 1920x1080 screen: no scrolling, the live parts only; a queue
    past one of its `alerts:` thresholds has a red card, the others do not."""
    expect = sync_api.expect
    folder = write_folder(callflows_dir)
    queues = (folder / "queues.yaml").read_text()
    (folder / "queues.yaml").write_text(queues.replace(
        "  service_level: 20\n", "  service_level: 20\n  alerts: {waiting: 1}\n"))
    live = live_factory(folder, admin_token=TOKEN)
    wire(live.app)
    router = live.app.extensions["ivr.router"]
    router.set_agent_status("alice", "break", source="test")
    router.enqueue("CA" + "7" * 32, queue="sales", priority=0, skills=[], max_wait=None,
                   caller="+15551230007", called=SERVICE, flow="main", step="sales",
                   action_url=live.url + "/twilio/voice/step")
    screen = browser_page.context.browser.new_context(viewport={"width": 1920, "height": 1080})
    page = screen.new_page()
    page.goto(live.url + "/wallboard?tv=1#token=" + TOKEN)
    expect(page.locator("#queue-sales [data-field=waiting]")).to_have_text("1", timeout=15000)
    expect(page.locator("#queue-sales")).to_have_class(re.compile(r"\balert\b"))
    expect(page.locator("#queue-support")).not_to_have_class(re.compile(r"\balert\b"))
    expect(page.locator("#queue-sales [data-field=waiting]")).to_have_class(re.compile("red"))
    expect(page.locator("#agent-alice .status")).to_have_text("break")
    expect(page.locator("#reports")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "wallboard-tv.png"))
    screen.close()
