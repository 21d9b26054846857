"""Per-step analytics: how many callers reached each step, and how many hung up there.

Counted per flow in one Redis hash (`keys.step_stats(flow)`), fields
`<step>:reached` and `<step>:dropped`, so the wallboard reads a whole flow's
funnel with one HGETALL.

- reached: a caller entered the step, counted once per call even when a menu
  is repeated or a loop comes back to it (a funnel counts people, not visits);
- dropped: the call ended (the caller hung up) while the flow was at that step,
  and not because the flow itself ended it (a `hangup` step, a completed
  `dial`, a queue call connected to an agent). Counted at most once per call,
  even when Twilio delivers the status callback twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from ivr import keys


class StepStats:
    """The writer side of the counters."""

    def __init__(self, store: redis.Redis) -> None:
        self.store = store

    @staticmethod
    def count_reached(pipe: redis.client.Pipeline, reached: Iterable[tuple[str, str]]) -> None:
        """Queue `reached` increments for (flow, step) pairs on the webhook's write pipeline."""
        for flow, step in reached:
            pipe.hincrby(keys.step_stats(flow), f"{step}:reached", 1)

    def count_dropped(self, state_key: str, flow: str, step: str) -> bool:
        """Count a drop at `step` once per call; True when this delivery counted it.

        HSETNX on the call's own hash is the gate: of two deliveries of the final
        status callback only one wins it. Not a Lua script on purpose: the two
        keys would sit in different Cluster slots.
        """
        if not self.store.hsetnx(state_key, "dropcounted", "1"):
            return False
        self.store.hincrby(keys.step_stats(flow), f"{step}:dropped", 1)
        return True


def step_stats(store: redis.Redis, flow: str) -> dict[str, dict[str, int]]:
    """{step: {"reached": n, "dropped": m}} for one flow (steps never reached are absent)."""
    raw: dict[str, str] = store.hgetall(keys.step_stats(flow))  # type: ignore[assignment]
    out: dict[str, dict[str, int]] = {}
    for field_name, value in raw.items():
        step, _, counter = field_name.rpartition(":")
        if counter not in ("reached", "dropped") or not step:
            continue
        out.setdefault(step, {"reached": 0, "dropped": 0})[counter] = int(value)
    return out
