"""Fixtures for the reports tests: a Router on a hand-moved clock (the routing tests'
helpers) with the reports' contact store and interval counters beside it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from ivr.reports.contacts import ContactStore
from ivr.reports.intervals import Reports
from ivr.routing.router import Router
from tests.routing.conftest import Clock, RecordingTwilio, make_callflows


def yesterday_8am() -> float:
    """08:00 UTC yesterday: a quarter-hour boundary inside what reports keep (retention)."""
    return (time.time() // 86_400 - 1) * 86_400 + 8 * 3600


@pytest.fixture()
def clock() -> Clock:
    return Clock(yesterday_8am())


@pytest.fixture()
def twilio() -> RecordingTwilio:
    return RecordingTwilio()


@pytest.fixture()
def setup(r: redis.Redis, twilio: RecordingTwilio, clock: Clock
          ) -> Callable[..., tuple[Router, Reports]]:
    def build(queues: dict[str, dict[str, Any]], agents: dict[str, dict[str, Any]]
              ) -> tuple[Router, Reports]:
        flows = make_callflows(queues, agents)
        router = Router(r, lambda: flows, twilio,  # type: ignore[arg-type]
                        public_url="http://ivr.test", clock=clock)
        contacts = ContactStore(r, retention_days=90, clock=clock)
        return router, Reports(r, lambda: flows, contacts, retention_days=90, clock=clock)
    return build
