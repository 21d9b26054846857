"""`alerts:` in queues.yaml: the wallboard's thresholds, checked like every other queue key."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from ivr.flows.checker import check_texts

MAIN = 'numbers: ["*"]\nsteps:\n  a:\n    hangup: true\n'
HOURS = "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "ivr" / "flows"
                     / "queues.schema.json").read_text())
GOOD = ("sales:\n  alerts: {longest_wait: 120, service_level: 0.8, waiting: 10,"
        " abandon_rate: 0.05}\nsupport: {}\n")
BAD = ("a:\n  alerts: {longest_wait: 1.5, service_level: 80, waiting: -1, wait: 3}\n"
       "b:\n  alerts: [1]\nc:\n  alerts: {abandon_rate: high}\n")


def _schema_errors(text: str) -> list[str]:
    return [e.message for e in Draft202012Validator(SCHEMA).iter_errors(yaml.safe_load(text))]


def test_alerts_load_into_the_queue() -> None:
    callflows, problems = check_texts({"main.yaml": MAIN, "queues.yaml": GOOD,
                                       "hours.yaml": HOURS})
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None
    assert callflows.queues["sales"].alerts == {"longest_wait": 120, "service_level": 0.8,
                                                "waiting": 10, "abandon_rate": 0.05}
    assert callflows.queues["support"].alerts == {}
    assert _schema_errors(GOOD) == []


def test_wrong_alerts_are_reported_where_they_are() -> None:
    callflows, problems = check_texts({"main.yaml": MAIN, "queues.yaml": BAD,
                                       "hours.yaml": HOURS})
    assert callflows is None
    assert [str(p) for p in problems if p.is_error] == [
        "callflows/queues.yaml:2:26: 'longest_wait' must be a whole number, not a number",
        ("callflows/queues.yaml:2:46: 'service_level' must be a ratio from 0 to 1 (0.8 is 80%),"
         " not 80"),
        "callflows/queues.yaml:2:59: 'waiting' must be at least 0, not -1",
        "callflows/queues.yaml:2:63: unknown key 'wait' in alerts (did you mean 'waiting'?)",
        "callflows/queues.yaml:4:11: 'alerts' must be a mapping, not a list",
        "callflows/queues.yaml:6:26: 'abandon_rate' must be a number from 0 to 1, not text",
    ]
    assert len(_schema_errors(BAD)) == 6  # the schema refuses the same six
