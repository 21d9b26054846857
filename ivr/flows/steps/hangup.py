"""`hangup: TEXT_OR_TRUE` ends the call (or the text conversation), saying the text first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Hangup, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import SPEAKING, Prompt, StepSpec

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class HangupStep(StepSpec):
    action = "hangup"
    value = Prompt(allow_true=True, required=False)
    settings = dict(SPEAKING)
    ends_call = True

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        if not isinstance(step.value, bool) and step.value:
            turn.outputs.append(rt.speak(rt.text(step.value, flow, state), flow, state, step))
        state.ended = "hangup"
        turn.end = Hangup()
        return None


SPEC = HangupStep()
