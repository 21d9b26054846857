"""`ivr report` against a real Redis and a callflows folder: the day played through the
routing, read back as CSV, JSON and a table."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.reports.intervals import QUEUE_COLUMNS
from tests.reports.test_intervals import QUEUES, play_day
from tests.routing.conftest import agents_of

MAIN = 'numbers: ["*"]\nstart: q\nsteps:\n  q:\n    queue: sales\n    overflow: bye\n' \
       '  bye:\n    hangup: "Bye."\n'


@pytest.fixture()
def env(callflows_dir: Path, redis_url: str, r: object, monkeypatch: pytest.MonkeyPatch) -> None:
    (callflows_dir / "queues.yaml").write_text(
        "sales:\n  service_level: 20\n  short_abandon: 5\n  wrap_up: 10\n  max_wait: 100\n"
        "  callback: true\n")
    (callflows_dir / "agents.yaml").write_text(
        'a00:\n  name: Agent 0\n  phone: "+15005560000"\n  skills: {sales: 3}\n')
    (callflows_dir / "main.yaml").write_text(MAIN)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("IVR_CALLFLOWS", str(callflows_dir))


def test_report_as_csv_json_and_table(env: None, setup, twilio, clock) -> None:
    router, _ = setup(QUEUES, agents_of(1))
    t0 = play_day(router, twilio, clock)
    day = datetime.fromtimestamp(t0, UTC).date().isoformat()
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--queue", "sales", "--from", day, "--to", day,
                                  "--interval", "day", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == list(QUEUE_COLUMNS)
    got = dict(zip(rows[0], rows[1], strict=True))
    assert (got["offered"], got["answered"], got["service_level"], got["csat"]) == \
        ("6", "2", "0.1667", "")
    result = runner.invoke(main, ["report", "--agent", "a00", "--from", day, "--to", day,
                                  "--interval", "day", "--format", "json"])
    answer = json.loads(result.output)
    assert answer["report"] == "agent" and answer["rows"][0]["available"] == 120
    result = runner.invoke(main, ["report", "--from", day, "--interval", "60"])
    assert result.exit_code == 0 and "service_level" in result.output
    assert len(result.output.strip().splitlines()) == 2 + 24  # title, header, 24 hours
    bad = runner.invoke(main, ["report", "--queue", "nope"])
    assert bad.exit_code != 0 and "no queue named 'nope'" in bad.output
