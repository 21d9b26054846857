"""YAML 1.1's traps, each reported at its place by `ivr check` (never silently turned into data).

PyYAML's own resolver reads `on`/`yes`/`no` as booleans and `0123` as octal;
the call-flow loader reads them as the YAML 1.2 core schema does, and the
checker then says what is wrong where it is written. Every case runs through
both parsers (libyaml and the pure-Python one) and must give the same answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ivr.flows import yamlsrc
from ivr.flows.checker import check_texts

HOURS = "office: {timezone: UTC, open: {daily: '00:00-24:00'}}\n"
QUEUES = "sales: {}\n"
HANGUP = 'numbers: ["*"]\nsteps:\n  a:\n    hangup: true\n'


@pytest.fixture(params=["libyaml", "python"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run each trap through libyaml's parser and through PyYAML's Python parser."""
    if request.param == "libyaml" and not yamlsrc.HAVE_LIBYAML:
        pytest.skip("PyYAML without libyaml")
    monkeypatch.setattr(yamlsrc, "HAVE_LIBYAML", request.param == "libyaml")
    yield request.param


def errors(**files: str) -> list[str]:
    texts = {"queues.yaml": QUEUES, "hours.yaml": HOURS, **files}
    callflows, problems = check_texts({k.replace("_", ".", 1): v for k, v in texts.items()})
    found = [str(p) for p in problems if p.is_error]
    assert (callflows is None) == bool(found)
    return found


def test_on_as_a_key_is_the_word_on_not_true() -> None:
    flow = 'numbers: ["*"]\nsteps:\n  a:\n    say: Hi\n    ON: b\n  b:\n    hangup: true\n'
    assert errors(main_yaml=flow) == [
        "callflows/main.yaml:5:5: unknown key 'ON' in say step 'a' ('say' steps take: voice, "
        "language, loop, next)"]


def test_on_as_a_value_where_true_is_meant_is_text() -> None:
    flow = ('numbers: ["*"]\nsteps:\n  a:\n    record: Leave a message\n    transcribe: on\n'
            '    next: b\n  b:\n    hangup: true\n')
    assert errors(main_yaml=flow) == [
        "callflows/main.yaml:5:17: 'transcribe' must be true or false, not text"]


def test_yes_where_true_is_meant_is_reported() -> None:
    queues = "sales:\n  announce: {position: yes, wait_time: true}\n"
    assert errors(main_yaml=HANGUP, queues_yaml=queues) == [
        "callflows/queues.yaml:2:24: 'position' must be true or false, not text"]


def test_yes_and_no_where_words_are_meant_stay_words() -> None:
    flow = ('numbers: ["*"]\nsteps:\n  a:\n    menu: Say yes or no\n'
            '    words: {b: [yes], c: [no, "n"]}\n  b:\n    hangup: true\n  c:\n    hangup: true\n')
    callflows, problems = check_texts({"main.yaml": flow, "queues.yaml": QUEUES,
                                       "hours.yaml": HOURS})
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None
    assert callflows.flows["main"].steps["a"].settings["words"] == {"b": ["yes"],
                                                                    "c": ["no", "n"]}


def test_no_as_a_language_is_reported_as_written() -> None:
    flow = 'numbers: ["*"]\nlanguage: no\nsteps:\n  a:\n    hangup: true\n'
    assert errors(main_yaml=flow) == ["callflows/main.yaml:2:11: unknown language 'no'"]


def test_no_as_a_holiday_country_is_norway() -> None:
    hours = "office: {timezone: Europe/Oslo, open: {daily: '00:00-24:00'}, holidays: NO}\n"
    callflows, problems = check_texts({"main.yaml": HANGUP, "hours.yaml": hours})
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None and callflows.hours["office"].holidays == "NO"


def test_unquoted_e164_number_is_reported() -> None:
    flow = 'numbers: ["*", +15555550123]\nsteps:\n  a:\n    hangup: true\n'
    assert errors(main_yaml=flow) == [
        'callflows/main.yaml:1:16: numbers must be quoted text ("+15555550123"): '
        "YAML reads +15555550123 as a number"]


def test_unquoted_agent_phone_is_reported() -> None:
    agents = "alice:\n  phone: +15555550101\n"
    assert errors(main_yaml=HANGUP, agents_yaml=agents) == [
        "callflows/agents.yaml:2:10: 'phone' must be quoted text (\"+15555550101\"): "
        "YAML reads +15555550101 as a number"]


def test_leading_zero_pin_is_reported() -> None:
    agents = "alice:\n  phone: '+15555550101'\n  pin: 0123\n"
    assert errors(main_yaml=HANGUP, agents_yaml=agents) == [
        "callflows/agents.yaml:3:8: 'pin' must be quoted text (\"123\"): YAML reads it as a "
        "number and drops leading zeros"]


BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True)))


def test_billion_laughs_is_a_located_error_not_a_hang() -> None:
    started = time.monotonic()
    found = errors(main_yaml=BILLION_LAUGHS)
    assert time.monotonic() - started < 2
    # f's list is where the aliases first pass the limit (9 x 66,430 values of e)
    assert found == [
        "callflows/main.yaml:6:4: YAML aliases here repeat anchored values past 100,000 values "
        "in all (anchors that nest or repeat too much)"]


def test_reasonable_aliases_still_work() -> None:
    flow = ('numbers: ["*"]\nvars: &v {company: Acme}\non_error: {say: &sorry "Sorry."}\n'
            'steps:\n  a:\n    say: *sorry\n    next: b\n  b:\n    hangup: true\n')
    callflows, problems = check_texts({"main.yaml": flow, "queues.yaml": QUEUES,
                                       "hours.yaml": HOURS})
    assert [str(p) for p in problems if p.is_error] == []
    assert callflows is not None and callflows.flows["main"].steps["a"].value == "Sorry."


def test_nothing_is_built_from_tags() -> None:
    flow = 'numbers: ["*"]\nsteps:\n  a:\n    hangup: !!python/object/apply:os.system [id]\n'
    assert errors(main_yaml=flow) == [
        "callflows/main.yaml:4:13: YAML: tag !!python/object/apply:os.system is not allowed "
        "(call-flow files hold plain mappings, lists, text, numbers, true/false and null)"]


def test_sexagesimal_is_text() -> None:
    data, problems = yamlsrc.load_text("a: 10:30\nb: 1:30:00\n", "f.yaml")
    assert problems == [] and data == {"a": "10:30", "b": "1:30:00"}
