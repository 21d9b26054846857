"""`goto: STEP` or `goto: FLOW.STEP` jumps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import StepSpec, Target

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class GotoStep(StepSpec):
    action = "goto"
    value = Target()
    settings = {}

    def value_exits(self, step: Step) -> list[tuple[str, str]]:
        return [("goto", step.value)] if isinstance(step.value, str) else []

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        return str(step.value)


SPEC = GotoStep()
