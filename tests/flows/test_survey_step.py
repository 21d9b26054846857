"""The `survey` step, added through the step registry alone: checker, exits, graph, runner."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from ivr.flows.checker import check_texts
from ivr.flows.exits import ends_call_when_unset, exits
from ivr.flows.graph import END, edges
from ivr.flows.model import Location, Step
from ivr.flows.runner import Ask, Hangup, Runner, Speak
from ivr.flows.steps import ACTIONS, ANSWERING, SETTINGS, SPECS

FLOW = """\
numbers: ["*"]
channels: [voice, sms]
steps:
  rate:
    survey: "How did we do? Press 1 (poor) to 5 (great)."
    attempts: 2
    next: thanks
    fallback: bye
  thanks:
    say: "Thanks for the {{ vars.survey }}."
    next: bye
  bye:
    hangup: "Goodbye."
"""


def errors(files: dict[str, str]) -> list[str]:
    _, problems = check_texts(files)
    return [str(p) for p in problems if p.is_error]


def problems(files: dict[str, str]) -> list[str]:
    _, found = check_texts(files)
    return [str(p) for p in found]


def test_the_registry_knows_survey() -> None:
    spec = SPECS["survey"]
    assert ACTIONS.index("survey") == ACTIONS.index("hangup") - 1
    assert SETTINGS["survey"] == ("voice", "language", "scale", "into", "attempts", "invalid",
                                  "no_input", "timeout", "next", "fallback")
    assert spec.exits == ("next", "fallback")
    assert spec.waits and spec.answers and "survey" in ANSWERING
    assert spec.channels == frozenset({"voice", "sms"})


def test_a_survey_on_voice_and_sms_passes_and_vars_survey_is_known() -> None:
    assert problems({"main.yaml": FLOW}) == []  # no "vars.survey is never set" warning


def test_settings_are_checked_by_their_kind() -> None:
    flow = FLOW.replace("    attempts: 2\n", "    attempts: 2\n    scale: 10\n    into: 2nd\n"
                                                "    scael: 3\n")
    assert errors({"main.yaml": flow}) == [
        "callflows/main.yaml:7:12: 'scale' must be between 2 and 9, not 10",
        "callflows/main.yaml:8:11: 'into' must be a variable name (letters, digits, _), "
        "not '2nd'",
        "callflows/main.yaml:9:5: unknown key 'scael' in survey step 'rate' "
        "(did you mean 'scale'?)",
    ]
    wrong = FLOW.replace("next: thanks\n    fallback: bye", "next: thanks\n    fallback: byee")
    assert errors({"main.yaml": wrong}) == [
        "callflows/main.yaml:8:15: 'fallback' leads to unknown step 'byee' (did you mean 'bye'?)"]


def test_a_loop_through_a_survey_is_not_a_trap() -> None:
    flow = FLOW.replace("    next: bye\n  bye:", "    next: rate\n  bye:")
    assert errors({"main.yaml": flow}) == []


def test_exits_and_implicit_endings() -> None:
    here = Location("callflows/main.yaml", 1, 1)
    step = Step("rate", "survey", "How?", {"next": "thanks", "fallback": "bye"}, here)
    assert exits(step) == [("next", "thanks"), ("fallback", "bye")]
    bare = Step("rate", "survey", "How?", {}, here)
    assert ends_call_when_unset(bare) == ["next", "fallback"]


def test_graph_draws_both_ways_out(tmp_path: Path) -> None:
    callflows, _ = check_texts({"main.yaml": FLOW.replace("    fallback: bye\n", "")})
    assert callflows is not None
    found = [e for e in edges(callflows.flows["main"]) if e[0] == "rate"]
    assert found == [("rate", "next", "thanks"), ("rate", "no fallback", END)]


def runner() -> Runner:
    callflows, found = check_texts({"main.yaml": FLOW})
    assert callflows is not None, found
    return Runner(callflows, clock=lambda: datetime.fromisoformat("2026-11-24T15:00:00+00:00"))


def test_the_runner_asks_for_one_key_and_keeps_the_score(
        caplog: pytest.LogCaptureFixture) -> None:
    rt = runner()
    state = rt.new_state(rt.callflows.flows["main"], sid="CA1", from_="+14155550100",
                         to="+15005550006")
    turn = rt.start(state)
    assert isinstance(turn.end, Ask)
    assert (turn.end.kind, turn.end.input, turn.end.num_digits, turn.end.finish_on) == \
        ("survey", "dtmf", 1, "")
    with caplog.at_level(logging.INFO, logger="ivr.flows.runner"):
        turn = rt.answer(state, digits="4")
    assert state.vars["survey"] == 4 and state.input == "4"
    assert turn.outputs == [Speak("Thanks for the 4.", None, "en-US"),
                            Speak("Goodbye.", None, "en-US")]
    assert "survey main.rate scored 4 of 5" in caplog.text


class Kept:
    """A listener of the runner's events (what reports will plug in)."""

    def __init__(self) -> None:
        self.scores: list[tuple[str, int, int, str]] = []

    def on_survey(self, state: object, score: int, *, scale: int, step: str) -> None:
        self.scores.append((getattr(state, "flow", ""), score, scale, step))


def test_out_of_range_retries_then_fallback_and_the_hook_hears_valid_scores() -> None:
    rt = runner()
    kept = Kept()
    rt.events = kept
    state = rt.new_state(rt.callflows.flows["main"], sid="CA1", from_="+1", to="+2")
    rt.start(state)
    turn = rt.answer(state, digits="7")  # scale 5
    assert isinstance(turn.end, Ask) and state.attempts == 1
    assert turn.end.prompt[0].text == "Sorry, please answer with a number from 1 to 5."  # type: ignore[union-attr]
    turn = rt.answer(state)  # silence on the last attempt: fallback
    assert state.step == "bye" and isinstance(turn.end, Hangup)
    assert "survey" not in state.vars and kept.scores == []
    state = rt.new_state(rt.callflows.flows["main"], sid="CA2", from_="+1", to="+2")
    rt.start(state)
    rt.answer(state, speech="5.")  # a typed reply, as the text engine passes it
    assert kept.scores == [("main", 5, 5, "rate")]


def test_into_and_scale() -> None:
    flow = FLOW.replace("    attempts: 2\n", "    attempts: 2\n    scale: 3\n    into: csat\n")
    flow = flow.replace("vars.survey", "vars.csat")
    callflows, found = check_texts({"main.yaml": flow})
    assert callflows is not None, found
    rt = Runner(callflows)
    state = rt.new_state(callflows.flows["main"], sid="CA1", from_="+1", to="+2")
    rt.start(state)
    assert isinstance(rt.answer(state, digits="4").end, Ask)  # above the scale of 3
    rt.answer(state, digits="3")
    assert state.vars == {"csat": 3}
