"""`hours: SCHEDULE` checks a schedule of hours.yaml now: `open`, `closed`, optional `holiday`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows import hours as hours_mod
from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Custom, StepSpec, Target
from ivr.flows.yamlsrc import key_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner


class HoursStep(StepSpec):
    action = "hours"
    value = Custom()  # a schedule of hours.yaml
    settings = {"open": Target(), "closed": Target(), "holiday": Target()}
    unset_ends = ()  # open and closed are required; holiday falls back to closed

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["hours"]
        if ck.expect(file, body, "hours", isinstance(v, str), "a schedule name") and \
                v not in ck.hours:
            ck.error(value_loc(file, body, "hours"),
                     f"unknown schedule '{v}'{ck.did_you_mean(v, ck.hours)} (schedules are in "
                     f"hours.yaml)")
        for need in ("open", "closed"):
            if need not in body:
                ck.error(key_loc(file, body, "hours"),
                         f"hours step '{step.name}' has no '{need}' step")

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        schedule = rt.callflows.hours[str(step.value)]
        status = hours_mod.status(schedule, rt.clock())
        if status == "holiday" and not step.settings.get("holiday"):
            status = "closed"
        target = step.settings.get(status)
        return target if isinstance(target, str) else None


SPEC = HoursStep()
