"""Small what-if days built in code, for the what-if tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis

from ivr.flows.model import AgentConfig, Callflows, Escalation, QueueConfig
from ivr.staffing.forecast import Forecast, ForecastRow
from ivr.staffing.whatif import Cell, Options, WhatIf

MONDAY = datetime(2026, 3, 2, 9, 0)


def agents(n: int, skills: dict[str, int], prefix: str = "a") -> dict[str, AgentConfig]:
    return {f"{prefix}{i:03d}": AgentConfig(id=f"{prefix}{i:03d}", name=f"Agent {i}",
                                            phone=f"+1500{len(prefix)}55{i:04d}",
                                            skills=dict(skills))
            for i in range(n)}


def single_queue(store: redis.Redis, *, intervals: int, calls: float = 100, aht: float = 180,
                 agents_n: int = 14, patience: float | None = None, seed: int = 1,
                 ring_s: float = 0.0, callback_share: float = 0.0,
                 callback_answer: float = 0.8, **queue: Any) -> tuple[list[Cell], WhatIf]:
    """One queue, one skill, longest-idle, no wrap-up, no max wait: the Erlang C model."""
    settings: dict[str, Any] = {"skills": ["sales"], "strategy": "longest-idle", "wrap_up": 0,
                                "max_wait": 0, "service_level": 20, **queue}
    escalate = [Escalation(**e) for e in settings.pop("escalate", [])]
    config = QueueConfig(name="sales", escalate=escalate, **settings)
    flows = Callflows(flows={}, queues={"sales": config},
                      agents=agents(agents_n, {"sales": 1}), version="test")
    rows = [ForecastRow(MONDAY + timedelta(minutes=30 * i), "sales", calls, aht, patience,
                        callback_share)
            for i in range(intervals)]
    day = WhatIf(store, flows, Forecast(rows, 1800), {},
                 Options(seed=seed, ring_s=ring_s, callback_answer=callback_answer))
    return day.run(), day


def totals(cells: list[Cell]) -> dict[str, float]:
    offered = sum(c.offered for c in cells)
    answered = sum(c.answered for c in cells)
    return {
        "offered": offered,
        "answered": answered,
        "service_level": sum(c.answered_in_target for c in cells) / offered,
        "asa": sum(c.wait_sum for c in cells) / answered,
        "abandon": sum(c.abandoned for c in cells) / offered,
        "occupancy": sum(c.busy_s for c in cells) / sum(c.staffed_s for c in cells),
    }
