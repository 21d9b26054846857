"""Fixtures for the routing tests: a Router on the real Redis of the `r` fixture.

Twilio's REST API is replaced here by `RecordingTwilio`, which records what the
router asked for (calls placed, calls updated, texts sent) and hands out
CallSids, so unit tests can check decisions without a simulator; the
end-to-end tests drive the real HTTP path through `ivr.sim` instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from twilio.base.exceptions import TwilioRestException

from ivr.flows.model import AgentConfig, Announce, Callflows, Escalation, QueueConfig
from ivr.routing.router import Router


@dataclass
class PlacedCall:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    timeout: int


@dataclass
class RecordingTwilio:
    """Records REST requests; `fail_to` numbers make calls.create raise like Twilio would."""

    placed: list[PlacedCall] = field(default_factory=list)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    fail_to: set[str] = field(default_factory=set)
    statuses: dict[str, str] = field(default_factory=dict)  # what a fetch of a call says
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def calls(self) -> Any:
        outer = self

        class _Calls:
            def create(self, **kw: Any) -> Any:
                if kw["to"] in outer.fail_to:
                    raise TwilioRestException(400, "/Calls", "unreachable", 21217)
                sid = f"CAagent{next(outer._ids):026d}"
                outer.placed.append(PlacedCall(sid, kw["to"], kw["from_"], kw["url"],
                                               kw["status_callback"], kw["timeout"]))
                return type("Call", (), {"sid": sid})()

            def __call__(self, sid: str) -> Any:
                class _One:
                    def update(self, **kw: Any) -> None:
                        outer.updates.append((sid, kw))

                    def fetch(self) -> Any:
                        status = outer.statuses.get(sid, "in-progress")
                        return type("Call", (), {"sid": sid, "status": status})()
                return _One()

        return _Calls()

    @property
    def messages(self) -> Any:
        outer = self

        class _Messages:
            def create(self, **kw: Any) -> None:
                outer.texts.append(kw)

        return _Messages()


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def twilio() -> RecordingTwilio:
    return RecordingTwilio()


def make_callflows(
    queues: dict[str, dict[str, Any]], agents: dict[str, dict[str, Any]], version: str = "v1"
) -> Callflows:
    qs = {}
    for name, settings in queues.items():
        settings = dict(settings)
        esc = [Escalation(**e) for e in settings.pop("escalate", [])]
        if isinstance(settings.get("announce"), dict):
            settings["announce"] = Announce(**settings["announce"])
        qs[name] = QueueConfig(name=name, escalate=esc, **settings)
    ags = {aid: AgentConfig(id=aid, **a) for aid, a in agents.items()}
    return Callflows(flows={}, queues=qs, agents=ags, version=version)


@pytest.fixture()
def make_router(
    r: redis.Redis, twilio: RecordingTwilio, clock: Clock
) -> Callable[..., Router]:
    def build(queues: dict[str, dict[str, Any]], agents: dict[str, dict[str, Any]],
              **kw: Any) -> Router:
        flows = make_callflows(queues, agents)
        return Router(r, lambda: flows, twilio, public_url="http://ivr.test",  # type: ignore[arg-type]
                      clock=clock, **kw)
    return build


def agents_of(n: int, skills: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    return {f"a{i:02d}": {"name": f"Agent {i}", "phone": f"+1500556{i:04d}",
                          "skills": dict(skills or {"sales": 3})} for i in range(n)}


def enqueue(router: Router, sid: str, queue: str = "sales", priority: int = 0,
            skills: list[str] | None = None, max_wait: int | None = None) -> Any:
    return router.enqueue(
        sid, queue=queue, priority=priority, skills=skills or [], max_wait=max_wait,
        caller="+15005550000", called="+15005550006", flow="main", step="sales",
        action_url="http://ivr.test/twilio/voice/step?seq=3",
    )
