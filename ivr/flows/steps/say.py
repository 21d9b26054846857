"""`say: PROMPT` speaks a text (by text: replies with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import SPEAKING, Int, Prompt, StepSpec, Target, next_of

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class SayStep(StepSpec):
    action = "say"
    value = Prompt()
    settings = {**SPEAKING, "loop": Int(0, 100), "next": Target()}

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        turn.outputs.append(rt.speak(rt.text(step.value, flow, state), flow, state, step))
        return next_of(step)


SPEC = SayStep()
