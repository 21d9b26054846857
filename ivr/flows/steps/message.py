"""`message: TEXT` sends a text to the caller (or `to`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import SendText, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Phone, Prompt, StepSpec, Target, next_of

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class MessageStep(StepSpec):
    action = "message"
    value = Prompt()
    settings = {"to": Phone(whatsapp=True, template=True), "next": Target()}

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        body = rt.text(step.value, flow, state)
        to = step.settings.get("to")
        turn.outputs.append(SendText(body, rt.render(str(to), flow, state) if to else None))
        return next_of(step)


SPEC = MessageStep()
