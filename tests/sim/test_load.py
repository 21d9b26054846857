"""Many concurrent calls through gunicorn workers: the simulator keeps up and loses nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ivr.sim.harness import run_gunicorn
from ivr.sim.people import Caller
from ivr.sim.twilio import TwilioSim

from .canned import ACCOUNT_SID, AUTH_TOKEN


@pytest.mark.load
def test_two_hundred_concurrent_calls_through_gunicorn(tmp_path: Path) -> None:
    here = Path(__file__).parent
    proc = run_gunicorn("wsgi_menu:app", workers=2, env={}, cwd=here,
                        log_path=tmp_path / "gunicorn.log")
    sim = TwilioSim(proc.url, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, time_scale=0.001)
    sim.start()
    try:
        started = time.monotonic()
        calls = [sim.place_call(f"+1555{i:07d}", "+15005550006", Caller([str(1 + i % 2)]))
                 for i in range(200)]
        for c in calls:
            c.wait(60)
        elapsed = time.monotonic() - started
        for i, c in enumerate(calls):
            assert c.said() == ["Welcome.", "Press 1 or 2.", f"You chose {1 + i % 2}."], c.sid
            assert c.status == "completed"
        webhooks = sum(len(c.requests) for c in calls)
        assert webhooks == 600  # voice, menu, status for each call
        assert sim.errors == []
        print(f"\n200 calls, {webhooks} webhooks in {elapsed:.2f}s "
              f"({webhooks / elapsed:.0f} webhooks/s)")
    finally:
        sim.stop()
        proc.stop()
