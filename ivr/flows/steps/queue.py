"""`queue: QUEUE` puts the caller in a queue for an agent; `overflow` when nobody can take
them, `next` after the agent hangs up. By text, the text engine offers a call back instead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivr.flows.model import Flow, Step
from ivr.flows.outputs import Hangup, Queue, Stop, Turn
from ivr.flows.state import FlowState
from ivr.flows.steps.base import Custom, Int, StepSpec, Target
from ivr.flows.yamlsrc import key_loc, value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

QUEUE_GOODBYE = "Sorry, nobody can take your call right now. Please call again later. Goodbye."
CALLBACK_CONFIRMATION = (
    "Thank you. We will call you back as soon as an agent is free. Goodbye."
)


class QueueStep(StepSpec):
    action = "queue"
    value = Custom()  # a queue of queues.yaml
    settings = {"priority": Int(0, 100), "skills": Custom(), "max_wait": Int(0),
                "overflow": Target(), "next": Target()}
    waits = True
    hands_over = True

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["queue"]
        if ck.expect(file, body, "queue", isinstance(v, str), "a queue name") and \
                v not in ck.queues:
            ck.error(value_loc(file, body, "queue"),
                     f"unknown queue '{v}'{ck.did_you_mean(v, ck.queues)} (queues are in "
                     f"queues.yaml)")
        for skill in ck.str_list(file, body, "skills"):
            if ck.agents and skill not in ck.agent_skills:
                ck.warn(value_loc(file, body, "skills"), f"no agent has skill '{skill}'")
        if "overflow" not in body:
            ck.warn(key_loc(file, body, "queue"),
                    f"queue step '{step.name}' has no 'overflow': callers still waiting after "
                    f"max_wait are told goodbye and hung up")

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        s = step.settings
        max_wait = s.get("max_wait")
        turn.end = Queue(
            step=step.name,
            queue=str(step.value),
            priority=int(s.get("priority") or 0),
            skills=[str(x) for x in s.get("skills") or []],
            max_wait=int(max_wait) if max_wait is not None else None,
        )
        return None

    def after(self, rt: Runner, step: Step, flow: Flow, state: FlowState, result: str,
              turn: Turn) -> Turn:
        """`result`: the router's queue_result (connected, overflow, callback, abandoned, error)."""
        if result == "abandoned":
            turn.end = Stop()
            return turn
        if result == "error":
            return rt.fail(state, turn, "queue error")
        if result == "callback":
            state.ended = "callback"
            turn.outputs.append(rt.speak(CALLBACK_CONFIRMATION, flow, state))
            turn.end = Hangup()
            return turn
        if result == "overflow":
            overflow = step.settings.get("overflow")
            if isinstance(overflow, str):
                return rt.run(state, overflow, turn)
            state.ended = "overflow"
            turn.outputs.append(rt.speak(QUEUE_GOODBYE, flow, state))
            turn.end = Hangup()
            return turn
        if not isinstance(step.settings.get("next"), str):
            state.ended = "connected"  # connected: the call ends with the agent's leg
        # With a `next` the call goes on after the agent hangs up, and may still wait for
        # the caller (a survey): not ended yet.
        return rt.go_next(state, step, turn)


SPEC = QueueStep()
