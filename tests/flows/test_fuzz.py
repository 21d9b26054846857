"""Fuzzing the checker: whatever an admin types, it answers with located problems, never a crash."""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.flows.checker import FLOW_KEYS, SETTINGS, check_texts
from ivr.flows.model import Callflows
from ivr.flows.steps import ACTIONS

FUZZ = settings(max_examples=int(os.environ.get("IVR_FUZZ_EXAMPLES", "100")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

STEP_NAMES = ["a", "b", "c", "main.a", "other.b", "menu", "x.y.z"]
SETTING_KEYS = sorted({k for keys in SETTINGS.values() for k in keys})
WORDS = [*STEP_NAMES, *SETTING_KEYS, *ACTIONS, *FLOW_KEYS, "*", "+15005550006", "sales",
         "office", "en-US", "es-MX", "Polly.Joanna", "{{ vars.x }}", "{{", "{% if %}",
         "09:00-17:00", "mon-fri", "US-NY", "America/New_York", "2026-12-24", "sip:a@b.c",
         "https://crm.example.com/x", "", "true"]


def report(files: dict[str, str]) -> None:
    """The properties: no exception, every location real, a model only without errors."""
    callflows, problems = check_texts(files)
    for p in problems:
        assert p.location.line >= 1 and p.location.col >= 1, p
        assert p.location.file.startswith("callflows/"), p
        assert str(p).startswith(f"{p.location.file}:{p.location.line}:{p.location.col}: ")
        assert p.message
    has_errors = any(p.is_error for p in problems)
    assert (callflows is None) == has_errors
    if callflows is not None:
        assert isinstance(callflows, Callflows)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 100_000_000_000),
                    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(WORDS),
                    st.text(max_size=12))
keys = st.one_of(st.sampled_from(WORDS), st.integers(0, 12), st.text(max_size=6))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def dump(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    report({"main.yaml": text})


@FUZZ
@given(st.sampled_from(["main.yaml", "hours.yaml", "queues.yaml", "agents.yaml"]),
       st.lists(st.sampled_from([*WORDS, ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",",
                                 "&a ", "*a", "#", "'", '"', "\t", "? "]), max_size=60))
def test_yaml_looking_text(name: str, tokens: list[str]) -> None:
    files = {"main.yaml": "numbers: ['*']\nsteps:\n  a: {hangup: true}\n"}
    files[name] = "".join(tokens)
    report(files)


step = st.fixed_dictionaries(
    {}, optional={k: values for k in [*ACTIONS, "next", "options", "words", "fallback",
                                      "attempts", "open", "closed", "overflow", "else"]})
flow = st.fixed_dictionaries(
    {"steps": st.dictionaries(st.sampled_from(STEP_NAMES[:3] + ["menu", 7]), step,
                              max_size=5)},
    optional={"numbers": st.lists(st.sampled_from(["*", "+15005550006", "5550006", 15005550006]),
                                  max_size=3),
              "channels": st.lists(st.sampled_from(["voice", "sms", "fax"]), max_size=2),
              "start": st.sampled_from(STEP_NAMES),
              "vars": values, "language": scalars, "voice": scalars, "timezone": scalars,
              "on_error": values, "http_hosts": values, "help": values},
)


@FUZZ
@given(flow, st.one_of(st.none(), flow), values, values, values)
def test_random_structures(main: Any, other: Any, hours: Any, queues: Any, agents: Any) -> None:
    files = {"main.yaml": dump(main), "hours.yaml": dump(hours), "queues.yaml": dump(queues),
             "agents.yaml": dump(agents)}
    if other is not None:
        files["other.yaml"] = dump(other)
    report(files)


@FUZZ
@given(st.dictionaries(st.sampled_from(["office", "night"]),
                       st.fixed_dictionaries({}, optional={
                           "timezone": st.sampled_from(["UTC", "America/New_York", "Mars/Base",
                                                        ""]),
                           "open": st.dictionaries(
                               st.sampled_from(["mon", "mon-fri", "fri-mon", "daily", "xyz",
                                                "sat,sun"]),
                               st.one_of(st.sampled_from(["09:00-17:00", "22:00-02:00",
                                                          "00:00-24:00", "9-5", "24:30-25:00"]),
                                         st.lists(st.sampled_from(["08:00-12:00", "bad"]),
                                                  max_size=2)),
                               max_size=3),
                           "holidays": st.sampled_from(["US", "US-NY", "US-XX", "ZZ", "GB-ENG"]),
                           "closed": st.lists(st.sampled_from(["2026-12-24", "2026-02-30",
                                                               "soon"]), max_size=2)}),
                       max_size=2))
def test_random_hours(hours: dict[str, Any]) -> None:
    files = {"main.yaml": "numbers: ['*']\nsteps:\n  a: {hangup: true}\n",
             "hours.yaml": dump(hours)}
    report(files)
