"""The checker: one broken fixture per kind of problem, each with its exact FILE:LINE:COL: message.

Each case in fixtures/broken/<case>/ holds the files that replace the valid
folder fixtures/base/ (or add to it); the test checks `callflows` from a
temporary working directory, so FILE reads `callflows/<file>` as an admin sees it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.flows.checker import check_folder, check_texts
from ivr.flows.model import Callflows

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).parents[2] / "callflows"

CASES: dict[str, list[str]] = {
    "yaml_syntax": [
        "callflows/main.yaml:9:4: YAML: expected <block end>, but found '<block mapping start>' "
        "(check the indentation of this line)"],
    "duplicate_key": ["callflows/main.yaml:9:5: YAML: duplicate key 'next'"],
    "anchor_loop": ["callflows/main.yaml:1:1: YAML anchors make this file contain itself "
                    "(or nest or repeat too much)"],
    "unknown_flow_key": [
        "callflows/main.yaml:2:1: unknown key 'langauge' in flow 'main' "
        "(did you mean 'language'?)"],
    "unknown_step_key": [
        "callflows/main.yaml:8:5: unknown key 'nxet' in say step 'welcome' (did you mean 'next'?)"],
    "no_action": [
        "callflows/main.yaml:23:5: step 'goodbye' has no action: unknown key 'hangpu' "
        "(did you mean 'hangup'?)"],
    "two_actions": [
        "callflows/main.yaml:24:5: step 'goodbye' has two actions, 'say' and 'hangup': "
        "give each its own step"],
    "wrong_type": ["callflows/main.yaml:18:15: 'attempts' must be a whole number, not text"],
    "missing_target": [
        "callflows/main.yaml:8:11: 'next' leads to unknown step 'office_huors' "
        "(did you mean 'office_hours'?)"],
    "missing_flow_target": [
        "callflows/main.yaml:20:15: 'overflow' leads to unknown flow 'voicemail'"],
    "unreachable": [
        "callflows/main.yaml:13:3: step 'orphan' is never reached (no way out of another step "
        "leads here from 'welcome')"],
    "loop": [
        "callflows/main.yaml:13:3: loop with no way out through steps closed_loop, closed_again: "
        "add a way out, or a menu or gather that waits for the caller"],
    "template_syntax": [
        "callflows/main.yaml:7:10: template syntax error: unexpected '}' (line 1 of the text)"],
    "template_name": [
        "callflows/main.yaml:7:10: unknown name 'var' in template (did you mean 'vars'?) "
        "(templates see vars, caller, call, input, now)"],
    "expression_syntax": [
        "callflows/main.yaml:8:14: condition syntax error: unexpected 'end of template'"],
    "unknown_queue": [
        "callflows/main.yaml:19:12: unknown queue 'sals' (did you mean 'sales'?) "
        "(queues are in queues.yaml)"],
    "unknown_schedule": [
        "callflows/main.yaml:10:12: unknown schedule 'offcie' (did you mean 'office'?) "
        "(schedules are in hours.yaml)"],
    "unknown_language": [
        "callflows/main.yaml:2:11: unknown language 'en-UK' (did you mean 'en-US'?)"],
    "unknown_voice": [
        "callflows/main.yaml:3:8: unknown voice 'Joanna': use man, woman, alice, Polly.NAME or "
        "Google.LANG-VARIANT (for example Polly.Joanna)"],
    "bad_timezone": [
        "callflows/hours.yaml:2:13: unknown time zone 'America/NewYork' "
        "(did you mean 'America/New_York'?)"],
    "bad_time_range": [
        "callflows/hours.yaml:3:19: time range '9am-5pm' is not like \"09:00-17:30\""],
    "bad_day": [
        "callflows/hours.yaml:3:10: unknown day in 'mon-fry' "
        "(days are mon, tue, wed, thu, fri, sat, sun)"],
    "bad_date": ["callflows/hours.yaml:5:12: '2026-12-32' is not a date like 2026-12-24"],
    "unknown_holiday_country": [
        "callflows/hours.yaml:4:13: unknown holiday country 'ZZ' "
        "(ISO codes like US, GB, DE; subdivisions like US-NY)"],
    "unknown_subdivision": ["callflows/hours.yaml:4:13: unknown subdivision 'NZ' of US"],
    "phone_not_e164": [
        "callflows/agents.yaml:3:10: '555-0101' is not an E.164 phone number like +15005550006"],
    "number_unquoted": [
        "callflows/main.yaml:1:16: numbers must be quoted text (\"+15005550006\"): "
        "YAML reads +15005550006 as a number"],
    "duplicate_number": [
        "callflows/other.yaml:1:11: number +15005550006 already starts flow 'main' on voice"],
    "no_default_flow": [
        "callflows/main.yaml:1:1: no default flow: add \"*\" to the numbers of the flow that "
        "answers every other number"],
    "sms_action": [
        "callflows/main.yaml:24:5: 'play' cannot be used on the sms channel (flow 'main' answers "
        "sms): texts cannot play audio, pause, transfer or record"],
    "http_host": [
        "callflows/main.yaml:7:11: host 'crm.example.com' is not in this flow's http_hosts"],
    "bad_strategy": [
        "callflows/queues.yaml:3:13: unknown strategy 'longest_idle' (did you mean "
        "'longest-idle'?) (one of longest-idle, round-robin, fewest-calls, least-talk-time, "
        "most-skilled, random, ring-all)"],
    "negative_wait": ["callflows/queues.yaml:4:13: 'max_wait' must be at least 0, not -5"],
    "escalate_level": ["callflows/queues.yaml:6:42: 'min_level' must be between 1 and 5, not 7"],
    "skill_level": [
        "callflows/agents.yaml:4:19: skill level of 'sales' must be a whole number 1-5, not 6"],
    "pin_digits": ["callflows/agents.yaml:5:8: 'pin' must be 4 to 8 digits"],
    "menu_no_options": [
        "callflows/main.yaml:14:5: menu 'main_menu' needs 'options' (keys) or 'words' "
        "(spoken or typed)"],
    "menu_key": ["callflows/main.yaml:15:15: menu option '12' must be one key: 0-9, * or #"],
    "gather_pattern": [
        "callflows/main.yaml:24:14: invalid pattern: unterminated character set at position 0"],
    "start_missing": [
        "callflows/main.yaml:4:8: start step 'welcom' does not exist (did you mean 'welcome'?)"],
    "unknown_channel": [
        "callflows/main.yaml:2:19: unknown channel 'fax' (voice or sms; sms also carries MMS "
        "and WhatsApp)"],
    "dial_number": [
        "callflows/main.yaml:23:11: '0800 123' is not an E.164 phone number like +15005550006"],
}


def make_folder(tmp_path: Path, case: str | None = None) -> None:
    target = tmp_path / "callflows"
    shutil.copytree(FIXTURES / "base", target)
    if case is not None:
        for f in (FIXTURES / "broken" / case).iterdir():
            shutil.copy(f, target / f.name)


def test_every_fixture_has_a_case() -> None:
    """A fixture folder without an expected message would silently test nothing."""
    on_disk = {p.name for p in (FIXTURES / "broken").iterdir()}
    assert on_disk == set(CASES)


def test_base_fixture_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    callflows, problems = check_folder(Path("callflows"))
    assert problems == []
    assert isinstance(callflows, Callflows)
    assert set(callflows.flows) == {"main"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_fixture(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_folder(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    callflows, problems = check_folder(Path("callflows"))
    errors = [str(p) for p in problems if p.is_error]
    assert errors == CASES[case]
    assert callflows is None
    for p in problems:
        assert p.location.line >= 1 and p.location.col >= 1


def test_demo_passes_without_errors() -> None:
    callflows, problems = check_folder(DEMO)
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None
    assert {"main", "sms"} <= set(callflows.flows)
    assert set(callflows.queues) == {"sales", "support", "billing", "spanish"}
    assert len({q.strategy for q in callflows.queues.values()}) == 4
    assert 4 <= len(callflows.agents) <= 6
    assert callflows.flow_for("+19995550000", "voice") is callflows.flows["main"]
    assert callflows.flow_for("+19995550000", "sms") is callflows.flows["sms"]


def test_file_name_joins_the_folder_as_given(tmp_path: Path) -> None:
    make_folder(tmp_path, "unknown_queue")
    _, problems = check_folder(tmp_path / "callflows")
    assert str(problems[0]).startswith(f"{tmp_path / 'callflows' / 'main.yaml'}:19:12: ")


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    make_folder(tmp_path)
    first, _ = check_folder(tmp_path / "callflows")
    again, _ = check_folder(tmp_path / "callflows")
    main = tmp_path / "callflows" / "main.yaml"
    main.write_text(main.read_text().replace("Goodbye.", "Bye now."))
    changed, _ = check_folder(tmp_path / "callflows")
    assert first and again and changed
    assert first.version == again.version != changed.version


def test_model_is_plain_data(tmp_path: Path) -> None:
    """The engine gets dicts with string menu keys, not ruamel's commented maps."""
    make_folder(tmp_path)
    callflows, _ = check_folder(tmp_path / "callflows")
    assert callflows is not None
    menu = callflows.flows["main"].steps["main_menu"]
    assert type(menu.settings) is dict
    assert menu.settings["options"] == {"1": "sales"}
    assert menu.location.line == 13 and menu.location.col == 3
    office = callflows.hours["office"]
    assert office.holidays == "US-NY" and len(office.open) == 6


def flow(steps: str, head: str = 'numbers: ["*"]\n') -> dict[str, str]:
    return {"main.yaml": head + "steps:\n" + steps}


def errors_of(files: dict[str, str]) -> list[str]:
    _, problems = check_texts(files)
    return [str(p) for p in problems if p.is_error]


def warnings_of(files: dict[str, str]) -> list[str]:
    _, problems = check_texts(files)
    return [str(p) for p in problems if not p.is_error]


def test_menu_loop_back_is_not_a_trap() -> None:
    """A menu waits for the caller: "press 1 to hear this again" is a legitimate loop."""
    files = flow("  menu1:\n    menu: 'Press 1 to repeat'\n    options: {1: again}\n"
                 "  again:\n    say: 'Again.'\n    next: menu1\n")
    assert errors_of(files) == []


def test_branch_loop_with_condition_out_is_allowed() -> None:
    files = flow("  count:\n    set: {n: '{{ (vars.n or 0) + 1 }}'}\n    next: check\n"
                 "  check:\n    branch: [{if: 'vars.n|int > 3', goto: done}]\n    else: count\n"
                 "  done:\n    hangup: true\n")
    assert errors_of(files) == []


def test_cross_flow_goto_reaches_other_flow() -> None:
    files = flow("  a:\n    goto: other.b\n")
    files["other.yaml"] = "steps:\n  b:\n    hangup: true\n"
    assert errors_of(files) == []
    assert warnings_of(files) == []


def test_cross_flow_loop_is_found() -> None:
    files = flow("  a:\n    say: hi\n    next: other.b\n")
    files["other.yaml"] = "steps:\n  b:\n    say: there\n    next: main.a\n"
    assert errors_of(files) == [
        "callflows/main.yaml:3:3: loop with no way out through steps a, other.b: add a way out, "
        "or a menu or gather that waits for the caller"]


def test_self_loop_is_found() -> None:
    files = flow("  a:\n    pause: 1\n    next: a\n")
    assert errors_of(files) == [
        "callflows/main.yaml:3:3: loop with no way out through steps a: add a way out, or a "
        "menu or gather that waits for the caller"]


def test_warnings_do_not_refuse() -> None:
    files = flow("  a:\n    branch: [{if: 'true', goto: b}]\n  b:\n    hangup: true\n")
    callflows, problems = check_texts(files)
    assert callflows is not None
    assert [str(p) for p in problems] == [
        "callflows/main.yaml:4:5: branch 'a' has no 'else': when no condition holds the call "
        "ends"]
    assert problems[0].severity == "warning"


def test_pin_as_number_is_explained() -> None:
    files = flow("  a:\n    hangup: true\n")
    files["agents.yaml"] = "bob:\n  phone: '+15005550102'\n  pin: 1234\n"
    assert errors_of(files) == [
        "callflows/agents.yaml:3:8: 'pin' must be quoted text (\"1234\"): YAML reads it as a "
        "number and drops leading zeros"]


def test_sip_phone_and_duplicate_phone() -> None:
    files = flow("  a:\n    hangup: true\n")
    files["agents.yaml"] = ("a1:\n  phone: 'sip:a1@example.sip.twilio.com'\n"
                            "a2:\n  phone: '+15005550102'\n"
                            "a3:\n  phone: '+15005550102'\n")
    assert errors_of(files) == [
        "callflows/agents.yaml:6:10: phone +15005550102 is already agent 'a2''s phone"]


def test_http_host_written_as_template_is_refused() -> None:
    files = flow("  a:\n    http: 'https://{{ vars.host }}/x'\n    next: b\n"
                 "  b:\n    hangup: true\n",
                 head='numbers: ["*"]\nhttp_hosts: [crm.example.com]\n')
    assert errors_of(files) == [
        "callflows/main.yaml:5:11: write the host of an http URL as plain text (templates are "
        "allowed in its path and query)"]


def test_gather_settings() -> None:
    files = flow("  a:\n    gather: 'Number?'\n    digits: 4\n    max_digits: 6\n"
                 "    input: voice\n    finish_on: '##'\n    next: b\n  b:\n    hangup: true\n")
    assert errors_of(files) == [
        "callflows/main.yaml:5:5: use either 'digits' or 'min_digits'/'max_digits', not both",
        "callflows/main.yaml:7:12: 'input' must be dtmf, speech or both, not 'voice'",
        "callflows/main.yaml:8:16: 'finish_on' must be one key (0-9, * or #) or empty, not '##'",
    ]


def test_overnight_range_and_yml_warning(tmp_path: Path) -> None:
    folder = tmp_path / "callflows"
    folder.mkdir()
    (folder / "main.yaml").write_text('numbers: ["*"]\nsteps:\n  a:\n    hangup: true\n')
    (folder / "hours.yaml").write_text(
        "night:\n  timezone: Europe/London\n  open: {fri-sat: '22:00-02:00'}\n")
    (folder / "extra.yml").write_text("steps: {}\n")
    callflows, problems = check_folder(folder)
    assert callflows is not None
    assert [str(p) for p in problems] == [
        f"{folder / 'extra.yml'}:1:1: ignored: call-flow files end in .yaml "
        f"(rename to extra.yaml)"]


def test_not_a_folder(tmp_path: Path) -> None:
    callflows, problems = check_folder(tmp_path / "missing")
    assert callflows is None
    assert [str(p) for p in problems] == [f"{tmp_path / 'missing'}:1:1: not a folder of call flows"]


def test_empty_flow_file() -> None:
    assert errors_of({"main.yaml": "# nothing yet\n"}) == [
        "callflows/main.yaml:1:1: empty flow file (a flow needs 'steps')"]


def test_default_flow_per_channel() -> None:
    files = flow("  a:\n    hangup: true\n")
    files["text.yaml"] = ("numbers: ['+15005550006']\nchannels: [sms]\nsteps:\n"
                          "  a:\n    hangup: 'Hi.'\n")
    assert warnings_of(files) == [
        "callflows/text.yaml:1:1: no default flow (\"*\") on sms: sms to other numbers gets "
        "no answer"]
    files["main.yaml"] = files["main.yaml"].replace('["*"]', '["*"]\nchannels: [voice, sms]')
    files["text.yaml"] = files["text.yaml"].replace("'+15005550006'", "'*'")
    assert errors_of(files) == [
        "callflows/text.yaml:1:11: flow 'main' is already the default flow on sms"]


def test_vars_never_set_is_a_warning() -> None:
    files = flow("  a:\n    gather: 'Account?'\n    into: account\n    next: b\n"
                 "  b:\n    http: 'https://crm.example.com/x?a={{ vars.acount }}'\n"
                 "    into: customer\n    next: c\n"
                 "  c:\n    set: {greeting: 'Hi {{ vars.customer.name }} {{ vars.company }}'}\n"
                 "    next: d\n"
                 "  d:\n    hangup: \"{{ vars['greeting'] }} {{ vars.greting }}\"\n",
                 head='numbers: ["*"]\nvars: {company: Acme}\nhttp_hosts: [crm.example.com]\n')
    assert errors_of(files) == []
    assert warnings_of(files) == [
        "callflows/main.yaml:10:11: vars.acount is never set (not in any flow's vars, set, or a "
        "gather or http 'into') (did you mean 'account'?)",
        "callflows/main.yaml:17:13: vars.greting is never set (not in any flow's vars, set, or a "
        "gather or http 'into') (did you mean 'greeting'?)",
    ]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "cf"
    folder.mkdir()
    (folder / "main.yaml").write_bytes(b"steps:\n  a: {say: \"caf\xe9\"}\n")
    callflows, problems = check_folder(folder)
    assert callflows is None
    assert [str(p) for p in problems] == [
        f"{folder / 'main.yaml'}:1:1: not UTF-8 text: invalid continuation byte"]
