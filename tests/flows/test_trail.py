"""The call's trail: every step run, with what the caller pressed or said at the steps that
ask (the agent desk's "steps they took"); bounded, and kept in the state's fields."""

from __future__ import annotations

from ivr.flows.checker import check_texts
from ivr.flows.runner import Runner
from ivr.flows.state import MAX_TRAIL, FlowState

FLOW = """
numbers: ["*"]
start: hello
steps:
  hello:
    say: "Hi."
    next: menu
  menu:
    menu: "Press 1 or 2."
    options: {1: pin, 2: bye}
  pin:
    gather: "Your PIN?"
    into: pin
    digits: 4
    next: bye
  bye:
    hangup: "Bye."
"""


def runner_and_state() -> tuple[Runner, FlowState]:
    cf, problems = check_texts({"main.yaml": FLOW})
    assert cf is not None, problems
    runner = Runner(cf)
    return runner, runner.new_state(cf.flows["main"], sid="CA1", from_="+15551230000",
                                    to="+15005550006")


def test_trail_records_steps_and_answers_with_retries() -> None:
    runner, state = runner_and_state()
    runner.start(state)
    runner.answer(state, digits="7")  # not an option: asked again
    runner.answer(state, digits="1")
    runner.answer(state, speech="four two four two")  # no digits: asked again
    runner.answer(state, digits="4242")
    assert state.trail == [["main", "hello", ""], ["main", "menu", "7"], ["main", "menu", "1"],
                           ["main", "pin", "four two four two"], ["main", "pin", "4242"],
                           ["main", "bye", ""]]


def test_trail_survives_the_state_fields_and_old_states_have_none() -> None:
    runner, state = runner_and_state()
    runner.start(state)
    runner.answer(state, digits="2")
    again = FlowState.from_fields(state.to_fields())
    assert again is not None and again.trail == state.trail
    old = state.to_fields()
    del old["trail"]  # a call that started before the trail existed
    restored = FlowState.from_fields(old)
    assert restored is not None and restored.trail == []


def test_trail_is_bounded() -> None:
    _, state = runner_and_state()
    for i in range(MAX_TRAIL + 20):
        state.walked("main", f"s{i}")
    state.answered("main", "menu", "9")
    assert len(state.trail) == MAX_TRAIL
    assert state.trail[0] == ["main", "s21", ""] and state.trail[-1] == ["main", "menu", "9"]
