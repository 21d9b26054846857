"""`ivr staffing` through click's CliRunner (and once through a real process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ivr.cli import main

REFERENCE = ["staffing", "--calls", "100", "--interval", "30", "--aht", "180",
             "--target", "20", "--level", "0.8"]


def _rows(output: str) -> dict[str, str]:
    """Table rows by label: 'service level   0.888  88.8 % ...' → {'service level': '0.888'}."""
    cells = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()[2:]]
    return {c[0]: c[1] for c in cells}


def test_reference_table() -> None:
    result = CliRunner().invoke(main, REFERENCE)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Erlang C: 100 calls in 30 min, handle time 180 s, "
                                    "target 80 % answered within 20 s\n")
    rows = _rows(result.output)
    assert rows["traffic"] == "10.00"
    assert rows["agents"] == "14"
    assert rows["service level"] == "0.888"
    assert rows["average speed of answer"] == "7.8 s"
    assert rows["occupancy"] == "0.714"
    assert rows["chance of waiting"] == "0.174"
    assert rows["rostered"] == "14"
    assert "abandon share" not in rows


def test_reference_with_shrinkage_and_patience() -> None:
    result = CliRunner().invoke(main, [*REFERENCE, "--shrinkage", "0.3", "--patience", "120"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Erlang A, callers give up after 120 s on average:")
    rows = _rows(result.output)
    assert rows["agents"] == "12"
    assert rows["rostered"] == "18"  # ceil(12 / 0.7)
    assert rows["abandon share"] == "0.062"
    assert "30 % shrinkage" in result.output


def test_json() -> None:
    result = CliRunner().invoke(main, [*REFERENCE, "--shrinkage", "0.3", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "erlang_c"
    assert data["agents"] == 14 and data["rostered"] == 20
    assert round(data["service_level"], 3) == 0.888
    assert round(data["asa_s"], 1) == 7.8
    assert round(data["occupancy"], 3) == 0.714
    assert round(data["p_wait"], 3) == 0.174
    assert data["patience_s"] is None and data["p_abandon"] == 0.0


@pytest.mark.parametrize(("args", "message"), [
    (["--level", "80"], "Invalid value for '--level': 80 is not a fraction: write 0.8"),
    (["--level", "1"], "Invalid value for '--level': no number of agents"),
    (["--level", "0"], "Invalid value for '--level'"),
    (["--calls", "-5"], "Invalid value for '--calls': must be zero or more"),
    (["--interval", "0"], "Invalid value for '--interval': must be above zero"),
    (["--aht", "-180"], "Invalid value for '--aht': must be above zero"),
    (["--aht", "inf"], "Invalid value for '--aht': must be a finite number"),
    (["--target", "-1"], "Invalid value for '--target': must be zero or more"),
    (["--shrinkage", "1"], "Invalid value for '--shrinkage'"),
    (["--patience", "0"], "Invalid value for '--patience': must be above zero"),
    (["--calls", "many"], "Invalid value for '--calls'"),
])
def test_impossible_input(args: list[str], message: str) -> None:
    values = dict(zip(REFERENCE[1::2], REFERENCE[2::2], strict=True))
    values.update(dict(zip(args[0::2], args[1::2], strict=True)))
    argv = ["staffing", *[x for pair in values.items() for x in pair]]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_option() -> None:
    result = CliRunner().invoke(main, ["staffing", "--calls", "100"])
    assert result.exit_code == 2
    assert "Missing option '--interval'" in result.output


def test_listed_in_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "staffing" in result.output


def test_real_process_prints_only_the_answer() -> None:
    """No log lines, nothing on stderr: the output can be pasted or piped."""
    done = subprocess.run([sys.executable, "-m", "ivr.cli", *REFERENCE, "--format", "json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["agents"] == 14
