"""`ivr graph` and `ivr check`: diagrams hold every step and way out; the CLI's exit codes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.flows.checker import check_folder
from ivr.flows.commands import check_command, graph_command
from ivr.flows.exits import exits, split_target
from ivr.flows.graph import END, dot, edges, mermaid

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).parents[2] / "callflows"


def demo_flows():  # type: ignore[no-untyped-def]
    callflows, _ = check_folder(DEMO)
    assert callflows is not None
    return callflows


@pytest.mark.parametrize("name", ["main", "sms"])
def test_mermaid_has_every_step_and_labelled_edge(name: str) -> None:
    flow = demo_flows().flows[name]
    text = mermaid(flow)
    assert text.startswith("flowchart TD\n")
    ids = dict(re.findall(r"^\s+(n\d+)[\[(]+\"?([A-Za-z0-9_]+)<br/>", text, re.M))
    assert set(ids.values()) == set(flow.steps)
    by_name = {v: k for k, v in ids.items()}
    arrows = set(re.findall(r"^\s+(n\d+) -->\|\"([^\"]*)\"\| (n\d+)$", text, re.M))
    for step in flow.steps.values():
        for label, target in exits(step):
            other, target_step = split_target(target, flow.name)
            assert other == flow.name
            assert any(src == by_name[step.name] and dst == by_name[target_step]
                       and label in lab.split(" / ") for src, lab, dst in arrows), \
                (step.name, label, target)


def test_edges_include_implicit_endings() -> None:
    flow = demo_flows().flows["main"]
    out = edges(flow)
    assert ("goodbye", "end", END) in out
    assert ("where_from", "if caller.country and caller.country != 'US'", "international") in out
    assert ("main_menu", "1 / sales / buy / new bike", "sales") in out
    assert ("office_hours", "holiday", "holiday") in out


def test_dot_output() -> None:
    text = dot(demo_flows().flows["main"])
    assert text.startswith('digraph "main" {')
    assert '"main_menu" -> "sales" [label="1 / sales / buy / new bike"];' in text


def test_graph_command_mermaid(tmp_path: Path) -> None:
    out = tmp_path / "main.mmd"
    result = CliRunner().invoke(graph_command, ["main", "--dir", str(DEMO), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == mermaid(demo_flows().flows["main"])


def test_graph_command_unknown_flow() -> None:
    result = CliRunner().invoke(graph_command, ["nope", "--dir", str(DEMO)])
    assert result.exit_code == 1
    assert "no flow 'nope'" in result.output and "main, sms" in result.output


def test_graph_command_svg() -> None:
    result = CliRunner().invoke(graph_command, ["main", "--dir", str(DEMO), "--format", "svg"])
    if shutil.which("dot") is None:
        assert result.exit_code == 1
        assert "Graphviz" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert "<svg" in result.output and "main_menu" in result.output


def test_check_command_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVR_CALLFLOWS", raising=False)
    monkeypatch.chdir(DEMO.parent)
    result = CliRunner().invoke(check_command, [])
    assert result.exit_code == 0, result.output
    cf = demo_flows()
    steps = sum(len(f.steps) for f in cf.flows.values())
    assert result.output.strip().endswith(
        f"callflows: 2 flows, {steps} steps, 4 queues, {len(cf.agents)} agents, 1 schedule — OK")


def test_check_command_env_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(FIXTURES / "base", folder)
    for f in (FIXTURES / "broken" / "missing_target").iterdir():
        shutil.copy(f, folder / f.name)
    monkeypatch.setenv("IVR_CALLFLOWS", str(folder))
    result = CliRunner().invoke(check_command, [])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{folder / 'main.yaml'}:8:11: 'next' leads to unknown step 'office_huors' "
        f"(did you mean 'office_hours'?)"]


def test_check_command_prints_warnings_and_passes(tmp_path: Path) -> None:
    folder = tmp_path / "cf"
    folder.mkdir()
    (folder / "main.yaml").write_text(
        "numbers: ['*']\nsteps:\n  a:\n    branch: [{if: 'true', goto: b}]\n"
        "  b:\n    hangup: true\n")
    result = CliRunner().invoke(check_command, [str(folder)])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        f"{folder / 'main.yaml'}:4:5: warning: branch 'a' has no 'else': when no condition "
        f"holds the call ends")
    assert result.output.splitlines()[1].endswith("— OK, 1 warning")


def test_cross_flow_targets_and_endings_are_drawn() -> None:
    from ivr.flows.checker import check_texts

    callflows, _ = check_texts({
        "main.yaml": 'numbers: ["*"]\nsteps:\n  a:\n    menu: "1 or 2"\n'
                     "    options: {1: other.b, 2: c}\n  c:\n    say: 'Bye \"now\"'\n",
        "other.yaml": "steps:\n  b:\n    hangup: true\n"})
    assert callflows is not None
    text = mermaid(callflows.flows["main"])
    assert text.splitlines() == [
        "flowchart TD",
        '    n0(["a<br/>menu: 1 or 2"])',
        '    n1["c<br/>say: Bye #quot;now#quot;"]',
        '    n2[/"other.b"/]',
        "    n3((hang up))",
        '    n0 -->|"1"| n2',
        '    n0 -->|"2"| n1',
        '    n0 -->|"no fallback"| n3',
        '    n1 -->|"no next"| n3',
    ]


def test_wired_into_the_ivr_command() -> None:
    """`ivr check` and `ivr graph` as the console script runs them (ivr.cli's lazy group)."""
    from ivr.cli import main

    result = CliRunner().invoke(main, ["check", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("— OK")
    result = CliRunner().invoke(main, ["graph", "sms", "--dir", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert result.output == mermaid(demo_flows().flows["sms"])
