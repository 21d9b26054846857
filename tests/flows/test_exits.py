"""exits(): every way out of a step, as the engine and the graph see them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from ivr.flows.checker import check_texts, strongly_connected
from ivr.flows.exits import ends_call_when_unset, exits, split_target
from ivr.flows.model import Location, Step

HERE = Location("callflows/main.yaml", 1, 1)


def step(action: str, value: object, **settings: object) -> Step:
    return Step(name="s", action=action, value=value, settings=dict(settings), location=HERE)


@pytest.mark.parametrize(("s", "expected"), [
    (step("say", "hi", next="b"), [("next", "b")]),
    (step("menu", "p", options={"1": "sales", 2: "support"}, words={"sales": ["sales", "buy"]},
          fallback="vm"),
     [("1", "sales"), ("2", "support"), ("sales", "sales"), ("buy", "sales"),
      ("fallback", "vm")]),
    (step("gather", "p", next="ok", fallback="vm"), [("next", "ok"), ("fallback", "vm")]),
    (step("branch", [{"if": "vars.vip", "goto": "vip"}, {"if": "input == '2'", "goto": "b"}],
          **{"else": "c"}),
     [("if vars.vip", "vip"), ("if input == '2'", "b"), ("else", "c")]),
    (step("hours", "office", open="m", closed="c", holiday="h"),
     [("open", "m"), ("closed", "c"), ("holiday", "h")]),
    (step("queue", "sales", overflow="vm", next="bye"), [("overflow", "vm"), ("next", "bye")]),
    (step("http", "https://x", next="n", error="e"), [("next", "n"), ("error", "e")]),
    (step("goto", "other.start"), [("goto", "other.start")]),
    (step("hangup", True), []),
])
def test_exits(s: Step, expected: list[tuple[str, str]]) -> None:
    assert exits(s) == expected


def test_implicit_endings() -> None:
    assert ends_call_when_unset(step("say", "hi")) == ["next"]
    assert ends_call_when_unset(step("say", "hi", next="b")) == []
    assert ends_call_when_unset(step("branch", [])) == ["else"]
    assert ends_call_when_unset(step("queue", "q", next="b")) == ["overflow"]
    assert ends_call_when_unset(step("hangup", True)) == ["hangup"]


def test_split_target() -> None:
    assert split_target("welcome", "main") == ("main", "welcome")
    assert split_target("sms.text_menu", "main") == ("sms", "text_menu")
    assert split_target("v2.main.welcome", "x") == ("v2.main", "welcome")


def test_long_chains_do_not_hit_the_recursion_limit() -> None:
    n = sys.getrecursionlimit() * 2
    steps = "".join(f"  s{i}:\n    set: {{i: {i}}}\n    next: s{i + 1}\n" for i in range(n))
    files = {"main.yaml": f'numbers: ["*"]\nsteps:\n{steps}  s{n}:\n    goto: s0\n'}
    _, problems = check_texts(files)
    assert [str(p) for p in problems if p.is_error] == [
        f"callflows/main.yaml:3:3: loop with no way out through steps s0, s1, s2, s3, s4, s5, "
        f"s6, s7, s8, s9 and {n + 1 - 10} more: add a way out, or a menu or gather that waits "
        f"for the caller"]


def test_strongly_connected() -> None:
    graph = {"a": ["b"], "b": ["c", "a"], "c": ["d"], "d": ["c"], "e": []}
    parts = sorted(sorted(c) for c in strongly_connected(graph))
    assert parts == [["a", "b"], ["c", "d"], ["e"]]


def test_bench_generator_flow_passes(tmp_path: Path) -> None:
    """The 1,000-step benchmark flow is valid (so the benchmark measures a real check)."""
    spec = importlib.util.spec_from_file_location(
        "bench_flows", Path(__file__).parents[2] / "bench" / "flows.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    files = {"big.yaml": bench.generate(1000), **bench.SIDE_FILES}
    callflows, problems = check_texts(files)
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None and len(callflows.flows["big"].steps) == 1001
