"""The call's state as the desk reads it during hold and a consult, and the wrap-up of an
agent who handed the call on: the JSON API over real HTTP, through desk sessions opened
by texted links, against the Twilio simulator.

Regressions: the call's context said nothing of hold or a consult (the desk's Hold button
never turned into Resume, and the consult's buttons never showed); an agent who completed
a warm transfer, or sent the caller back to a queue, could not file their wrap-up (403,
409: the caller's agent was someone else, or nobody yet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from ivr.sim.people import Caller, Phone
from tests.browser import wait_until
from tests.desk.conftest import desk_session

TOKEN = "desk-controls-token"
SERVICE = "+15005550006"
ALICE, BOB = "+15005550101", "+15005550102"
CALLER = "+15551230088"
HOLD_MUSIC = "http://music.example/sales.mp3"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: sales
steps:
  sales:
    queue: sales
"""

QUEUES = f"""
sales:
  skills: [sales]
  ring_timeout: 20
  wrap_up: 300
  hold_music: "{HOLD_MUSIC}"
  dispositions: [sale, quote, no-sale]
support:
  skills: [support]
  wrap_up: 300
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
"""


class Desks:
    """Alice's and Bob's desk sessions and their phones, a caller connected with Alice."""

    def __init__(self, live: Any) -> None:
        self.live = live
        self.sim = live.sim
        self.sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=None)
        self.sim.phones[BOB] = Phone(hangup_after=None)
        self.alice = desk_session(live, ALICE)
        self.bob = desk_session(live, BOB)
        for who, session in (("alice", self.alice), ("bob", self.bob)):
            answer = session.put(f"{live.url}/api/agents/{who}/status",
                                 json={"status": "available"})
            assert answer.status_code == 200, answer.text
        self.call = self.sim.place_call(CALLER, SERVICE, Caller())
        self.sid = self.call.sid
        wait_until("Alice's phone rings", lambda: bool(self.sim.calls_to(ALICE)))
        self.alice_leg = self.sim.calls_to(ALICE)[0].sid
        wait_until("the caller hears Alice", lambda: self.sim.hears(self.sid) == {self.alice_leg})

    def url(self, suffix: str = "") -> str:
        return f"{self.live.url}/api/calls/{self.sid}{suffix}"

    def context(self, session: requests.Session) -> dict[str, Any]:
        answer = session.get(self.url())
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def post(self, session: requests.Session, suffix: str, body: Any = None) -> Any:
        return session.post(self.url(suffix), json=body if body is not None else {})

    def admin(self, path: str) -> Any:
        return requests.get(self.live.url + path,
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def start(live_factory: Any, callflows_dir: Path) -> Desks:
    (callflows_dir / "main.yaml").write_text(MAIN)
    (callflows_dir / "queues.yaml").write_text(QUEUES)
    (callflows_dir / "agents.yaml").write_text(AGENTS)
    return Desks(live_factory(callflows_dir, admin_token=TOKEN))


def test_the_context_says_held_and_consulting(live_factory: Any, callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    assert (d.context(d.alice)["held"], d.context(d.alice)["consult"]) == (False, None)
    assert d.post(d.alice, "/hold", {"hold": True}).status_code == 200
    assert d.context(d.alice)["held"] is True
    wait_until("hold music", lambda: d.sim.hears(d.sid) == {f"hold-music:{HOLD_MUSIC}"})
    assert d.post(d.alice, "/hold", {"hold": False}).status_code == 200
    assert d.context(d.alice)["held"] is False
    # Bob's desk may not read the call before he is part of it
    assert d.bob.get(d.url()).status_code == 403

    assert d.post(d.alice, "/transfer", {"to": "agent:bob", "warm": True}).status_code == 200
    consult = {"to": "agent:bob", "agent": "bob", "by": "alice", "three_way": False}
    mine = d.context(d.alice)
    assert (mine["held"], mine["consult"], mine["agent"]) == (True, consult, "alice")
    # the consulted agent's desk reads the same call: who asks them, about whom
    theirs = d.context(d.bob)
    assert (theirs["consult"], theirs["agent"], theirs["number"]) == (consult, "alice", CALLER)
    wait_until("Bob answers", lambda: bool(d.sim.calls_to(BOB))
               and d.sim.hears(d.alice_leg) == {d.sim.calls_to(BOB)[0].sid})
    assert d.post(d.alice, "/transfer/complete", {"three_way": True}).status_code == 200
    three = d.context(d.alice)
    assert three["consult"] == {**consult, "three_way": True} and three["held"] is False
    assert d.post(d.alice, "/transfer/cancel").status_code == 200
    back = d.context(d.alice)
    assert (back["consult"], back["held"]) == (None, False)
    bob_leg = d.sim.calls_to(BOB)[0].sid
    wait_until("Bob's leg ends", lambda: d.sim.call(bob_leg).status == "completed")
    assert d.sim.hears(d.sid) == {d.alice_leg}


def test_the_agent_who_completed_a_warm_transfer_files_their_wrap_up(
        live_factory: Any, callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    assert d.post(d.alice, "/transfer", {"to": "agent:bob", "warm": True}).status_code == 200
    wait_until("Bob answers", lambda: bool(d.sim.calls_to(BOB))
               and d.sim.hears(d.alice_leg) == {d.sim.calls_to(BOB)[0].sid})
    assert d.post(d.alice, "/transfer/complete", {"three_way": False}).status_code == 200
    wait_until("Alice wraps up", lambda: d.alice.get(
        f"{d.live.url}/api/agents/alice").json()["state"] == "wrap-up")
    assert d.context(d.alice)["agent"] == "bob"
    filed = d.post(d.alice, "/wrapup", {"disposition": "quote", "notes": "Bob takes it"})
    assert filed.status_code == 200, filed.text
    assert filed.json() == {"sid": d.sid, "agent": "alice", "disposition": "quote",
                            "notes": "Bob takes it", "wrap_up_ended": True}
    alice = d.alice.get(f"{d.live.url}/api/agents/alice").json()
    assert (alice["state"], alice["call"]) == ("idle", None)
    # Bob, still on the call, is untouched by Alice's wrap-up
    assert d.bob.get(f"{d.live.url}/api/agents/bob").json()["state"] == "on-call"
    again = d.post(d.alice, "/wrapup", {"disposition": "sale"})
    assert again.status_code in (403, 409)  # her part is over
    d.call.hang_up()
    d.call.wait(10)

    def record() -> dict[str, Any] | None:
        found = [c for c in d.admin(f"/api/contacts?number=%2B{CALLER[1:]}").json()
                 if c["id"] == d.sid]
        return found[0] if found and found[0]["disposition"] else None

    wait_until("the contact record", record)
    assert (record() or {}).get("notes") == "Bob takes it"
    events = [e for e in d.admin("/api/events?count=1000").json()
              if e["type"] == "disposition"]
    assert [(e["agent"], e["disposition"]) for e in events] == [("alice", "quote")]


def test_the_agent_who_sent_the_caller_back_to_a_queue_files_their_wrap_up(
        live_factory: Any, callflows_dir: Path) -> None:
    d = start(live_factory, callflows_dir)
    assert d.bob.put(f"{d.live.url}/api/agents/bob/status",
                     json={"status": "break"}).status_code == 200  # nobody for support
    assert d.post(d.alice, "/transfer", {"to": "queue:support"}).status_code == 200
    wait_until("the caller waits again", lambda: d.sim.hears(d.sid) == {"queue-wait"})
    filed = d.post(d.alice, "/wrapup", {"disposition": "no-sale"})
    assert filed.status_code == 200, filed.text
    assert filed.json()["agent"] == "alice" and filed.json()["wrap_up_ended"] is True
    assert d.alice.get(f"{d.live.url}/api/agents/alice").json()["state"] == "idle"
    # the admin still speaks for the caller's agent: none now
    answer = requests.post(d.url("/wrapup"), json={"disposition": "sale"},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 409
