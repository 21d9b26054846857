"""queues.yaml's `record` and `record_notice`: built, checked, in the JSON Schema."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ivr.flows.checker import check_texts

MAIN = 'numbers: ["*"]\nstart: a\nsteps:\n  a:\n    say: hi\n'
ALICE = 'alice:\n  phone: "+15005550101"\n  skills: {sales: 3}\n'


def check(queues: str) -> tuple[Any, list[str], list[str]]:
    cf, problems = check_texts({"main.yaml": MAIN, "queues.yaml": queues,
                                "agents.yaml": ALICE})
    return (cf, [str(p) for p in problems if p.is_error],
            [str(p) for p in problems if not p.is_error])


def test_record_and_notice_are_built() -> None:
    cf, errors, warnings = check('sales:\n  skills: [sales]\n  record: true\n'
                                 '  record_notice: "This call may be recorded."\n')
    assert errors == [] and warnings == []
    assert cf.queues["sales"].record is True
    assert cf.queues["sales"].record_notice == "This call may be recorded."


def test_default_is_not_recorded() -> None:
    cf, errors, _ = check("sales:\n  skills: [sales]\n")
    assert errors == []
    assert cf.queues["sales"].record is False and cf.queues["sales"].record_notice is None


def test_wrong_types_are_errors() -> None:
    _, errors, _ = check('sales:\n  record: "yes"\n  record_notice: [a]\n')
    assert any("'record'" in e and "true or false" in e for e in errors)
    assert any("'record_notice'" in e and "text" in e for e in errors)


def test_record_without_notice_and_notice_without_record_warn() -> None:
    _, errors, warnings = check("sales:\n  record: true\n")
    assert errors == [] and any("no 'record_notice'" in w for w in warnings)
    _, errors, warnings = check('sales:\n  record_notice: "hello"\n')
    assert errors == [] and any("does not record" in w for w in warnings)


def test_schema_has_the_keys() -> None:
    schema = json.loads(resources.files("ivr.flows").joinpath("queues.schema.json")
                        .read_text("utf-8"))
    props = schema["additionalProperties"]["properties"] if "additionalProperties" in schema \
        else next(iter(schema["patternProperties"].values()))["properties"]
    assert props["record"]["type"] == "boolean"
    assert props["record_notice"]["type"] == "string"
