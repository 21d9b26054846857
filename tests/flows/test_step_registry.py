"""The step registry is the one place that says what each action takes; the JSON schemas
and the docs agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ivr.flows.checker.reserved import AGENT_KEYS, HOURS_KEYS, QUEUE_KEYS
from ivr.flows.steps import ACTIONS, ANSWERING, SPECS
from ivr.flows.steps.base import Bool, Int, Language, Prompt, Target, Variable, Voice

ROOT = Path(__file__).parents[2]
SCHEMAS = ROOT / "ivr" / "flows"
DEFS: dict[str, Any] = json.loads((SCHEMAS / "callflows.schema.json").read_text())["$defs"]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with $ref and single-item allOf followed (descriptions kept)."""
    seen: list[str] = []
    while True:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            seen.append(name)
            node = {**DEFS[name], "_refs": seen}
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = {**resolve(node["allOf"][0]), **{k: v for k, v in node.items()
                                                     if k != "allOf"}}
        else:
            return node


def keys_of(action: str) -> list[tuple[str, Any]]:
    spec = SPECS[action]
    return [(action, spec.value), *spec.settings.items()]


@pytest.mark.parametrize("action", ACTIONS)
def test_schema_kinds_match_the_spec(action: str) -> None:
    props = DEFS[f"{action}Step"]["properties"]
    for key, setting in keys_of(action):
        schema = resolve(props[key])
        refs = schema.get("_refs", [])
        if isinstance(setting, Int):
            assert schema["type"] == "integer", (action, key)
            assert (schema.get("minimum"), schema.get("maximum")) == (setting.lo, setting.hi), \
                (action, key)
        elif isinstance(setting, Bool):
            assert schema["type"] == "boolean", (action, key)
        elif isinstance(setting, Target):
            assert "target" in refs, (action, key)
        elif isinstance(setting, Prompt):
            assert ("promptOrTrue" if setting.allow_true else "prompt") in refs, (action, key)
        elif isinstance(setting, Variable):
            assert "variable" in refs, (action, key)
        elif isinstance(setting, Voice):
            assert "voice" in refs, (action, key)
        elif isinstance(setting, Language):
            assert "language" in refs, (action, key)
    assert DEFS[f"{action}Step"]["required"] == [action]


@pytest.mark.parametrize(("name", "keys"), [("queues", QUEUE_KEYS), ("agents", AGENT_KEYS),
                                            ("hours", HOURS_KEYS)])
def test_reserved_file_schemas_take_the_keys_the_checker_takes(name: str,
                                                              keys: tuple[str, ...]) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    assert set(schema["additionalProperties"]["properties"]) == set(keys)


def test_the_docs_table_lists_every_action_with_its_settings() -> None:
    text = (ROOT / "docs" / "callflows.md").read_text()
    actions = text[text.index("## 2. Actions"):text.index("## 3.")]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", actions, re.M)}
    for action in ACTIONS:
        row = rows[action]
        for key in SPECS[action].settings:
            assert f"`{key}`" in row, (action, key)


def test_the_asking_steps_are_those_that_wait_for_the_caller() -> None:
    assert set(ANSWERING) == {"menu", "gather", "survey"}
    assert {a for a, s in SPECS.items() if s.waits} == {"menu", "gather", "survey", "record",
                                                         "queue", "dial"}
    assert {a for a, s in SPECS.items() if s.hands_over} == {"record", "dial", "queue"}
    assert {a for a, s in SPECS.items() if "sms" not in s.channels} == {"play", "pause", "dial",
                                                                          "record"}
