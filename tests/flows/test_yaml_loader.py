"""The call-flow YAML loader: values, positions and errors, the same through both parsers.

`yamlsrc` composes with libyaml's C parser when PyYAML has it and with the
pure-Python parser otherwise; both must give the same values, the same
FILE:LINE:COL for every key, value and item, and the same problems.
"""

from __future__ import annotations

import importlib.util
import math
import os
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.flows import yamlsrc
from ivr.flows.yamlsrc import item_loc, key_loc, load_text, node_loc, value_loc

ROOT = Path(__file__).parents[2]
needs_libyaml = pytest.mark.skipif(not yamlsrc.HAVE_LIBYAML, reason="PyYAML without libyaml")


def outline(data: Any, file: str = "f") -> Any:
    """Values and every position the checker can ask for, as comparable data."""
    seen: set[int] = set()

    def walk(v: Any) -> Any:
        if isinstance(v, dict | list):
            if id(v) in seen:
                return ("shared", str(node_loc(file, v)))
            seen.add(id(v))
        if isinstance(v, dict):
            return ("map", str(node_loc(file, v)),
                    [(repr(k), str(key_loc(file, v, k)), str(value_loc(file, v, k)), walk(x))
                     for k, x in v.items()])
        if isinstance(v, list):
            return ("list", str(node_loc(file, v)),
                    [(str(item_loc(file, v, i)), walk(x)) for i, x in enumerate(v)])
        if isinstance(v, float) and math.isnan(v):
            return "nan"
        return (type(v).__name__, v)

    return walk(data)


def both(text: str) -> tuple[Any, Any]:
    """(libyaml's, Python's) answer for one text."""
    answers = []
    for use in (True, False):
        data, problems = yamlsrc._load(text, "f", use_libyaml=use)
        answers.append((outline(data), [str(p) for p in problems]))
    return answers[0], answers[1]


def corpus() -> list[Path]:
    files = [*ROOT.glob("callflows/*.yaml"), *ROOT.glob("tests/**/fixtures/**/*.yaml")]
    return sorted(files)


@needs_libyaml
@pytest.mark.parametrize("file", corpus(), ids=lambda p: str(p.relative_to(ROOT)))
def test_both_parsers_agree_on_the_fixtures(file: Path) -> None:
    c, python = both(file.read_text())
    assert c == python


@needs_libyaml
def test_both_parsers_agree_on_a_large_flow() -> None:
    spec = importlib.util.spec_from_file_location("bench_flows", ROOT / "bench" / "flows.py")
    assert spec is not None and spec.loader is not None
    bench_flows = importlib.util.module_from_spec(spec)  # the benchmark's generated flow
    spec.loader.exec_module(bench_flows)
    c, python = both(bench_flows.generate(300))
    assert c == python and c[1] == []


TOKENS = ["a", "say", "next", ":", ": ", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "#",
          " #c", "'", '"', "yes", "on", "0123", "+1555", "1_0", "0x1F", "1.5", ".inf", "~",
          "2026-12-24", "2026-12-30 10:00:00", "|\n", ">-\n", "---\n", "...\n", "&a ", "*a",
          "!!str ", "!x ", "? ", "<<: ", "\t", "\r\n", "é", "\\", "%", "@", "{{ vars.x }}",
          " != ", "Hi!", "\ufeff", "\x85", "key: value\n", "  k:\n", "- x\n"]


@needs_libyaml
@settings(max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "100")) * 3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=50))
def test_both_parsers_agree_on_anything(tokens: list[str]) -> None:
    c, python = both("".join(tokens))
    assert c == python


@needs_libyaml
@settings(max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "100")), deadline=None)
@given(st.text(max_size=200))
def test_both_parsers_agree_on_any_text(text: str) -> None:
    c, python = both(text)
    assert c == python


SCALARS: list[tuple[str, Any]] = [
    # YAML 1.1 traps stay text
    ("yes", "yes"), ("No", "No"), ("on", "on"), ("OFF", "OFF"), ("y", "y"), ("n", "n"),
    ("10:30", "10:30"), ("1:30:00", "1:30:00"),
    # the core schema
    ("true", True), ("False", False), ("TRUE", True), ("tRue", "tRue"),
    ("null", None), ("~", None), ("NULL", None), ("", None), ("nULL", "nULL"),
    ("7", 7), ("-5", -5), ("+15005550006", 15005550006), ("0123", 123), ("08", 8),
    ("0x1F", 31), ("0o17", 15), ("0b101", 5), ("-0o17", -15), ("1_000", 1000),
    ("0XFF", "0XFF"), ("0o8", "0o8"), ("0x", "0x"), ("_1", "_1"),
    ("1.5", 1.5), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0), ("1.5E-3", 0.0015),
    ("-.inf", -math.inf), (".Inf", math.inf), (".inF", ".inF"), ("inf", "inf"),
    ("1.2.3", "1.2.3"), ("1e", "1e"),
    # dates, which hours.yaml uses
    ("2026-12-24", date(2026, 12, 24)), ("2026-1-2", "2026-1-2"),
    ("2026-12-24 10:00:00", datetime(2026, 12, 24, 10, 0)),
    ("2026-12-24T10:00:00Z", datetime(2026, 12, 24, 10, 0, tzinfo=UTC)),
    ("2026-12-24t1:00:00.5 +05", datetime(2026, 12, 24, 1, 0, 0, 500000,
                                          tzinfo=timezone(timedelta(hours=5)))),
    # text
    ("sales", "sales"), ("+1", 1), ("sip:a@b.c", "sip:a@b.c"), ("09:00-17:00", "09:00-17:00"),
]


@pytest.mark.parametrize(("written", "value"), SCALARS, ids=[s for s, _ in SCALARS])
def test_what_a_plain_scalar_means(written: str, value: Any) -> None:
    for use in (True, False):
        data, problems = yamlsrc._load(f"k: {written}\n", "f", use_libyaml=use)
        assert problems == []
        got = data["k"]
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got)
        else:
            assert got == value and type(got) is type(value)


def test_quoted_and_tagged_scalars_are_text_or_what_the_tag_says() -> None:
    data, problems = load_text("a: '7'\nb: \"yes\"\nc: !!str 12\nd: !!int '12'\ne: !!float 1\n"
                               "f: !!bool true\ng: !!null ''\n", "f")
    assert problems == []
    assert data == {"a": "7", "b": "yes", "c": "12", "d": 12, "e": 1.0, "f": True, "g": None}


EMPTY_VALUES = [
    # where an empty value is (as the checker has always reported it)
    ("k:\nj: 1\n", "2:1"),
    ("k: # c\nj: 1\n", "1:3"),
    ("k:\n# c\nj: 1\n", "3:1"),
    ("k:\n\n\nj: 1\n", "4:1"),
    ("k:   \nj: 1\n", "2:1"),
    ("k:\n", "2:1"),
    ("k:", "1:3"),
    ("k:  # c", "1:8"),
    ("k: #c\n", "2:1"),
    ("a:\n  k:\nj: 1\n", "3:1"),
    ("a:\n  k:   # c\n  j: 1\n", "2:5"),
    ("a:\n  k:   # c\nj: 1\n", "3:1"),
    ("- k:\n  j: 1\n", "2:3"),
    ("a: {k: , j: 1}\n", "1:7"),
    ("k:\r\nj: 1\r\n", "2:1"),
]


@pytest.mark.parametrize(("text", "where"), EMPTY_VALUES, ids=[t for t, _ in EMPTY_VALUES])
def test_where_an_empty_value_is(text: str, where: str) -> None:
    for use in (True, False):
        data, problems = yamlsrc._load(text, "f", use_libyaml=use)
        assert problems == []
        mapping = data[0] if isinstance(data, list) else data
        if "a" in mapping:
            mapping = mapping["a"]
        assert mapping["k"] is None
        assert str(value_loc("f", mapping, "k")) == f"f:{where}"


def test_values_are_plain_dicts_and_lists_that_know_their_places() -> None:
    data, problems = load_text("steps:\n  a:\n    say: Hi\n    options: {1: b}\n"
                               "numbers: ['*', '+1']\n", "main.yaml")
    assert problems == []
    assert isinstance(data, dict) and isinstance(data["numbers"], list)
    assert data == {"steps": {"a": {"say": "Hi", "options": {1: "b"}}}, "numbers": ["*", "+1"]}
    step = data["steps"]["a"]
    assert str(node_loc("main.yaml", step)) == "main.yaml:3:5"
    assert str(key_loc("main.yaml", step, "options")) == "main.yaml:4:5"
    assert str(value_loc("main.yaml", step, "options")) == "main.yaml:4:14"
    assert str(key_loc("main.yaml", step["options"], 1)) == "main.yaml:4:15"
    assert str(item_loc("main.yaml", data["numbers"], 1)) == "main.yaml:5:16"
    # asked about what is not there: the container's own place, or 1:1 for a scalar
    assert str(key_loc("main.yaml", step, "missing")) == "main.yaml:3:5"
    assert str(value_loc("main.yaml", step, ["unhashable"])) == "main.yaml:3:5"
    assert str(item_loc("main.yaml", data["numbers"], 9)) == "main.yaml:5:10"
    assert str(node_loc("main.yaml", "text")) == "main.yaml:1:1"


PROBLEMS = [
    ("a: 1\nb:\n  c: 2\n  c: 3\n", "f:4:3: YAML: duplicate key 'c'"),
    ("a: 1\n1: x\n1.0: y\n", "f:3:1: YAML: duplicate key '1.0'"),
    ("a:\n\tb: 1\n", "f:2:1: YAML: found character '\\t' that cannot start any token "
                    "(use spaces, not tabs, to indent)"),
    ("a:\n  b: 1\n c: 2\n", "f:3:2: YAML: expected <block end>, but found '<block mapping "
                           "start>' (check the indentation of this line)"),
    ("say: Press 1: sales\n", "f:1:13: YAML: mapping values are not allowed here (a ':' in "
                              "unquoted text? put the text in quotes)"),
    ("a: *nowhere\n", "f:1:4: YAML: found undefined alias 'nowhere' (an *alias without its "
                      "&anchor)"),
    ("a: [1, 2\n", "f:2:1: YAML: expected ',' or ']', but got '<stream end>' (a [ left open?)"),
    ("a: 'open\n", "f:2:1: YAML: found unexpected end of stream (a quote left open?)"),
    ("a: 1\n---\nb: 2\n", "f:2:1: YAML: but found another document"),
    ("a: ok\nb: \"bad\x01\"\n", "f:2:8: YAML: unacceptable character #x0001: special "
                               "characters are not allowed"),
    ("a: &x 1\nb: &x 2\n", "f:2:4: YAML: anchor &x is defined twice (first on line 1)"),
    ("a: &x [1, *x]\n", "f:1:4: YAML anchors make this file contain itself (or nest or repeat "
                        "too much)"),
    ("say: {{ vars.company }}\n", "f:1:7: YAML: a key must be text, a number or true/false, "
                                  "not a mapping (a {{ template }} left unquoted? put the text "
                                  "in quotes)"),
    ("a: !custom x\n", "f:1:4: YAML: tag !custom is not allowed (call-flow files hold plain "
                       "mappings, lists, text, numbers, true/false and null)"),
    ("a: !!int x\n", "f:1:4: YAML: 'x' is not a valid !!int"),
    ("a: !!map [1]\n", "f:1:4: YAML: tag !!map cannot mark a list"),
    ("a: 2026-02-30\n", "f:1:4: YAML: 2026-02-30 is not a valid date (day is out of range for "
                        "month); put it in quotes if it is text"),
    ("a:\n  <<: 5\n", "f:2:7: YAML: expected a mapping or list of mappings for merging, but "
                      "found scalar"),
    ("[" * 150 + "]" * 150, "f:1:102: YAML: lists and mappings nested more than 100 deep"),
    ("[" * 5000 + "]" * 5000, "f:1:102: YAML: lists and mappings nested more than 100 deep"),
]


@pytest.mark.parametrize(("text", "problem"), PROBLEMS, ids=[p for _, p in PROBLEMS])
def test_problems_are_located(text: str, problem: str) -> None:
    for use in (True, False):
        data, problems = yamlsrc._load(text, "f", use_libyaml=use)
        assert data is None and [str(p) for p in problems] == [problem]


def test_merge_keys_fill_in_what_is_not_written() -> None:
    data, problems = load_text("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "f")
    assert problems == []
    assert data["x"] == {"b": 3, "a": 1}
    assert str(key_loc("f", data["x"], "b")) == "f:4:3"
    assert str(key_loc("f", data["x"], "a")) == "f:3:3"  # merged: the mapping's own place


def test_empty_and_comment_only_files_are_nothing() -> None:
    assert load_text("", "f") == (None, [])
    assert load_text("# nothing here\n", "f") == (None, [])
