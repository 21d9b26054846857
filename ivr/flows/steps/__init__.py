"""The registry of step types: one spec per action (see `base.StepSpec`).

`SPECS` maps each action to its spec, in the order the docs and the JSON
schema list them. Everything that used to keep a table per action asks here:
the checker (settings, channels, the action's own checks), the exit map
(`ivr.flows.exits`), the runner (how a step runs, answers and continues), the
voice engine (which continuations are answers) and the text engine (how a
text answers a step).

To add an action: write `ivr/flows/steps/<action>.py` with a `StepSpec`
subclass and `SPEC = ...`, and list it below (docs/architecture.md,
"Adding a step", has the whole recipe).
"""

from __future__ import annotations

from ivr.flows.steps import (
    branch,
    dial,
    gather,
    goto,
    hangup,
    hours,
    http,
    language,
    menu,
    message,
    pause,
    play,
    queue,
    record,
    say,
    set_,
    survey,
)
from ivr.flows.steps.base import AskingStep, StepSpec

SPECS: dict[str, StepSpec] = {spec.action: spec for spec in (
    say.SPEC, play.SPEC, pause.SPEC, menu.SPEC, gather.SPEC, set_.SPEC, branch.SPEC,
    hours.SPEC, queue.SPEC, dial.SPEC, record.SPEC, message.SPEC, http.SPEC, language.SPEC,
    goto.SPEC, survey.SPEC, hangup.SPEC,
)}

ACTIONS: tuple[str, ...] = tuple(SPECS)
"""Every action, in the documented order."""

SETTINGS: dict[str, tuple[str, ...]] = {a: tuple(s.settings) for a, s in SPECS.items()}
"""The keys each action takes besides its own, in the order messages list them."""

ALL_EXITS: frozenset[str] = frozenset(k for s in SPECS.values() for k in s.exits) | {"goto"}
"""Every setting name that is a way out of some action (for steps the checker could not read)."""

ANSWERING: frozenset[str] = frozenset(a for a, s in SPECS.items() if isinstance(s, AskingStep))
"""Actions whose step waits for the caller's keys, speech or text."""


def spec_for(action: str) -> StepSpec | None:
    """The spec of an action (None for an unknown one)."""
    return SPECS.get(action)


def asking_spec(action: str) -> AskingStep | None:
    """The spec of an action that asks the caller (menu, gather, survey), else None."""
    spec = SPECS.get(action)
    return spec if isinstance(spec, AskingStep) else None


__all__ = ["ACTIONS", "ALL_EXITS", "ANSWERING", "SETTINGS", "SPECS", "StepSpec", "asking_spec",
           "spec_for"]
