"""`set: {NAME: TEMPLATE}` sets flow variables (module named set_ after the builtin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows import templates
from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Custom, StepSpec, Target, next_of
from ivr.flows.yamlsrc import value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner


class SetStep(StepSpec):
    action = "set"
    value = Custom()  # a mapping of variable names to templates (or plain values)
    settings = {"next": Target()}

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["set"]
        if not ck.expect(file, body, "set", isinstance(v, dict) and bool(v),
                         "a mapping of variable names to values"):
            return
        for k, val in v.items():
            ck.variable_name(file, v, k)
            if isinstance(val, str):
                ck.template(value_loc(file, v, k), val)
            elif isinstance(val, dict | list):
                ck.templates_in(file, v, k, val)

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        for name, tmpl in dict(step.value).items():
            state.vars[str(name)] = (
                templates.render(tmpl, rt.context(state, flow)) if isinstance(tmpl, str) else tmpl
            )
        return next_of(step)


SPEC = SetStep()
