"""The wallboard's reports view in headless Chromium against the app and the simulator:
a served call and an overflow, then the queue's hours, the agent's quarter hours and the
CSV download. Screenshots go to artifacts/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from ivr.reports.intervals import QUEUE_COLUMNS
from ivr.sim.people import Caller, Phone
from tests.browser import ARTIFACTS, launch, playwright_or_skip
from tests.reports.test_e2e import AGENTS, ALICE, MAIN, QUEUES, SERVICE

TOKEN = "reports-browser-token"

pytestmark = pytest.mark.browser

sync_api = playwright_or_skip()


def test_reports_view_charts_tables_and_csv(live_factory: Any, callflows_dir: Path) -> None:
    expect = sync_api.expect
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    live = live_factory(callflows_dir, admin_token=TOKEN)
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=2)
    live.sim.send_sms(ALICE, SERVICE, "ON")
    live.sim.place_call("+15551230001", SERVICE, Caller(inputs=["1", "4"])).wait(30)
    live.sim.send_sms(ALICE, SERVICE, "OFF")
    live.sim.place_call("+15551230002", SERVICE, Caller(inputs=["1"])).wait(30)

    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1400},
                                       accept_downloads=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.url + "/wallboard#token=" + TOKEN)
            rows = page.locator("#report-table tbody tr")
            expect(rows).to_have_count(24, timeout=15000)  # today's hours of the queue
            expect(page.locator("#queue-sales [data-field=abandon_rate]")).to_have_text("0%")
            expect(page.locator("#queue-sales [data-field=asa]")).to_have_text(
                re.compile(r"^\d+:\d\d$"))
            expect(page.locator("#report-name")).to_have_value("sales")
            expect(page.locator("#report-metric")).to_have_value("offered")
            expect(page.locator("#report-chart rect").first).to_be_visible()  # a busy hour
            cells = page.evaluate("""() => [...document.querySelectorAll(
                '#report-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))""")
            assert sum(int(row[2]) for row in cells) == 2  # offered: both calls
            assert [(row[3], row[19]) for row in cells if row[3] != "0"] == [("1", "4")]
            # one bar per hour that had callers (two only if the calls straddled an hour)
            assert page.locator("#report-chart rect").count() == \
                sum(1 for row in cells if row[2] != "0")
            page.locator("#report-scroll").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "wallboard-reports.png"), full_page=True)

            page.select_option("#report-kind", "agent")
            page.select_option("#report-interval", "15")
            expect(rows).to_have_count(96, timeout=10000)
            expect(page.locator("#report-name")).to_have_value("alice")
            expect(page.locator("#report-metric")).to_have_value("handled")
            expect(page.locator("#report-chart rect").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "wallboard-reports-agent.png"),
                            full_page=True)

            page.select_option("#report-kind", "queue")
            expect(page.locator("#report-metric")).to_have_value("offered")
            with page.expect_download() as download:
                page.click("#report-csv")
            text = Path(download.value.path()).read_text()
            table = list(csv.reader(io.StringIO(text)))
            assert table[0] == list(QUEUE_COLUMNS) and len(table) == 1 + 96
            assert sum(int(r[2]) for r in table[1:]) == 2  # offered over the day
            assert errors == []
        finally:
            browser.close()
    live.sim.assert_no_errors()
