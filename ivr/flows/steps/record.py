"""`record: PROMPT` records a voicemail into a box (voice only); `next` after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Record, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import (
    SPEAKING,
    VOICE_ONLY,
    Bool,
    Int,
    Prompt,
    StepSpec,
    Target,
    Word,
)

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class RecordStep(StepSpec):
    action = "record"
    value = Prompt(allow_true=True)  # true: record without a prompt
    settings = {**SPEAKING, "max_length": Int(1, 14400), "transcribe": Bool(), "box": Word(),
                "next": Target()}
    channels = VOICE_ONLY
    waits = True
    hands_over = True

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        s = step.settings
        if step.value and not isinstance(step.value, bool):
            turn.outputs.append(rt.speak(rt.text(step.value, flow, state), flow, state, step))
        turn.end = Record(
            step=step.name,
            max_length=int(s.get("max_length") or 120),
            transcribe=bool(s.get("transcribe", False)),
            box=str(s.get("box") or flow.name),
        )
        return None

    def after(self, rt: Runner, step: Step, flow: Flow, state: FlowState, result: str,
              turn: Turn) -> Turn:
        """`result`: "recorded" (or nothing was recorded)."""
        return rt.go_next(state, step, turn)


SPEC = RecordStep()
