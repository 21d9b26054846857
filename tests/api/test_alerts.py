"""Per-queue alert thresholds (`alerts:` in queues.yaml) in /api/queues and /api/wallboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ivr.api.routes import breached
from tests.api.conftest import QUEUES
from tests.api.test_api import enqueue

ALERTS = QUEUES.replace("  service_level: 20\n",
                        "  service_level: 20\n  alerts: {waiting: 2, longest_wait: 3600}\n")


def test_queues_show_their_thresholds_and_which_are_past(
        make_app: Callable[..., Flask], callflows_dir: Path, auth: dict[str, str]) -> None:
    (callflows_dir / "queues.yaml").write_text(ALERTS)
    app = make_app()
    client = app.test_client()
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=auth)

    def sales(path: str) -> dict[str, Any]:
        rows = client.get(path, headers=auth).json
        rows = rows["queues"] if isinstance(rows, dict) else rows
        return {q["queue"]: q for q in rows}["sales"]

    enqueue(app, "CA" + "1" * 32)
    first = sales("/api/queues")
    assert first["alerts"] == {"waiting": 2, "longest_wait": 3600}
    assert first["waiting"] == 1 and first["alerting"] == []
    enqueue(app, "CA" + "2" * 32, caller="+15551230002")
    for path in ("/api/queues", "/api/wallboard"):
        assert sales(path)["alerting"] == ["waiting"], path
    support = client.get("/api/queues/support", headers=auth).json
    assert support["alerts"] == {} and support["alerting"] == []


@pytest.mark.parametrize(("figures", "past"), [
    ({"waiting": 9, "longest_wait": 119.9, "service_level": 0.8, "abandon_rate": 0.05}, []),
    ({"waiting": 10, "longest_wait": 120, "service_level": 0.79, "abandon_rate": 0.06},
     ["longest_wait", "waiting", "service_level", "abandon_rate"]),
    # no calls yet today: the ratios are null, which is past no threshold
    ({"waiting": 0, "longest_wait": 0.0, "service_level": None, "abandon_rate": None}, []),
])
def test_each_threshold_and_its_direction(figures: dict[str, Any], past: list[str]) -> None:
    limits = {"longest_wait": 120, "waiting": 10, "service_level": 0.8, "abandon_rate": 0.05}
    assert breached({**figures, "alerts": limits}) == past
    assert breached({**figures, "alerts": {}}) == []
