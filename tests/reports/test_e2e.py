"""End to end through the Twilio simulator: calls and a text conversation over real HTTP,
then the contact records and the reports read back over HTTP, compared with what the
simulator and the routing log recorded."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import requests

from ivr import keys
from ivr.reports.intervals import AGENT_COLUMNS, QUEUE_COLUMNS
from ivr.sim.people import Caller, Phone
from tests.waiting import wait_until

SERVICE = "+15005550006"
ALICE = "+15005550101"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
channels: [voice, sms]
start: menu
steps:
  menu:
    menu: "Press 1 for sales."
    options: {{1: sales}}
    fallback: sales
  sales:
    queue: sales
    overflow: sorry
    next: rate
  rate:
    survey: "How did we do? Press 1 to 5."
    next: bye
    fallback: bye
  sorry:
    hangup: "Sorry, nobody can take your call."
  bye:
    hangup: "Goodbye."
"""
TEXTS = """
numbers: ["+15005550007"]
channels: [sms]
start: rate
steps:
  rate:
    survey: "How did we do? Reply 1 to 5."
    next: bye
  bye:
    hangup: "Thanks!"
"""
AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
"""
QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 5
  max_wait: 30
  wrap_up: 0
  service_level: 20
  short_abandon: 5
  announce: false
  survey_by_text: "How did we do? Reply 1 (poor) to 5 (great)."
"""



def test_calls_and_a_text_become_contacts_and_reports(live_factory: Any,
                                                      callflows_dir: Path) -> None:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "texts.yaml").write_text(TEXTS)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    live = live_factory(callflows_dir)
    api = f"{live.url}/api"

    # 1. Alice answers; she hangs up and the caller rates the call 4
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=2)
    assert "available" in live.sim.send_sms(ALICE, SERVICE, "ON")[0]
    served = live.sim.place_call("+15551230001", SERVICE, Caller(inputs=["1", "4"])).wait(30)
    assert any("How did we do" in s for s in served.said()), served.said()
    assert "Goodbye." in served.said()  # the score was taken
    # 2. Alice answers; the caller hangs up on her and gets the queue's survey by text
    texted = live.sim.place_call("+15551230004", SERVICE, Caller(inputs=["1"], talk_for=1)
                                 ).wait(30)
    survey = wait_until(lambda: [m for m in live.sim.inbox("+15551230004")
                                 if "How did we do" in m.body])
    assert len(survey) == 1 and survey[0].from_ == SERVICE
    assert live.sim.send_sms("+15551230004", SERVICE, "5") == ["Thank you for your feedback!"]
    assert not [m for m in live.sim.inbox("+15551230001") if "Reply 1" in m.body]
    # 3. nobody logged in: the caller overflows and leaves without rating
    assert "logged out" in live.sim.send_sms(ALICE, SERVICE, "OFF")[0]
    overflowed = live.sim.place_call("+15551230002", SERVICE,
                                     Caller(inputs=["1"], hangup_after=40)).wait(30)
    assert any("nobody can take your call" in s for s in overflowed.said())
    # 4. a text conversation that answers a survey with 5
    assert "Reply 1 to 5" in live.sim.send_sms("+15551230003", "+15005550007", "hi")[0]
    assert "Thanks!" in live.sim.send_sms("+15551230003", "+15005550007", "5")[0]
    live.sim.assert_no_errors()

    # the timer thread folds the event log by itself (no report has been read yet)
    wait_until(lambda: live.redis.get(keys.report_cursor()))
    contacts = wait_until(lambda: (lambda got: got if len(got) == 4 else None)(
        requests.get(f"{api}/contacts", timeout=10).json()))
    by_number = {c["number"]: c for c in contacts}
    first = by_number["+15551230001"]
    assert first["id"] == served.sid and first["channel"] == "voice"
    assert (first["queue"], first["outcome"], first["agents"], first["survey"]) == \
        ("sales", "connected", ["alice"], 4)
    assert first["steps"] == ["main.menu", "main.sales", "main.rate", "main.bye"]
    second = by_number["+15551230002"]
    assert (second["outcome"], second["survey"], second["agents"]) == ("overflowed", None, [])
    assert (by_number["+15551230004"]["id"], by_number["+15551230004"]["survey"]) == \
        (texted.sid, 5)
    text = by_number["+15551230003"]
    assert (text["channel"], text["survey"], text["outcome"]) == ("sms", 5, "ended in the flow")

    only = requests.get(f"{api}/contacts", params={"agent": "alice", "format": "csv"},
                        timeout=10)
    assert only.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(only.text)))
    assert [row["id"] for row in rows] == [served.sid, texted.sid]

    # The routing log says how long the served callers waited (the simulator rings the
    # agent's phone before she accepts): the report's asa and service level follow it.
    events = requests.get(f"{api}/events", params={"count": 1000}, timeout=10).json()
    waits = [int(e["wait"]) for e in events if e["type"] == "connect"]
    assert len(waits) == 2
    in_sl = sum(1 for w in waits if w <= 20)
    report = requests.get(f"{api}/reports", params={"queue": "sales", "interval": "day",
                                                    "format": "csv"}, timeout=10)
    table = list(csv.reader(io.StringIO(report.text)))
    assert table[0] == list(QUEUE_COLUMNS)
    row = dict(zip(table[0], table[1], strict=True))
    assert (row["offered"], row["answered"], row["overflowed"], row["abandoned"]) == \
        ("3", "2", "1", "0")
    assert row["answered_in_sl"] == str(in_sl)
    assert float(row["asa"]) == round(sum(waits) / 2, 2)
    assert (row["surveys"], row["csat"]) == ("2", "4.5")  # the text flow's survey: no queue
    assert float(row["service_level"]) == round(in_sl / 3, 4)
    assert row["abandon_rate"] == "0.0" and row["avg_hold"] == "0.0"
    # the wallboard's since-midnight figures are the day's row
    card = requests.get(f"{api}/queues/sales", timeout=10).json()
    assert (card["asa"], card["aht"], card["abandon_rate"]) == (
        float(row["asa"]), float(row["aht"]), 0.0)
    agent = requests.get(f"{api}/reports", params={"agent": "alice", "interval": "day"},
                         timeout=10).json()
    assert agent["columns"] == list(AGENT_COLUMNS)
    assert (agent["rows"][0]["handled"], agent["rows"][0]["surveys"],
            agent["rows"][0]["csat"]) == (2, 2, 4.5)

    # A rebuild from the log and the records equals what was kept live.
    reports = live.app.extensions["ivr.reports"].reports
    reports.fold()
    assert reports.stored() == reports.rebuild()
