"""`language: CODE` switches the language (and optionally the voice) of the rest of the call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Language, StepSpec, Target, Voice, next_of

if TYPE_CHECKING:
    from ivr.flows.runner import Runner


class LanguageStep(StepSpec):
    action = "language"
    value = Language()
    settings = {"voice": Voice(), "next": Target()}  # the voice for the new language

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        state.language = str(step.value)
        state.voice = step.settings.get("voice") or None
        return next_of(step)


SPEC = LanguageStep()
