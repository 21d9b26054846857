"""`ivr agents list` and `ivr agents set` against a real Redis and a real callflows folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.routing.commands import duration

AGENTS = """
alice:
  name: Alice Jones
  phone: "+15005550101"
  skills: {sales: 5}
bob:
  name: Bob Smith
  phone: "+15005550102"
  skills: {sales: 2}
"""
QUEUES = "sales:\n  skills: [sales]\n"
MAIN = 'numbers: ["*"]\nstart: q\nsteps:\n  q:\n    queue: sales\n    overflow: bye\n' \
       '  bye:\n    hangup: "Bye."\n'


@pytest.fixture()
def env(callflows_dir: Path, redis_url: str, r: object, monkeypatch: pytest.MonkeyPatch) -> None:
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "main.yaml").write_text(MAIN)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("IVR_CALLFLOWS", str(callflows_dir))


def test_set_then_list(env: None) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["agents", "set", "alice", "available"])
    assert result.exit_code == 0, result.output
    assert "alice: available (idle)" in result.output
    result = runner.invoke(main, ["agents", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["AGENT", "NAME", "STATUS", "STATE"]
    alice = next(line for line in lines if line.startswith("alice"))
    bob = next(line for line in lines if line.startswith("bob"))
    assert "available" in alice and "offline" in bob
    rows = json.loads(runner.invoke(main, ["agents", "list", "--json"]).output)
    assert {a["id"]: a["status"] for a in rows} == {"alice": "available", "bob": "offline"}
    assert runner.invoke(main, ["agents", "set", "bob", "OFF"]).exit_code == 0


def test_unknown_agent_and_bad_status(env: None) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["agents", "set", "zed", "available"])
    assert result.exit_code != 0 and "no agent 'zed'" in result.output
    assert "alice" in result.output
    result = runner.invoke(main, ["agents", "set", "alice", "lunch"])
    assert result.exit_code != 0


def test_duration_reads_like_a_person() -> None:
    assert duration(5) == "5s"
    assert duration(185) == "3m 05s"
    assert duration(7800) == "2h 10m"
