"""The agent desk's keys: a queue's `script` and `dispositions`, an agent's `role`, and
agents.yaml's `breaks:` (reasons, not an agent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.flows.checker import check_texts
from ivr.staffing.shifts import read_roster

MAIN = 'numbers: ["*"]\nvars: {company: Acme}\nstart: a\nsteps:\n  a:\n    say: hi\n'
ALICE = 'alice:\n  phone: "+15005550101"\n  skills: {sales: 3}\n'


def check(queues: str = "", agents: str = ALICE) -> tuple[Any, list[str], list[str]]:
    cf, problems = check_texts({"main.yaml": MAIN, "queues.yaml": queues,
                                "agents.yaml": agents})
    return (cf, [str(p) for p in problems if p.is_error],
            [str(p) for p in problems if not p.is_error])


def test_script_and_dispositions_are_built() -> None:
    cf, errors, warnings = check(
        'sales:\n  skills: [sales]\n  script: |\n    Hello {{ caller.name or "caller" }}, '
        '{{ vars.company }} ({{ queue }}, {{ agent.name }})\n'
        '  dispositions: [sale, no-sale, wrong_number]\n')
    assert errors == [] and warnings == []
    q = cf.queues["sales"]
    assert q.script.startswith("Hello {{ caller.name")
    assert q.dispositions == ["sale", "no-sale", "wrong_number"]


def test_queue_without_the_keys_has_none() -> None:
    cf, errors, _ = check("sales:\n  skills: [sales]\n")
    assert errors == []
    assert cf.queues["sales"].script is None and cf.queues["sales"].dispositions == []


def test_script_syntax_error_is_an_error_with_its_place() -> None:
    cf, errors, _ = check('sales:\n  skills: [sales]\n  script: "Hi {{ caller.name "\n')
    assert cf is None
    assert len(errors) == 1 and errors[0].startswith("callflows/queues.yaml:3:11: ")
    assert "template syntax error" in errors[0]


def test_script_unknown_names_and_unset_vars_are_warnings() -> None:
    cf, errors, warnings = check(
        'sales:\n  skills: [sales]\n  script: "{{ calller.name }} {{ input }} {{ vars.order }}"\n')
    assert errors == [] and cf is not None
    assert any("unknown name 'calller'" in w and "did you mean 'caller'" in w for w in warnings)
    assert any("unknown name 'input'" in w for w in warnings)  # flow prompts' names: not here
    assert any("vars.order is never set" in w for w in warnings)
    assert all(w.startswith("callflows/queues.yaml:3:11: ") for w in warnings)


def test_dispositions_must_be_unique_short_words() -> None:
    long = "x" * 41
    _, errors, _ = check(f'sales:\n  dispositions: [sale, sale, 3, "no sale", {long}]\n')
    assert any("'sale' is listed twice" in e for e in errors)
    assert any("items of 'dispositions' must be text" in e for e in errors)
    assert any("'no sale' must be a word" in e for e in errors)
    assert any(f"'{long}' must be a word" in e for e in errors)
    _, errors, _ = check("sales:\n  dispositions: sale\n")
    assert any("'dispositions' must be a list" in e for e in errors)


def test_breaks_are_reasons_not_an_agent() -> None:
    cf, errors, warnings = check(agents="breaks: [lunch, training, meeting]\n" + ALICE)
    assert errors == [] and warnings == []
    assert cf.breaks == ["lunch", "training", "meeting"]
    assert list(cf.agents) == ["alice"]


def test_bad_breaks_are_errors() -> None:
    _, errors, _ = check(agents="breaks: [lunch, lunch, 'a b']\n" + ALICE)
    assert any("agents.yaml:1:17: break reason 'lunch' is listed twice" in e for e in errors)
    assert any("break reason 'a b' must be a word" in e for e in errors)
    _, errors, _ = check(agents="breaks: {lunch: 1}\n" + ALICE)
    assert any("'breaks' must be a list" in e for e in errors)


def test_role_agent_or_supervisor() -> None:
    cf, errors, _ = check(agents=ALICE + 'sam:\n  phone: "+15005550150"\n  role: supervisor\n')
    assert errors == []
    assert cf.agents["sam"].role == "supervisor" and cf.agents["alice"].role == "agent"
    _, errors, _ = check(agents=ALICE + 'sam:\n  phone: "+15005550150"\n  role: supervsor\n')
    assert any("unknown role 'supervsor'" in e and "supervisor" in e for e in errors)


def test_whatif_roster_skips_breaks(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text("breaks: [lunch]\n" + ALICE)
    agents, _ = read_roster(path)
    assert list(agents) == ["alice"]
