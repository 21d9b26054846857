"""`pause: SECONDS` is silence (voice only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Pause, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import VOICE_ONLY, Int, StepSpec, Target, next_of

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class PauseStep(StepSpec):
    action = "pause"
    value = Int(1, 600)
    settings = {"next": Target()}
    channels = VOICE_ONLY

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        turn.outputs.append(Pause(max(1, int(step.value))))
        return next_of(step)


SPEC = PauseStep()
