"""A live app and the simulator for supervision and recording: a caller connected with an
agent, a supervisor's phone, and a JSON client as the admin or a desk session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import g, request

from ivr.sim.people import Caller, Phone
from tests.waiting import wait_until

TOKEN = "supervision-test-token"
SERVICE = "+15005550006"
ALICE, SAM, BOB = "+15005550101", "+15005550150", "+15005550102"
CALLER = "+15551230001"

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

QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 5
  max_wait: 600
  wrap_up: 0
  hold_music: "http://music.example/sales.mp3"
  record: true
  record_notice: "This call may be recorded for quality."
"""

AGENTS = f"""
alice:
  name: Alice Jones
  phone: "{ALICE}"
  skills: {{sales: 5}}
bob:
  name: Bob Smith
  phone: "{BOB}"
  skills: {{support: 4}}
sam:
  name: Sam Lee
  phone: "{SAM}"
  role: supervisor
  skills: {{}}
"""


class Live:
    """The live app, the simulator, and a JSON client as the admin or an agent's desk."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.sim = live.sim
        self.router = live.app.extensions["ivr.router"]
        self.client = live.app.test_client()

    def send(self, method: str, path: str, body: Any = None, *,
             agent: str | None = None) -> Any:
        headers = {"X-Test-Desk": agent} if agent else {"Authorization": f"Bearer {TOKEN}"}
        if body is None:
            return self.client.open(path, method=method, headers=headers)
        return self.client.open(path, method=method, json=body, headers=headers)

    def post(self, path: str, body: Any = None, *, agent: str | None = None) -> Any:
        return self.send("POST", path, body, agent=agent)

    def connected_call(self) -> tuple[str, str]:
        """A caller connected with alice: (caller's CallSid, alice's leg)."""
        sim = self.sim
        sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=1000)
        sim.phones[SAM] = Phone(hangup_after=1000)
        assert "available" in sim.send_sms(ALICE, SERVICE, "ON")[0]
        call = sim.place_call(CALLER, SERVICE, Caller(talk_for=1000))
        wait_until(lambda: bool(sim.record.calls_to(ALICE)), 10)
        leg = sim.record.calls_to(ALICE)[0].sid
        wait_until(lambda: sim.hears(call.sid) == {leg}
                   and self.router.caller(call.sid).joined, 10)
        return call.sid, leg

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.router.events() if e["type"] == kind]


@pytest.fixture()
def live(live_factory: Any, callflows_dir: Path) -> Iterator[Live]:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    app = live_factory(callflows_dir, admin_token=TOKEN)

    @app.app.before_request
    def as_desk() -> None:  # what the desk's session check sets (ivr/api/actor.py)
        agent = request.headers.get("X-Test-Desk")
        if agent:
            g.desk_agent = agent

    yield Live(app)
    for call in app.sim.live_calls():
        call.hang_up()
