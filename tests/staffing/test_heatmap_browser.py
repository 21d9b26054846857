"""The wallboard's staffing heat map in headless Chromium: known calls on two Mondays give
the cell of Monday 10:00 the agents Erlang C needs for their mean over the window. A
screenshot goes to artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from ivr.staffing.erlang import required_agents
from tests.browser import ARTIFACTS, launch, playwright_or_skip
from tests.staffing.test_history import history_days

TOKEN = "staffing-browser-token"

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()


def test_heat_map_of_a_typical_week(live_factory: Any, callflows_dir: Path,
                                    r: redis.Redis) -> None:
    expect = sync_api.expect
    (callflows_dir / "queues.yaml").write_text(
        "sales:\n  service_level: 30\nsupport:\n  service_level: 60\n")
    (callflows_dir / "agents.yaml").write_text(
        'a00:\n  name: Agent 0\n  phone: "+15005560000"\n  skills: {sales: 3}\n')
    (callflows_dir / "main.yaml").write_text(
        'numbers: ["*"]\nstart: q\nsteps:\n  q:\n    queue: sales\n')
    history_days(r)  # sales: 30 and 10 calls on the last two Mondays at 10:00
    live = live_factory(callflows_dir, admin_token=TOKEN)
    # the view's default: the last 28 days, four Mondays, so 40 calls / 4
    expected = required_agents(10, 1800, 225, 30, 0.8).agents
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1600}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.url + "/wallboard#token=" + TOKEN)
            cell = page.locator('#staffing-chart rect[data-cell="Mon 10:00"]')
            expect(cell).to_have_attribute("data-agents", str(expected), timeout=15000)
            expect(page.locator("#staffing-queue")).to_have_value("sales")
            # seven weekday rows of the one half hour with calls
            assert page.locator("#staffing-chart rect").count() == 7
            assert page.locator('#staffing-chart rect[data-agents=""]').count() == 6
            page.fill("#staffing-days", "7")  # only the later Monday: 30 calls
            page.locator("#staffing-days").dispatch_event("change")
            expect(cell).to_have_attribute(
                "data-agents", str(required_agents(30, 1800, 240, 30, 0.8).agents),
                timeout=10000)
            page.select_option("#staffing-queue", "support")
            expect(page.locator('#staffing-chart rect[data-cell="Tue 14:00"]')) \
                .to_have_attribute("data-agents",
                                   str(required_agents(8, 1800, 300, 60, 0.8).agents),
                                   timeout=10000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator("#staffing").screenshot(path=str(ARTIFACTS / "wallboard-staffing.png"))
            assert errors == []
        finally:
            browser.close()
