"""The JSON Schemas (for the YAML language server) accept the demo and reject broken files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ivr.flows.checker import SETTINGS
from ivr.flows.steps import ACTIONS
from ivr.flows.yamlsrc import load_text

ROOT = Path(__file__).parents[2]
SCHEMAS = ROOT / "ivr" / "flows"
FIXTURES = Path(__file__).parent / "fixtures"
DEMO = ROOT / "callflows"


def schema_path(file: Path) -> Path:
    name = file.stem if file.stem in ("hours", "queues", "agents") else "callflows"
    return SCHEMAS / f"{name}.schema.json"


def schema_for(file: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path(file).read_text())
    return schema


def as_json(file: Path) -> Any:
    """What the YAML language server validates: YAML as JSON (keys and dates become text)."""
    return json.loads(json.dumps(load_text(file.read_text(), file.name)[0], default=str))


def schema_errors(file: Path) -> list[str]:
    validator = Draft202012Validator(schema_for(file))
    return [e.message for e in validator.iter_errors(as_json(file))]


@pytest.mark.parametrize("name", ["callflows", "hours", "queues", "agents"])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("file", sorted(DEMO.glob("*.yaml")), ids=lambda p: p.name)
def test_demo_files_validate(file: Path) -> None:
    assert schema_errors(file) == []
    first = file.read_text().splitlines()[0]
    m = re.match(r"# yaml-language-server: \$schema=(\S+)$", first)
    assert m, "the demo files point the YAML language server at their schema"
    assert (file.parent / m.group(1)).resolve() == schema_path(file).resolve()


@pytest.mark.parametrize("file", sorted((FIXTURES / "base").glob("*.yaml")), ids=lambda p: p.name)
def test_base_fixture_validates(file: Path) -> None:
    assert schema_errors(file) == []


@pytest.mark.parametrize(("case", "file"), [
    ("unknown_step_key", "main.yaml"), ("two_actions", "main.yaml"), ("no_action", "main.yaml"),
    ("wrong_type", "main.yaml"), ("unknown_language", "main.yaml"), ("unknown_voice", "main.yaml"),
    ("menu_key", "main.yaml"), ("number_unquoted", "main.yaml"), ("unknown_channel", "main.yaml"),
    ("bad_strategy", "queues.yaml"), ("negative_wait", "queues.yaml"),
    ("escalate_level", "queues.yaml"), ("skill_level", "agents.yaml"),
    ("pin_digits", "agents.yaml"), ("phone_not_e164", "agents.yaml"),
    ("bad_time_range", "hours.yaml"), ("bad_day", "hours.yaml"),
])
def test_broken_files_do_not_validate(case: str, file: str) -> None:
    assert schema_errors(FIXTURES / "broken" / case / file) != []


def test_step_schemas_match_the_checker() -> None:
    """The schema and the checker accept the same settings for every action."""
    defs = json.loads((SCHEMAS / "callflows.schema.json").read_text())["$defs"]
    assert [d["$ref"] for d in defs["step"]["oneOf"]] == [f"#/$defs/{a}Step" for a in ACTIONS]
    for action in ACTIONS:
        assert set(defs[f"{action}Step"]["properties"]) == {action, *SETTINGS[action]}, action
