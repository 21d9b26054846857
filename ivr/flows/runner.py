"""The step interpreter shared by the voice and the text channels.

`Runner` walks a flow from a step, executing the actions that need no answer
from the caller (say, play, pause, set, branch, hours, language, goto,
message, http) and stops at a step that waits for the caller or hands the
call over (menu, gather, record, dial, queue) or ends it (hangup). What it
produces is channel-neutral: a list of outputs (`Speak`, `Play`, `Pause`,
`SendText`) and one ending (`Ask`, `Record`, `Dial`, `Queue`, `Hangup`,
`Stop`, `Failed`). The voice engine renders that as TwiML; the SMS engine
renders the same as texts.

Failure policy (product.md §4 and issue 3): a template or expression that
fails at run time, or any other fault inside one step, is logged with the
step's FILE:LINE:COL and the caller goes to the step's `fallback`, or gets
the flow's `on_error` (`Failed`) — never an exception. A walk longer than
`MAX_STEPS_PER_TURN` steps without waiting for the caller is a runaway loop
and ends in `Failed` too.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.flows import hours as hours_mod
from ivr.flows import templates
from ivr.flows.actions_http import HttpResult, call_http
from ivr.flows.exits import option_key, split_target
from ivr.flows.model import Callflows, Flow, Prompt, Step
from ivr.flows.state import FlowState

log = logging.getLogger("ivr.flows.runner")

MAX_STEPS_PER_TURN = 50
DEFAULT_ATTEMPTS = 3
DEFAULT_INPUT_TIMEOUT = 5  # seconds of silence before a menu/gather counts as no input
DEFAULT_INVALID = "Sorry, that is not one of the choices."
DEFAULT_NO_INPUT = "Sorry, I didn't catch that."
DEFAULT_GATHER_INVALID = "Sorry, that is not valid."
QUEUE_GOODBYE = "Sorry, nobody can take your call right now. Please call again later. Goodbye."
CALLBACK_CONFIRMATION = (
    "Thank you. We will call you back as soon as an agent is free. Goodbye."
)

# --- outputs ----------------------------------------------------------------


@dataclass
class Speak:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass
class Play:
    source: str  # a file name in recordings/ or an http(s) URL
    loop: int = 1

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))


@dataclass
class Pause:
    seconds: int


@dataclass
class SendText:
    body: str
    to: str | None = None  # None: the caller


Output = Speak | Play | Pause | SendText

# --- endings ----------------------------------------------------------------


@dataclass
class Ask:
    """Wait for the caller's answer to a `menu` (one key or word) or a `gather`."""

    step: str
    kind: str  # "menu" | "gather"
    prompt: list[Output]
    input: str  # "dtmf" | "speech" | "both"
    language: str
    num_digits: int | None = None
    finish_on: str | None = None
    timeout: int = DEFAULT_INPUT_TIMEOUT
    hints: list[str] = field(default_factory=list)


@dataclass
class Record:
    step: str
    max_length: int = 120
    transcribe: bool = False
    box: str = ""


@dataclass
class Dial:
    step: str
    targets: list[str]
    timeout: int = 30
    caller_id: str | None = None
    record: bool = False


@dataclass
class Queue:
    step: str
    queue: str
    priority: int = 0
    skills: list[str] = field(default_factory=list)
    max_wait: int | None = None


@dataclass
class Hangup:
    pass


@dataclass
class Stop:
    """Nothing more to do or say (the caller is gone)."""


@dataclass
class Failed:
    reason: str


Ending = Ask | Record | Dial | Queue | Hangup | Stop | Failed


@dataclass
class Turn:
    """What one webhook produces: outputs in order, then how the turn ends."""

    outputs: list[Output] = field(default_factory=list)
    end: Ending | None = None
    reached: list[tuple[str, str]] = field(default_factory=list)  # newly reached (flow, step)


HttpCaller = Callable[..., HttpResult]


class StepError(Exception):
    """A fault inside one step (bad template at run time, a missing name)."""


def normalize_words(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: "Sales, please!" -> "sales please"."""
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith(("P", "S")) else ch
        for ch in unicodedata.normalize("NFKC", text).casefold()
    )
    return " ".join(cleaned.split())


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
    ) -> None:
        self.callflows = callflows
        self.channel = channel
        self.clock = clock or (lambda: datetime.now(UTC))
        self.http = http
        self.max_steps = max_steps

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
                return self._fail(state, turn, f"no step {target!r}")
            step = flow.steps[step_name]
            state.flow, state.step, state.attempts = flow.name, step.name, 0
            self._reached(state, turn)
            try:
                nxt = self._execute(step, flow, state, turn)
            except Exception as exc:  # noqa: BLE001 - one broken step must not drop the call
                log.error("%s: step %s of flow %s failed: %s: %s", step.location, step.name,
                          flow.name, type(exc).__name__, exc)
                fallback = step.settings.get("fallback")
                if not isinstance(fallback, str):
                    return self._fail(state, turn, f"step {step.name} failed")
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
        return self._fail(state, turn, "runaway loop")

    def answer(self, state: FlowState, *, digits: str = "", speech: str = "") -> Turn:
        """The caller's answer (or silence) to the menu or gather the state waits at."""
        current = self.current_step(state)
        if current is None:
            return self._fail(state, Turn(), "state points at a missing step")
        flow, step = current
        if step.action not in ("menu", "gather"):
            # Not waiting for input (a stale or forged request): say where we are again.
            return self.run(state, step.name)
        digits, speech = (digits or "").strip(), (speech or "").strip()
        state.input = digits or speech
        turn = Turn()
        try:
            if step.action == "menu":
                target = self._menu_choice(step, digits, speech)
                if target is not None:
                    return self.run(state, target, turn)
            elif self._gather_accepts(step, state, digits, speech):
                nxt = step.settings.get("next")
                if nxt is None:
                    state.ended = "flow"
                    turn.end = Hangup()
                    return turn
                return self.run(state, str(nxt), turn)
            return self._retry(step, flow, state, turn, silent=not state.input)
        except Exception as exc:  # noqa: BLE001
            log.error("%s: step %s of flow %s failed on input: %s: %s", step.location,
                      step.name, flow.name, type(exc).__name__, exc)
            fallback = step.settings.get("fallback")
            if isinstance(fallback, str):
                return self.run(state, fallback, Turn())
            return self._fail(state, Turn(), f"step {step.name} failed")

    def after(self, state: FlowState, result: str) -> Turn:
        """What follows a record, dial or queue step, given how it went.

        record: "recorded"; dial: Twilio's DialCallStatus; queue: the router's
        queue_result ("connected", "overflow", "callback", "abandoned", "error").
        """
        turn = Turn()
        current = self.current_step(state)
        if current is None:
            return self._fail(state, turn, "state points at a missing step")
        flow, step = current
        settings = step.settings
        if step.action == "dial" and result in ("completed", "answered"):
            state.ended = "dial"
            turn.end = Hangup()
            return turn
        if step.action == "queue":
            if result == "abandoned":
                turn.end = Stop()
                return turn
            if result == "error":
                return self._fail(state, turn, "queue error")
            if result == "callback":
                state.ended = "callback"
                turn.outputs.append(self._speak(CALLBACK_CONFIRMATION, flow, state))
                turn.end = Hangup()
                return turn
            if result == "overflow":
                overflow = settings.get("overflow")
                if isinstance(overflow, str):
                    return self.run(state, overflow, turn)
                state.ended = "overflow"
                turn.outputs.append(self._speak(QUEUE_GOODBYE, flow, state))
                turn.end = Hangup()
                return turn
            state.ended = "connected"  # connected: after the agent hangs up
        if step.action not in ("record", "dial", "queue"):
            return self.run(state, step.name, turn)  # stale request: repeat where we are
        nxt = settings.get("next")
        if not isinstance(nxt, str):
            state.ended = state.ended or "flow"
            turn.end = Hangup()
            return turn
        return self.run(state, nxt, turn)

    def context(self, state: FlowState, flow: Flow) -> dict[str, Any]:
        """The template context of product.md §4."""
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

    # --- internals ---------------------------------------------------------

    def _reached(self, state: FlowState, turn: Turn) -> None:
        mark = f"{state.flow}.{state.step}"
        if mark not in state.seen:
            state.seen.append(mark)
            turn.reached.append((state.flow, state.step))

    def _fail(self, state: FlowState, turn: Turn, reason: str) -> Turn:
        state.ended = "error"
        turn.end = Failed(reason)
        return turn

    def _text(self, prompt: Prompt, flow: Flow, state: FlowState) -> str:
        text = str(templates.pick_prompt(prompt, state.language, flow.language))
        if "{" not in text:  # plain text: no context to build
            return text
        return templates.render(text, self.context(state, flow))

    def _voice(self, flow: Flow, state: FlowState) -> str | None:
        """The conversation's voice: set by a `language` step, else the flow's in its language."""
        if state.voice:
            return state.voice
        return flow.voice if state.language == flow.language else None

    def _speak(self, text: str, flow: Flow, state: FlowState, step: Step | None = None) -> Speak:
        settings = step.settings if step else {}
        return Speak(
            text=text,
            voice=settings.get("voice") or self._voice(flow, state),
            language=settings.get("language") or state.language,
            loop=int(settings.get("loop", 1)),  # 0: repeat until the caller acts (Twilio)
        )

    def _render_deep(self, value: Any, flow: Flow, state: FlowState) -> Any:
        """Templates inside an http step's json/headers: every string is rendered."""
        if isinstance(value, str):
            return templates.render(value, self.context(state, flow))
        if isinstance(value, dict):
            return {str(k): self._render_deep(v, flow, state) for k, v in value.items()}
        if isinstance(value, list):
            return [self._render_deep(v, flow, state) for v in value]
        return value

    def _execute(self, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        """Run one step; the next target, or None with `turn.end` set (or the flow's end)."""
        action, value, s = step.action, step.value, step.settings
        nxt = s.get("next")
        if action == "say":
            turn.outputs.append(self._speak(self._text(value, flow, state), flow, state, step))
        elif action == "play":
            source = templates.render(str(value), self.context(state, flow))
            turn.outputs.append(Play(source, loop=int(s.get("loop", 1))))
        elif action == "pause":
            turn.outputs.append(Pause(max(1, int(value))))
        elif action == "set":
            for name, tmpl in dict(value).items():
                state.vars[str(name)] = (
                    templates.render(tmpl, self.context(state, flow))
                    if isinstance(tmpl, str) else tmpl
                )
        elif action == "branch":
            ctx = self.context(state, flow)
            for case in value:
                if templates.evaluate(str(case["if"]), ctx):
                    return str(case["goto"])
            return s.get("else")
        elif action == "hours":
            schedule = self.callflows.hours[str(value)]
            status = hours_mod.status(schedule, self.clock())
            if status == "holiday" and not s.get("holiday"):
                status = "closed"
            return s.get(status)
        elif action == "language":
            state.language = str(value)
            state.voice = s.get("voice") or None
        elif action == "goto":
            return str(value)
        elif action == "hangup":
            if not isinstance(value, bool) and value:
                turn.outputs.append(self._speak(self._text(value, flow, state), flow, state, step))
            state.ended = "hangup"
            turn.end = Hangup()
        elif action == "message":
            body = self._text(value, flow, state)
            to = s.get("to")
            turn.outputs.append(SendText(
                body, templates.render(str(to), self.context(state, flow)) if to else None))
        elif action == "http":
            return self._http(step, flow, state)
        elif action in ("menu", "gather"):
            turn.end = self._ask(step, flow, state, [])
        elif action == "record":
            if value and not isinstance(value, bool):
                turn.outputs.append(self._speak(self._text(value, flow, state), flow, state, step))
            turn.end = Record(
                step=step.name,
                max_length=int(s.get("max_length") or 120),
                transcribe=bool(s.get("transcribe", False)),
                box=str(s.get("box") or flow.name),
            )
        elif action == "dial":
            numbers = value if isinstance(value, list) else [value]
            ctx = self.context(state, flow)
            caller_id = s.get("caller_id")
            turn.end = Dial(
                step=step.name,
                targets=[templates.render(str(n), ctx) for n in numbers],
                timeout=int(s.get("timeout") or 30),
                caller_id=templates.render(str(caller_id), ctx) if caller_id else None,
                record=bool(s.get("record", False)),
            )
        elif action == "queue":
            max_wait = s.get("max_wait")
            turn.end = Queue(
                step=step.name,
                queue=str(value),
                priority=int(s.get("priority") or 0),
                skills=[str(x) for x in s.get("skills") or []],
                max_wait=int(max_wait) if max_wait is not None else None,
            )
        else:
            raise StepError(f"unknown action {action!r}")
        return nxt if isinstance(nxt, str) else None

    def _http(self, step: Step, flow: Flow, state: FlowState) -> str | None:
        s = step.settings
        url = templates.render(str(step.value), self.context(state, flow))
        into = s.get("into")
        result = self.http(
            url,
            allowed_hosts=list(flow.http_hosts),
            method=str(s.get("method") or ("POST" if "json" in s else "GET")),
            json_body=self._render_deep(s.get("json"), flow, state) if "json" in s else None,
            headers=self._render_deep(s.get("headers") or {}, flow, state),
            timeout=s.get("timeout"),
            want_json=bool(into),
        )
        if result.ok:
            if into:
                state.vars[str(into)] = result.data
            nxt = s.get("next")
            return nxt if isinstance(nxt, str) else None
        log.warning("%s: http step %s of flow %s: %s", step.location, step.name, flow.name,
                    result.error)
        error = s.get("error")
        if isinstance(error, str):
            return error
        raise StepError(f"http failed ({result.error}) and the step has no `error` way out")

    def _ask(self, step: Step, flow: Flow, state: FlowState, prefix: list[Output]) -> Ask:
        s = step.settings
        prompt = list(prefix)
        if step.value and not isinstance(step.value, bool):
            prompt.append(self._speak(self._text(step.value, flow, state), flow, state, step))
        if step.action == "menu":
            keys = [option_key(k) for k in (s.get("options") or {})]
            hints: list[str] = []
            for spoken in (s.get("words") or {}).values():
                hints.extend(str(w) for w in (spoken if isinstance(spoken, list) else [spoken]))
            has_words = bool(hints)
            return Ask(
                step=step.name,
                kind="menu",
                prompt=prompt,
                input="both" if has_words else "dtmf",
                language=state.language,
                num_digits=max((len(k) for k in keys), default=1),
                finish_on="",  # the key count ends it, and "#" may be an option
                timeout=int(s.get("timeout") or DEFAULT_INPUT_TIMEOUT),
                hints=hints,
            )
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

    def _menu_choice(self, step: Step, digits: str, speech: str) -> str | None:
        options = {option_key(k): str(v) for k, v in (step.settings.get("options") or {}).items()}
        if digits:
            return options.get(digits)
        said = normalize_words(speech)
        if not said:
            return None
        if said in options:  # "2" said (or typed) aloud
            return options[said]
        padded = f" {said} "
        for target, spoken in (step.settings.get("words") or {}).items():
            for word in spoken if isinstance(spoken, list) else [spoken]:
                w = normalize_words(str(word))
                if w and (w == said or f" {w} " in padded):
                    return str(target)
        return None

    def _gather_accepts(self, step: Step, state: FlowState, digits: str, speech: str) -> bool:
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
            return False
        candidates = [value]
        squeezed = re.sub(r"[\s\-]", "", value)
        if speech and squeezed != value:
            candidates.append(squeezed)  # "1 2 3 4" spoken -> "1234"
        for candidate in candidates:
            if self._valid(s, candidate):
                into = s.get("into")
                if into:
                    state.vars[str(into)] = candidate
                state.input = candidate
                return True
        return False

    @staticmethod
    def _valid(s: dict[str, Any], value: str) -> bool:
        exact = s.get("digits")
        if exact and value.isdigit() and len(value) != int(exact):
            return False
        if s.get("min_digits") and len(value) < int(s["min_digits"]):
            return False
        if s.get("max_digits") and len(value) > int(s["max_digits"]):
            return False
        pattern = s.get("pattern")
        return not (pattern and re.fullmatch(str(pattern), value) is None)

    def _retry(self, step: Step, flow: Flow, state: FlowState, turn: Turn, *, silent: bool) -> Turn:
        """Invalid input or silence: say so and ask again, or take `fallback` after the last try."""
        s = step.settings
        state.attempts += 1
        if state.attempts >= int(s.get("attempts") or DEFAULT_ATTEMPTS):
            fallback = s.get("fallback")
            if isinstance(fallback, str):
                return self.run(state, fallback, turn)
            state.ended = "flow"
            turn.end = Hangup()
            return turn
        if silent:
            message = s.get("no_input") or DEFAULT_NO_INPUT
        elif step.action == "menu":
            message = s.get("invalid") or DEFAULT_INVALID
        else:
            message = s.get("invalid") or DEFAULT_GATHER_INVALID
        prefix: list[Output] = [self._speak(self._text(message, flow, state), flow, state, step)]
        turn.end = self._ask(step, flow, state, prefix)
        return turn
