"""`play: FILE_OR_URL` plays audio from recordings/ or a URL (voice only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Play, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import VOICE_ONLY, Int, Media, StepSpec, Target, next_of

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class PlayStep(StepSpec):
    action = "play"
    value = Media()
    settings = {"loop": Int(0, 100), "next": Target()}
    channels = VOICE_ONLY

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        source = rt.render(str(step.value), flow, state)
        turn.outputs.append(Play(source, loop=int(step.settings.get("loop", 1))))
        return next_of(step)


SPEC = PlayStep()
