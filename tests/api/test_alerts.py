"""Per-queue alert thresholds (`alerts:` in queues.yaml) in /api/queues and /api/wallboard."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ivr import keys
from ivr.api.routes import breached
from ivr.routing.records import AgentOffer
from ivr.routing.statistics import CallerCache
from tests.api.conftest import QUEUES
from tests.api.test_api import ROUTER, enqueue

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



def test_busy_agents_show_their_call(app: Flask, auth: dict[str, str]) -> None:
    """Queue, caller and talk time of the call an agent rings for or talks on (the
    wallboard's agents), from the agent's offer and the caller's record."""
    router = app.extensions[ROUTER]
    client = app.test_client()
    client.put("/api/agents/alice/status", json={"status": "break"}, headers=auth)
    sid = "CA" + "4" * 32
    enqueue(app, sid, caller="+15551230004")
    board = client.get("/api/wallboard", headers=auth).json
    assert {a["id"]: a["call"] for a in board["agents"]} == {"alice": None, "bob": None}
    assert client.get("/api/agents/alice", headers=auth).json["call"] is None  # no call: a sid

    alice = router.roster.record("alice")
    ringing = replace(alice, state="offered", offer=AgentOffer(sid, "t1", "sales", False))
    talking = replace(ringing, id="carol", state="on-call")
    idle = replace(ringing, id="dave", state="idle")
    # the caller was connected 42 s ago (as accept.lua writes it)
    db = router.env.db
    record = json.loads(db.hget(keys.acd("callers"), sid))
    record["conn"] = int((router.env.clock() - 42) * 1000)
    db.hset(keys.acd("callers"), sid, json.dumps(record))
    calls = router.statistics.calls_of([ringing, talking, idle], CallerCache(router.env))
    assert set(calls) == {"alice", "carol"}
    assert calls["alice"] == {"id": sid, "queue": "sales", "from": "+15551230004", "talk": None}
    assert calls["carol"]["from"] == "+15551230004"
    assert 41 <= calls["carol"]["talk"] <= 44
