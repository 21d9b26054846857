"""The step interpreter shared by the voice and the text channels.

`Runner` walks a flow from a step, executing the actions that need no answer
from the caller (say, play, pause, set, branch, hours, language, goto,
message, http) and stops at a step that waits for the caller or hands the
call over (menu, gather, survey, record, dial, queue) or ends it (hangup).
How each action runs is its spec's business (`ivr.flows.steps`); the runner
owns the walk, the answers and retries, and the failure policy. What it
produces is channel-neutral (`ivr.flows.outputs`): the voice engine renders it
as TwiML, the text engine as texts.

Failure policy: a template or expression that fails at run time, or any other
fault inside one step, is logged with the step's FILE:LINE:COL and the caller
goes to the step's `fallback`, or gets the flow's `on_error` (`Failed`) —
never an exception. A walk longer than `MAX_STEPS_PER_TURN` steps without
waiting for the caller is a runaway loop and ends in `Failed` too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ivr.flows import templates
from ivr.flows.actions_http import HttpResult, call_http
from ivr.flows.model import Callflows, Flow, Prompt, Step
from ivr.flows.outputs import (
    Ask,
    Dial,
    Ending,
    Failed,
    Hangup,
    Output,
    Pause,
    Play,
    Queue,
    Record,
    SendText,
    Speak,
    Stop,
    Turn,
)
from ivr.flows.state import FlowState
from ivr.flows.steps import asking_spec, spec_for
from ivr.flows.steps.base import StepError, normalize_words, split_target
from ivr.flows.steps.queue import CALLBACK_CONFIRMATION, QUEUE_GOODBYE

__all__ = [
    "CALLBACK_CONFIRMATION", "QUEUE_GOODBYE", "Ask", "Dial", "Ending", "Failed", "FlowEvents",
    "Hangup", "HttpCaller", "LogEvents", "Output", "Pause", "Play", "Queue", "Record", "Runner",
    "SendText", "Speak", "StepError", "Stop", "Turn", "normalize_words",
]

log = logging.getLogger("ivr.flows.runner")

MAX_STEPS_PER_TURN = 50
DEFAULT_ATTEMPTS = 3
DEFAULT_NO_INPUT = "Sorry, I didn't catch that."

HttpCaller = Callable[..., HttpResult]


class FlowEvents(Protocol):
    """What happens in a conversation that others count (reports, contact records)."""

    def on_survey(self, state: FlowState, score: int, *, scale: int, step: str) -> None: ...


class LogEvents:
    """The events of a runner nobody listens to: logged, and kept only in the state's vars."""

    def on_survey(self, state: FlowState, score: int, *, scale: int, step: str) -> None:
        log.info("%s %s: survey %s.%s scored %d of %d", state.call.get("channel", "call"),
                 state.call.get("sid", ""), state.flow, step, score, scale)


class Runner:
    """Interprets one version of the call-flow folder for one conversation at a time."""

    def __init__(
        self,
        callflows: Callflows,
        *,
        channel: str = "voice",
        clock: Callable[[], datetime] | None = None,
        http: HttpCaller = call_http,
        max_steps: int = MAX_STEPS_PER_TURN,
        events: FlowEvents | None = None,
    ) -> None:
        self.callflows = callflows
        self.channel = channel
        self.clock = clock or (lambda: datetime.now(UTC))
        self.http = http
        self.max_steps = max_steps
        self.events: FlowEvents = events or LogEvents()

    # --- public ------------------------------------------------------------

    def new_state(
        self,
        flow: Flow,
        *,
        sid: str,
        from_: str,
        to: str,
        caller: dict[str, str] | None = None,
    ) -> FlowState:
        """The state of a conversation about to start at the flow's first step."""
        return FlowState(
            flow=flow.name,
            version=self.callflows.version,
            step=flow.start,
            language=flow.language,
            vars=dict(flow.vars),
            caller=dict(caller or {"number": from_}),
            call={"sid": sid, "from": from_, "to": to, "channel": self.channel},
        )

    def start(self, state: FlowState) -> Turn:
        """Run from the state's step (a new call: the flow's `start`)."""
        return self.run(state, state.step)

    def current_step(self, state: FlowState) -> tuple[Flow, Step] | None:
        flow = self.callflows.flows.get(state.flow)
        if flow is None or state.step not in flow.steps:
            return None
        return flow, flow.steps[state.step]

    def run(self, state: FlowState, target: str, turn: Turn | None = None) -> Turn:
        """Walk from `target` (STEP or FLOW.STEP) until the caller must answer or the call ends."""
        turn = turn or Turn()
        for _ in range(self.max_steps):
            flow_name, step_name = split_target(target, state.flow)
            flow = self.callflows.flows.get(flow_name)
            if flow is None or step_name not in flow.steps:
                log.error("flow %s: no step %r (from step %s)", state.flow, target, state.step)
                return self.fail(state, turn, f"no step {target!r}")
            step = flow.steps[step_name]
            state.flow, state.step, state.attempts = flow.name, step.name, 0
            self._reached(state, turn)
            state.walked(flow.name, step.name)
            try:
                nxt = self._execute(step, flow, state, turn)
            except Exception as exc:  # noqa: BLE001 - one broken step must not drop the call
                log.error("%s: step %s of flow %s failed: %s: %s", step.location, step.name,
                          flow.name, type(exc).__name__, exc)
                fallback = step.settings.get("fallback")
                if not isinstance(fallback, str):
                    return self.fail(state, turn, f"step {step.name} failed")
                turn.end = None
                nxt = fallback
            if turn.end is not None:
                return turn
            if nxt is None:
                state.ended = state.ended or "flow"
                turn.end = Hangup()
                return turn
            target = nxt
        log.error("flow %s: more than %d steps without waiting for the caller (stopped at %s)",
                  state.flow, self.max_steps, state.step)
        return self.fail(state, turn, "runaway loop")

    def answer(self, state: FlowState, *, digits: str = "", speech: str = "") -> Turn:
        """The caller's answer (or silence) to the step that asks (menu, gather, survey)."""
        current = self.current_step(state)
        if current is None:
            return self.fail(state, Turn(), "state points at a missing step")
        flow, step = current
        spec = asking_spec(step.action)
        if spec is None:
            # Not waiting for input (a stale or forged request): say where we are again.
            return self.run(state, step.name)
        digits, speech = (digits or "").strip(), (speech or "").strip()
        state.input = digits or speech
        state.answered(flow.name, step.name, state.input)
        turn = Turn()
        try:
            accepted = spec.accept(self, step, flow, state, digits, speech)
            if accepted is None:
                return self._retry(step, flow, state, turn, silent=not state.input)
            if accepted.target is None:
                state.ended = "flow"
                turn.end = Hangup()
                return turn
            return self.run(state, accepted.target, turn)
        except Exception as exc:  # noqa: BLE001
            log.error("%s: step %s of flow %s failed on input: %s: %s", step.location,
                      step.name, flow.name, type(exc).__name__, exc)
            fallback = step.settings.get("fallback")
            if isinstance(fallback, str):
                return self.run(state, fallback, Turn())
            return self.fail(state, Turn(), f"step {step.name} failed")

    def after(self, state: FlowState, result: str) -> Turn:
        """What follows a hand-over (record, dial, queue), given how it went.

        record: "recorded"; dial: Twilio's DialCallStatus; queue: the router's
        queue_result ("connected", "overflow", "callback", "abandoned", "error").
        """
        turn = Turn()
        current = self.current_step(state)
        if current is None:
            return self.fail(state, turn, "state points at a missing step")
        flow, step = current
        spec = spec_for(step.action)
        if spec is None or not spec.hands_over:
            return self.run(state, step.name, turn)  # stale request: repeat where we are
        return spec.after(self, step, flow, state, result, turn)

    def context(self, state: FlowState, flow: Flow) -> dict[str, Any]:
        """The template context: vars, caller, call, input, now (in the flow's zone)."""
        try:
            tz = ZoneInfo(flow.timezone)
        except (ValueError, KeyError):
            tz = ZoneInfo("UTC")
        return {
            "vars": state.vars,
            "caller": state.caller,
            "call": state.call,
            "input": state.input,
            "now": self.clock().astimezone(tz),
        }

    # --- for step specs ----------------------------------------------------

    def fail(self, state: FlowState, turn: Turn, reason: str) -> Turn:
        """End the turn with the flow's `on_error`."""
        state.ended = "error"
        turn.end = Failed(reason)
        return turn

    def go_next(self, state: FlowState, step: Step, turn: Turn) -> Turn:
        """Continue at the step's `next`, or end the call when it has none."""
        nxt = step.settings.get("next")
        if not isinstance(nxt, str):
            state.ended = state.ended or "flow"
            turn.end = Hangup()
            return turn
        return self.run(state, nxt, turn)

    def text(self, prompt: Prompt, flow: Flow, state: FlowState) -> str:
        """A prompt in the conversation's language, rendered."""
        text = str(templates.pick_prompt(prompt, state.language, flow.language))
        if "{" not in text:  # plain text: no context to build
            return text
        return templates.render(text, self.context(state, flow))

    def render(self, text: str, flow: Flow, state: FlowState) -> str:
        """One template (a URL, a number) rendered in the conversation's context."""
        if "{" not in text:
            return text
        return templates.render(text, self.context(state, flow))

    def render_deep(self, value: Any, flow: Flow, state: FlowState) -> Any:
        """Templates inside an http step's json/headers: every string is rendered."""
        if isinstance(value, str):
            return templates.render(value, self.context(state, flow))
        if isinstance(value, dict):
            return {str(k): self.render_deep(v, flow, state) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_deep(v, flow, state) for v in value]
        return value

    def speak(self, text: str, flow: Flow, state: FlowState, step: Step | None = None) -> Speak:
        """Text to say, with the step's voice and language settings (else the conversation's)."""
        settings = step.settings if step else {}
        return Speak(
            text=text,
            voice=settings.get("voice") or self._voice(flow, state),
            language=settings.get("language") or state.language,
            loop=int(settings.get("loop", 1)),  # 0: repeat until the caller acts (Twilio)
        )

    def ask(self, step: Step, flow: Flow, state: FlowState, prefix: list[Output]) -> Ask:
        """The question of a step that asks: `prefix` (a retry message), then its prompt."""
        spec = asking_spec(step.action)
        if spec is None:
            raise StepError(f"{step.action} steps do not ask")
        prompt = list(prefix)
        if step.value and not isinstance(step.value, bool):
            prompt.append(self.speak(self.text(step.value, flow, state), flow, state, step))
        return spec.ask(self, step, flow, state, prompt)

    # --- internals ---------------------------------------------------------

    def _reached(self, state: FlowState, turn: Turn) -> None:
        mark = f"{state.flow}.{state.step}"
        if mark not in state.seen:
            state.seen.append(mark)
            turn.reached.append((state.flow, state.step))

    def _voice(self, flow: Flow, state: FlowState) -> str | None:
        """The conversation's voice: set by a `language` step, else the flow's in its language."""
        if state.voice:
            return state.voice
        return flow.voice if state.language == flow.language else None

    def _execute(self, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        """Run one step; the next target, or None with `turn.end` set (or the flow's end)."""
        spec = spec_for(step.action)
        if spec is None:
            raise StepError(f"unknown action {step.action!r}")
        return spec.run(self, step, flow, state, turn)

    def _retry(self, step: Step, flow: Flow, state: FlowState, turn: Turn, *, silent: bool) -> Turn:
        """Invalid input or silence: say so and ask again, or take `fallback` after the last try."""
        spec = asking_spec(step.action)
        assert spec is not None
        s = step.settings
        state.attempts += 1
        if state.attempts >= int(s.get("attempts") or DEFAULT_ATTEMPTS):
            fallback = s.get("fallback")
            if isinstance(fallback, str):
                return self.run(state, fallback, turn)
            state.ended = "flow"
            turn.end = Hangup()
            return turn
        message = (s.get("no_input") or DEFAULT_NO_INPUT) if silent else spec.invalid(step)
        prefix: list[Output] = [self.speak(self.text(message, flow, state), flow, state, step)]
        turn.end = self.ask(step, flow, state, prefix)
        return turn
