"""What a step type is: one `StepSpec` per action, and the kinds of settings it takes.

A spec says, in one place, everything the rest of the server needs to know
about an action: its value and settings (each with the checker rule that
applies), its ways out, whether it waits for the caller, which channels carry
it, the checks that span several settings, and how the runner executes it.
The checker, the exit map, the runner and both engines ask the registry
(`ivr.flows.steps.SPECS`) instead of keeping tables of their own.

Specs never import the checker or the runner: the checker hands its toolkit
(`ck`, see `ivr.flows.checker.values.Values`) to `check`, and the runner hands
itself (`rt`) to `run`, so the import graph stays one-way (specs below both).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ivr.flows.model import Flow, Step
from ivr.flows.model import Prompt as PromptText
from ivr.flows.outputs import Ask, Turn
from ivr.flows.state import FlowState
from ivr.flows.yamlsrc import value_loc

if TYPE_CHECKING:
    from ivr.flows.checker.flows import FlowChecks, FlowInfo
    from ivr.flows.runner import Runner

VOICE, SMS = "voice", "sms"
CHANNELS = (VOICE, SMS)
ALL_CHANNELS = frozenset(CHANNELS)
VOICE_ONLY = frozenset({VOICE})
MENU_KEYS = tuple("0123456789*#")  # the keys of a phone's keypad


def option_key(key: Any) -> str:
    """Menu keys as strings: YAML reads `1:` as the number 1."""
    return str(key)


def split_target(target: str, flow: str) -> tuple[str, str]:
    """'welcome' in flow 'main' -> ('main', 'welcome'); 'sms.menu' -> ('sms', 'menu').

    A target is written `STEP` (this flow) or `FLOW.STEP` (another flow). Step
    names cannot contain a dot, so the last dot splits flow from step.
    """
    if "." in target:
        other, _, step = target.rpartition(".")
        return other, step
    return flow, target


class StepError(Exception):
    """A fault inside one step (bad template at run time, a missing name, a failed call):
    the runner takes the step's `fallback`, or answers the flow's `on_error`."""


def normalize_words(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: "Sales, please!" -> "sales please"."""
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith(("P", "S")) else ch
        for ch in unicodedata.normalize("NFKC", text).casefold()
    )
    return " ".join(cleaned.split())


_SQUEEZE = re.compile(r"[\s\-().]")


def squeeze(text: str) -> str:
    """"555-12 34." -> "5551234": what a texter types around digits."""
    return _SQUEEZE.sub("", text)


def is_keypad(text: str) -> bool:
    """Only keys of a phone's keypad (and at least one)."""
    return bool(text) and all(ch in MENU_KEYS for ch in text)


def next_of(step: Step) -> str | None:
    """The step's `next`, or None when it has none (the call ends there)."""
    nxt = step.settings.get("next")
    return nxt if isinstance(nxt, str) else None


# --- settings ---------------------------------------------------------------------------


class Setting:
    """One key of a step (the action's own value or one of its settings).

    `check` applies the checker's rule for this kind of value through the
    checker's toolkit; `Custom` settings are checked by the spec's `check`.
    """

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        """Report what is wrong with `body[key]` (called only when the key is present)."""


class Custom(Setting):
    """Checked by the spec's own `check` (its shape needs more than one rule)."""


@dataclass(frozen=True)
class Prompt(Setting):
    """A prompt: text or {language: text}, every text a template (`true` where allowed)."""

    allow_true: bool = False
    required: bool = True

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.prompt(info.file, body, key, allow_true=self.allow_true, required=self.required)


@dataclass(frozen=True)
class Int(Setting):
    """A whole number from `lo` to `hi` (no upper bound when `hi` is None)."""

    lo: int
    hi: int | None = None

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.int_in(info.file, body, key, self.lo, self.hi)


class Bool(Setting):
    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.boolean(info.file, body, key)


class Text(Setting):
    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.text(info.file, body, key)


class Voice(Setting):
    """A Twilio voice: man, woman, alice, Polly.NAME or Google.LANG-VARIANT."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.voice(info.file, body, key)


class Language(Setting):
    """A language code of Twilio's <Say> (en-US, es-MX, ...)."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.language(info.file, value_loc(info.file, body, key), body[key])


class Target(Setting):
    """A way out: STEP or FLOW.STEP, resolved once every flow is read."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.target(info, step, body, key, key)


class Variable(Setting):
    """The name of a flow variable that the step sets (`into`)."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.variable(info.file, body, key)


class Word(Setting):
    """A name made of letters, digits, _ and - (a voicemail box)."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.word(info.file, body, key)


class Media(Setting):
    """A file of recordings/ or an http(s) URL."""

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        if ck.expect(info.file, body, key, isinstance(body[key], str),
                     "a file name in recordings/ or a URL"):
            ck.media(info.file, body, key)


@dataclass(frozen=True)
class Phone(Setting):
    """A phone number (E.164; `sip:` and `whatsapp:` where allowed; a template if allowed)."""

    sip: bool = False
    whatsapp: bool = False
    template: bool = False

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any, key: str) -> None:
        ck.phone(info.file, body, key, sip=self.sip, whatsapp=self.whatsapp,
                 template=self.template)


SPEAKING: dict[str, Setting] = {"voice": Voice(), "language": Language()}
"""The settings of every step that speaks: they apply to that step only."""

ASKING: dict[str, Setting] = {"attempts": Int(1, 10), "invalid": Prompt(), "no_input": Prompt(),
                              "timeout": Int(1, 60)}
"""The settings of every step that asks: how often, what to say on a miss, how long to wait."""


# --- the spec -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """A valid answer to a step that asks: where the conversation goes (None: it ends)."""

    target: str | None


class StepSpec:
    """One action of the call-flow language. Subclass it once per action (see the
    "Adding a step" section of docs/architecture.md)."""

    action: ClassVar[str]
    value: ClassVar[Setting]  # the action key's own value
    settings: ClassVar[dict[str, Setting]]  # the other keys, in the order messages list them
    channels: ClassVar[frozenset[str]] = ALL_CHANNELS
    waits: ClassVar[bool] = False  # waits for the caller or another party (the loop rule)
    answers: ClassVar[bool] = False  # takes the caller's keys, speech or text (Runner.answer)
    hands_over: ClassVar[bool] = False  # waits for the result of a hand-over (Runner.after)
    ends_call: ClassVar[bool] = False  # always ends the call (hangup)
    unset_ends: ClassVar[tuple[str, ...] | None] = None  # None: every way out ends when unset

    @property
    def exits(self) -> tuple[str, ...]:
        """The settings that name a way out, in the order they are drawn."""
        return tuple(k for k, s in self.settings.items() if isinstance(s, Target))

    @property
    def ends_when_unset(self) -> tuple[str, ...]:
        """Ways out whose absence ends the call when taken: `unset_ends`, or every way out."""
        return self.exits if self.unset_ends is None else self.unset_ends

    def value_exits(self, step: Step) -> list[tuple[str, str]]:
        """Ways out written in the action's value or in a mapping (goto, branch, menu)."""
        return []

    def check(self, ck: FlowChecks, info: FlowInfo, step: Step, body: Any) -> None:
        """Rules that span settings; each setting's own rule has run already."""

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        """Execute the step: add outputs to `turn`, or set `turn.end`; return the next target
        (None with no `turn.end`: the flow ends here)."""
        raise NotImplementedError(self.action)

    def after(self, rt: Runner, step: Step, flow: Flow, state: FlowState, result: str,
              turn: Turn) -> Turn:
        """How a hand-over went (record, dial, queue): where the call goes on."""
        raise NotImplementedError(self.action)


class AskingStep(StepSpec):
    """A step that asks the caller and waits for keys, speech or a text (menu, gather, survey)."""

    waits = True
    answers = True
    default_invalid: ClassVar[str] = "Sorry, that is not valid."

    def run(self, rt: Runner, step: Step, flow: Flow, state: FlowState, turn: Turn) -> str | None:
        turn.end = rt.ask(step, flow, state, [])
        return None

    def ask(self, rt: Runner, step: Step, flow: Flow, state: FlowState,
            prompt: list[Any]) -> Ask:
        """The question, with `prompt` (a retry message, then the step's own prompt) spoken."""
        raise NotImplementedError(self.action)

    def accept(self, rt: Runner, step: Step, flow: Flow, state: FlowState, digits: str,
               speech: str) -> Accepted | None:
        """The caller's answer (stripped; both empty on silence), or None when not valid."""
        raise NotImplementedError(self.action)

    def invalid(self, step: Step) -> PromptText:
        """What a caller hears after an answer that is not valid."""
        text: PromptText = step.settings.get("invalid") or self.default_invalid
        return text

    def text_input(self, step: Step, text: str) -> tuple[str, str]:
        """A text message as (digits, speech), the way Runner.answer takes a voice answer."""
        return "", text
