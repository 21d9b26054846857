"""The flows package knows no web layer, and its modules stay small enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FLOWS = Path(__file__).parents[2] / "ivr" / "flows"
WEB = ("flask", "werkzeug", "ivr.webhooks", "ivr.context", "ivr.app")
MODULES = sorted(FLOWS.rglob("*.py"))


def shown(path: Path) -> str:
    return str(path.relative_to(FLOWS))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=shown)
def test_no_flows_module_imports_the_web_layer(path: Path) -> None:
    web = {n for n in imported(path) if n.split(".")[0] in WEB or n.startswith(WEB)}
    assert web == set()


def test_the_engines_load_without_flask() -> None:
    code = ("import sys, ivr.flows.engine, ivr.flows.texting, ivr.flows.registry, "
            "ivr.flows.commands; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("path", MODULES, ids=shown)
def test_no_flows_module_is_over_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 600


@pytest.mark.parametrize("first", ["ivr.flows.steps", "ivr.flows.checker", "ivr.flows.exits",
                                   "ivr.flows.runner", "ivr.flows.steps.menu",
                                   "ivr.flows.checker.values", "ivr.flows.engine"])
def test_any_module_can_be_imported_first(first: str) -> None:
    """The step specs sit below the checker and the runner: no import cycle to trip on."""
    subprocess.run([sys.executable, "-c", f"import {first}; import ivr.flows.checker, "
                                          f"ivr.flows.runner"], check=True)
