"""`gather: PROMPT` collects digits or speech into a variable (`into`); `next` with a valid
answer, `fallback` after the last attempt."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import DEFAULT_INPUT_TIMEOUT, Ask, Output
from ivr.flows.state import FlowState
from ivr.flows.steps.base import (
    ASKING,
    MENU_KEYS,
    SPEAKING,
    Accepted,
    AskingStep,
    Custom,
    Int,
    Prompt,
    Target,
    Variable,
    next_of,
    squeeze,
)
from ivr.flows.yamlsrc import key_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

INPUTS = ("dtmf", "speech", "both")


class GatherStep(AskingStep):
    action = "gather"
    value = Prompt()
    settings = {**SPEAKING, "into": Variable(), "digits": Int(1, 64), "min_digits": Int(1, 64),
                "max_digits": Int(1, 64), "finish_on": Custom(), "input": Custom(),
                "pattern": Custom(), **ASKING, "next": Target(), "fallback": Target()}
    default_invalid = "Sorry, that is not valid."

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        if "digits" in body and ("min_digits" in body or "max_digits" in body):
            ck.error(key_loc(file, body, "digits"),
                     "use either 'digits' or 'min_digits'/'max_digits', not both")
        lo, hi = body.get("min_digits"), body.get("max_digits")
        if ck.is_int(lo) and ck.is_int(hi) and lo > hi:
            ck.error(value_loc(file, body, "min_digits"),
                     f"'min_digits' ({lo}) is more than 'max_digits' ({hi})")
        if "finish_on" in body and ck.text(file, body, "finish_on"):
            fo = body["finish_on"]
            if len(fo) > 1 or (fo and fo not in MENU_KEYS):
                ck.error(value_loc(file, body, "finish_on"),
                         f"'finish_on' must be one key (0-9, * or #) or empty, not '{fo}'")
        if "input" in body and ck.text(file, body, "input") and body["input"] not in INPUTS:
            ck.error(value_loc(file, body, "input"),
                     f"'input' must be dtmf, speech or both, not '{body['input']}'"
                     f"{ck.did_you_mean(body['input'], INPUTS)}")
        if "pattern" in body and ck.text(file, body, "pattern"):
            try:
                re.compile(body["pattern"])
            except re.error as exc:
                ck.error(value_loc(file, body, "pattern"), f"invalid pattern: {exc}")

    def ask(self, rt: Runner, step: Step, flow: Flow, state: FlowState,
            prompt: list[Output]) -> Ask:
        s = step.settings
        digits = s.get("digits") or s.get("max_digits")
        return Ask(
            step=step.name,
            kind="gather",
            prompt=prompt,
            input=str(s.get("input") or "dtmf"),
            language=state.language,
            num_digits=int(digits) if digits else None,
            finish_on=str(s.get("finish_on", "#")),  # "": no finishing key
            timeout=int(s.get("timeout") or DEFAULT_INPUT_TIMEOUT),
        )

    def accept(self, rt: Runner, step: Step, flow: Flow, state: FlowState, digits: str,
               speech: str) -> Accepted | None:
        s = step.settings
        mode = str(s.get("input") or "dtmf")
        value = ""
        if digits and mode in ("dtmf", "both"):
            value = digits
        elif speech and mode in ("speech", "both"):
            value = speech.rstrip(".!?。").strip()
        elif digits and mode == "speech":
            value = digits  # a keypad answer to a spoken question is still an answer
        if not value:
            return None
        candidates = [value]
        squeezed = re.sub(r"[\s\-]", "", value)
        if speech and squeezed != value:
            candidates.append(squeezed)  # "1 2 3 4" spoken -> "1234"
        for candidate in candidates:
            if self.valid(s, candidate):
                into = s.get("into")
                if into:
                    state.vars[str(into)] = candidate
                state.input = candidate
                return Accepted(next_of(step))
        return None

    @staticmethod
    def valid(s: dict[str, Any], value: str) -> bool:
        exact = s.get("digits")
        if exact and value.isdigit() and len(value) != int(exact):
            return False
        if s.get("min_digits") and len(value) < int(s["min_digits"]):
            return False
        if s.get("max_digits") and len(value) > int(s["max_digits"]):
            return False
        pattern = s.get("pattern")
        return not (pattern and re.fullmatch(str(pattern), value) is None)

    def text_input(self, step: Step, text: str) -> tuple[str, str]:
        """Typed digits may carry spaces, dashes, dots, brackets and the finishing key."""
        finish = str(step.settings.get("finish_on") or "#")
        typed = text[:-len(finish)].rstrip() if finish and text.endswith(finish) else text
        digits = squeeze(typed)
        return (digits if digits.isdigit() else ""), typed


SPEC = GatherStep()
