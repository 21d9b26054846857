"""`GET /api/staffing`: the typical week of the interval reports, as JSON and CSV, behind
the admin token."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import redis
from flask import Flask

from ivr.staffing.erlang import required_agents
from ivr.staffing.history import COLUMNS
from tests.staffing.test_history import calls, last


def test_staffing_json_csv_and_token(app: Flask, r: redis.Redis, auth: dict[str, str]) -> None:
    today = datetime.now(UTC).date()
    calls(r, "sales", last(2, today), 9, 0, 12, 100, 20)  # a Wednesday: 12 calls of 120 s
    client = app.test_client()
    assert client.get("/api/staffing").status_code == 401
    got = client.get("/api/staffing?days=7&level=0.9", headers=auth)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["columns"] == list(COLUMNS) and body["model"] == "erlang_c"
    assert [(w["queue"], w["weekday"], w["interval_start"]) for w in body["rows"]] == \
        [("sales", "Wed", "09:00")]
    row = body["rows"][0]
    expected = required_agents(12, 1800, 120, 20, 0.9)  # sales' service_level is 20 s
    assert (row["calls"], row["aht"], row["agents"]) == (12, 120, expected.agents)
    assert client.get("/api/staffing?queue=support", headers=auth).get_json()["rows"] == []
    assert client.get("/api/staffing?queue=nope", headers=auth).status_code == 404
    assert client.get("/api/staffing?days=0", headers=auth).status_code == 422
    text = client.get("/api/staffing?days=7&format=csv&interval=60&patience=90",
                      headers=auth)
    assert text.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text.get_data(as_text=True))))
    assert rows[0] == list(COLUMNS) and rows[1][:3] == ["sales", "Wed", "09:00"]
    assert rows[1][COLUMNS.index("agents")] == \
        str(required_agents(12, 3600, 120, 20, 0.8, patience_s=90).agents)
