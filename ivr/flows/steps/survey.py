"""`survey: PROMPT` asks the caller to rate the service from 1 to `scale` (default 5): one key
on a call, the reply by text. `next` after a valid score, `fallback` when none comes.

The score goes into the flow variable `into` (default `survey`, so `{{ vars.survey }}`) and
to the runner's events (`on_survey`), where contact records and reports pick it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows.model import Flow, Step
from ivr.flows.model import Prompt as PromptText
from ivr.flows.outputs import DEFAULT_INPUT_TIMEOUT, Ask, Output
from ivr.flows.state import FlowState
from ivr.flows.steps.base import (
    ASKING,
    SPEAKING,
    Accepted,
    AskingStep,
    Int,
    Prompt,
    Target,
    Variable,
    next_of,
    normalize_words,
    squeeze,
)

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

DEFAULT_SCALE = 5
MAX_SCALE = 9  # one key of the keypad
DEFAULT_INTO = "survey"


def scale_of(step: Step) -> int:
    return int(step.settings.get("scale") or DEFAULT_SCALE)


class SurveyStep(AskingStep):
    action = "survey"
    value = Prompt()
    settings = {**SPEAKING, "scale": Int(2, MAX_SCALE), "into": Variable(), **ASKING,
                "next": Target(), "fallback": Target()}

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        if "into" not in body:
            ck.vars_set.add(DEFAULT_INTO)  # templates may read vars.survey

    def ask(self, rt: Runner, step: Step, flow: Flow, state: FlowState,
            prompt: list[Output]) -> Ask:
        return Ask(
            step=step.name,
            kind="survey",
            prompt=prompt,
            input="dtmf",
            language=state.language,
            num_digits=1,
            finish_on="",  # one key is the whole answer
            timeout=int(step.settings.get("timeout") or DEFAULT_INPUT_TIMEOUT),
        )

    def accept(self, rt: Runner, step: Step, flow: Flow, state: FlowState, digits: str,
               speech: str) -> Accepted | None:
        scale = scale_of(step)
        answer = digits or normalize_words(speech)
        if not (answer.isascii() and answer.isdigit() and 1 <= int(answer) <= scale):
            return None
        score = int(answer)
        state.vars[str(step.settings.get("into") or DEFAULT_INTO)] = score
        state.input = str(score)
        rt.events.on_survey(state, score, scale=scale, step=step.name)
        return Accepted(next_of(step))

    def invalid(self, step: Step) -> PromptText:
        text: PromptText = step.settings.get("invalid") or \
            f"Sorry, please answer with a number from 1 to {scale_of(step)}."
        return text

    def text_input(self, step: Step, text: str) -> tuple[str, str]:
        digits = squeeze(text)
        return (digits if digits.isascii() and digits.isdigit() else ""), text


SPEC = SurveyStep()
