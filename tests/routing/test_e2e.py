"""End to end through the Twilio simulator: the app serves real HTTP, the simulator plays
callers and agents' phones, and the checks read the simulator's own record."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ivr.sim.people import Caller, Hangup, Phone

SERVICE = "+15005550006"
ALICE, BOB = "+15005550101", "+15005550102"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: sales
steps:
  sales:
    queue: sales
    overflow: sorry
  sorry:
    hangup: "Sorry, nobody can take your call right now."
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
  pin: "4321"
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{sales: 3}}
  pin: "1234"
"""


def queues(**overrides: Any) -> str:
    settings = {"skills": "[sales]", "strategy": "longest-idle", "ring_timeout": 5,
                "max_wait": 30, "wrap_up": 0, "max_missed": 2, "callback": "false",
                "announce": "{position: true, wait_time: true, every: 10}"}
    settings.update({k: str(v).lower() if isinstance(v, bool) else str(v)
                     for k, v in overrides.items()})
    return "sales:\n" + "".join(f"  {k}: {v}\n" for k, v in settings.items())


def folder(callflows_dir: Path, **queue_settings: Any) -> Path:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    (callflows_dir / "queues.yaml").write_text(queues(**queue_settings))
    return callflows_dir


def login(live: Any, phone: str) -> None:
    replies = live.sim.send_sms(phone, SERVICE, "ON")
    assert replies and "available" in replies[0]


def wait_until(pred: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture()
def app_live(live_factory: Any, callflows_dir: Path) -> Any:
    def make(**queue_settings: Any) -> Any:
        return live_factory(folder(callflows_dir, **queue_settings))
    return make


def test_caller_connected_to_agent_who_presses_1(app_live):
    live = app_live()
    live.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=5)
    login(live, ALICE)
    call = live.sim.place_call("+15551230001", SERVICE, Caller(talk_for=3)).wait(20)
    rec = live.sim.record
    agent_calls = rec.calls_to(ALICE)
    assert len(agent_calls) == 1
    assert agent_calls[0].sid in call.record.bridged_to
    live.sim.assert_no_errors()
    router = live.app.extensions["ivr.router"]
    wait_until(lambda: router.queue_stats("sales")["answered"] == 1)
    assert any("Sales call, waited" in s for s in live.sim.call(agent_calls[0].sid).said())
