"""Every way out of a step, in one place: the checker, the graph and the engine agree on them.

The ways out of each action are declared by its spec (`ivr.flows.steps`): the
settings that name a step (`next`, `fallback`, `overflow`, ...), those written in
the action's value or a mapping (`goto`, `branch` cases, `menu` options and
words), and which of them end the call when left unset.

A target is written `STEP` (this flow) or `FLOW.STEP` (another flow). Step
names cannot contain a dot, so the last dot splits flow from step.
"""

from __future__ import annotations

from ivr.flows.model import Step
from ivr.flows.steps import spec_for
from ivr.flows.steps.base import option_key, split_target

__all__ = ["ends_call_when_unset", "exits", "option_key", "split_target"]


def exits(step: Step) -> list[tuple[str, str]]:
    """(label, target) for every way out of a step, in a stable order.

    Labels: a menu key ("1"), a spoken word ("sales"), the setting's name
    ("next", "fallback", "overflow", "open", ...), a branch condition
    ("if vars.vip"), or "goto". Unset optional ways out are left out.
    """
    spec = spec_for(step.action)
    if spec is None:
        return []
    out = spec.value_exits(step)
    for name in spec.exits:
        target = step.settings.get(name)
        if isinstance(target, str):
            out.append((name, target))
    return out


def ends_call_when_unset(step: Step) -> list[str]:
    """Optional ways out whose absence ends the call when taken (for the loop rule and graph)."""
    spec = spec_for(step.action)
    if spec is None:
        return []
    ends = [name for name in spec.ends_when_unset if name not in step.settings]
    if spec.ends_call:
        ends.append(step.action)
    return ends
