"""`branch: [{if: EXPR, goto: STEP}, ...]`: the first condition that holds wins, else `else`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows import templates
from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Custom, StepSpec, Target
from ivr.flows.yamlsrc import item_loc, key_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner


class BranchStep(StepSpec):
    action = "branch"
    value = Custom()  # the list of cases
    settings = {"else": Target()}

    def value_exits(self, step: Step) -> list[tuple[str, str]]:
        if not isinstance(step.value, list):
            return []
        return [(f"if {case.get('if')}", case["goto"]) for case in step.value
                if isinstance(case, dict) and isinstance(case.get("goto"), str)]

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file, cases = info.file, body["branch"]
        if not ck.expect(file, body, "branch", isinstance(cases, list) and bool(cases),
                         "a list of {if: CONDITION, goto: STEP}"):
            return
        for i, case in enumerate(cases):
            cloc = item_loc(file, cases, i)
            if not isinstance(case, dict):
                ck.error(cloc, f"a branch must be {{if: CONDITION, goto: STEP}}, "
                               f"not {ck.type_name(case)}")
                continue
            ck.unknown_keys(file, case, ("if", "goto"), "branch")
            if "if" not in case:
                ck.error(cloc, "branch has no 'if' condition")
            elif isinstance(case["if"], str):
                ck.template(value_loc(file, case, "if"), case["if"], expression=True)
            elif not isinstance(case["if"], bool):
                ck.error(value_loc(file, case, "if"),
                         f"'if' must be a condition, not {ck.type_name(case['if'])}")
            if "goto" not in case:
                ck.error(cloc, "branch has no 'goto' step")
            else:
                ck.target(info, step, case, "goto", f"if {case.get('if')}")
        if "else" not in body:
            ck.warn(key_loc(file, body, "branch"),
                    f"branch '{step.name}' has no 'else': when no condition holds the call ends")

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        ctx = rt.context(state, flow)
        for case in step.value:
            if templates.evaluate(str(case["if"]), ctx):
                return str(case["goto"])
        other = step.settings.get("else")
        return other if isinstance(other, str) else None


SPEC = BranchStep()
