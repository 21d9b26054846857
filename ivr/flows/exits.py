"""Every way out of a step, in one place: the checker, the graph and the engine agree on them.

A target is written `STEP` (this flow) or `FLOW.STEP` (another flow). Step
names cannot contain a dot, so the last dot splits flow from step.
"""

from __future__ import annotations

from typing import Any

from ivr.flows.model import Step

# Ways out that a setting names directly, per action, in the order they are drawn.
TARGET_SETTINGS: dict[str, tuple[str, ...]] = {
    "say": ("next",),
    "play": ("next",),
    "pause": ("next",),
    "menu": ("fallback",),
    "gather": ("next", "fallback"),
    "set": ("next",),
    "branch": ("else",),
    "hours": ("open", "closed", "holiday"),
    "queue": ("overflow", "next"),
    "dial": ("next",),
    "record": ("next",),
    "message": ("next",),
    "http": ("next", "error"),
    "language": ("next",),
    "goto": (),
    "hangup": (),
}


def option_key(key: Any) -> str:
    """Menu keys as strings: YAML reads `1:` as the number 1."""
    return str(key)


def exits(step: Step) -> list[tuple[str, str]]:
    """(label, target) for every way out of a step, in a stable order.

    Labels: a menu key ("1"), a spoken word ("sales"), the setting's name
    ("next", "fallback", "overflow", "open", ...), a branch condition
    ("if vars.vip"), or "goto". Unset optional ways out are left out.
    """
    out: list[tuple[str, str]] = []
    s = step.settings
    if step.action == "goto" and isinstance(step.value, str):
        out.append(("goto", step.value))
    if step.action == "branch" and isinstance(step.value, list):
        for case in step.value:
            if isinstance(case, dict) and isinstance(case.get("goto"), str):
                out.append((f"if {case.get('if')}", case["goto"]))
    if step.action == "menu":
        options = s.get("options")
        if isinstance(options, dict):
            for key, target in options.items():
                if isinstance(target, str):
                    out.append((option_key(key), target))
        words = s.get("words")
        if isinstance(words, dict):
            for target, spoken in words.items():
                if isinstance(spoken, list):
                    out.extend((str(word), str(target)) for word in spoken)
                elif isinstance(spoken, str):
                    out.append((spoken, str(target)))
    for name in TARGET_SETTINGS.get(step.action, ()):
        target = s.get(name)
        if isinstance(target, str):
            out.append((name, target))
    return out


def split_target(target: str, flow: str) -> tuple[str, str]:
    """'welcome' in flow 'main' -> ('main', 'welcome'); 'sms.menu' -> ('sms', 'menu')."""
    if "." in target:
        other, _, step = target.rpartition(".")
        return other, step
    return flow, target


def ends_call_when_unset(step: Step) -> list[str]:
    """Optional ways out whose absence ends the call when taken (for the loop rule and graph)."""
    s = step.settings
    ends: list[str] = []
    if step.action in ("say", "play", "pause", "set", "record", "message", "language",
                       "dial", "gather") and "next" not in s:
        ends.append("next")
    if step.action == "queue":
        ends.extend(k for k in ("overflow", "next") if k not in s)
    if step.action == "menu" and "fallback" not in s:
        ends.append("fallback")
    if step.action == "gather" and "fallback" not in s:
        ends.append("fallback")
    if step.action == "branch" and "else" not in s:
        ends.append("else")
    if step.action == "http":  # a failure without `error` ends with the flow's on_error
        ends.extend(k for k in ("next", "error") if k not in s)
    if step.action == "hangup":
        ends.append("hangup")
    return ends
