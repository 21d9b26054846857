"""`dial: NUMBER_OR_LIST` transfers the call; `next` on no answer, busy or failed (voice only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows import templates
from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Dial, Hangup, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import VOICE_ONLY, Bool, Custom, Int, Phone, StepSpec, Target
from ivr.flows.yamlsrc import item_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner


class DialStep(StepSpec):
    action = "dial"
    value = Custom()  # a number, a sip: address, or a list of them (templates allowed)
    settings = {"timeout": Int(5, 600), "caller_id": Phone(template=True), "record": Bool(),
                "next": Target()}
    channels = VOICE_ONLY
    waits = True
    hands_over = True

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["dial"]
        if isinstance(v, list):
            if not v:
                ck.error(value_loc(file, body, "dial"), "'dial' has no numbers")
            for i in range(len(v)):
                self._number(ck, file, v, i)
        else:
            ck.phone(file, body, "dial", sip=True, template=True)

    @staticmethod
    def _number(ck: FlowChecks, file: str, seq: Any, i: int) -> None:
        v, loc = seq[i], item_loc(file, seq, i)
        if ck.is_int(v):
            ck.error(loc, f"numbers must be quoted text (\"+{v}\"): YAML reads +{v} as a number")
        elif not isinstance(v, str):
            ck.error(loc, f"numbers must be text, not {ck.type_name(v)}")
        elif ck.has_template(v):
            ck.template(loc, v)
        else:
            msg = ck.phone_problem(v, sip=True)
            if msg:
                ck.error(loc, msg)

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        s = step.settings
        numbers = step.value if isinstance(step.value, list) else [step.value]
        ctx = rt.context(state, flow)
        caller_id = s.get("caller_id")
        turn.end = Dial(
            step=step.name,
            targets=[templates.render(str(n), ctx) for n in numbers],
            timeout=int(s.get("timeout") or 30),
            caller_id=templates.render(str(caller_id), ctx) if caller_id else None,
            record=bool(s.get("record", False)),
        )
        return None

    def after(self, rt: Runner, step: Step, flow: Flow, state: FlowState, result: str,
              turn: Turn) -> Turn:
        """`result`: Twilio's DialCallStatus."""
        if result in ("completed", "answered"):
            state.ended = "dial"
            turn.end = Hangup()
            return turn
        return rt.go_next(state, step, turn)


SPEC = DialStep()
