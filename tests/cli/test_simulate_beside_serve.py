"""`ivr simulate` beside a running `ivr serve --simulated`: one set of data, one wallboard.

Both commands run as subprocesses, each reading and writing as in two terminals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from ivr.store import ServerRecord

from .procs import Proc, free_port, ivr_env, start_serve, valkey_servers

T = TypeVar("T")
CALLER = "+15551230000"
ALICE = "+15005550101"


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    yield d
    for proc in valkey_servers(d):  # never leave a server behind, even on failure
        proc.kill()


def test_simulated_caller_shows_on_the_wallboard_and_rings_the_agent_made_available(
    data_dir: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(data_dir, port, "--simulated", "--workers", "2")
    simulate: Proc | None = None
    try:
        record = ServerRecord.read(data_dir)
        assert record is not None and record.simulated and record.url == url
        simulate = Proc(["simulate", "--open", "--time-scale", "0.05"], ivr_env(data_dir),
                        stdin=True)
        simulate.expect(f"beside the server at {url}")
        # Nobody was logged in: on break, so the caller waits instead of overflowing at once.
        simulate.expect("every agent is now on break")
        simulate.expect("keys or words")  # the main menu, whatever the hour (--open)
        simulate.type("1")  # sales
        simulate.expect("⏳ on hold")

        def waiting() -> list[dict[str, object]]:
            board = requests.get(f"{url}/api/wallboard", timeout=10).json()
            return [w for w in board["waiting"] if w["from"] == CALLER]

        # (Polled: a worker that never saw this queue's line may lag by its 1 s cache.)
        seen = _wait_for(waiting, "the simulated caller on /api/wallboard")
        assert seen[0]["queue"] == "sales" and seen[0]["state"] == "waiting"

        # Available through the API (what the wallboard's button does): her phone rings here.
        agent = requests.put(f"{url}/api/agents/alice/status", json={"status": "available"},
                             timeout=10).json()
        assert agent["status"] == "available"
        simulate.expect(f"📞 {ALICE} (Alice Jones) rings, call from")
        simulate.type("a")
        simulate.expect(f"📞 {ALICE} (Alice Jones) keys [1]:")
        simulate.type("")  # the key the whisper asks for
        simulate.expect(f"🔗 connected to {ALICE}")

        def alice() -> dict[str, object]:
            agents = requests.get(f"{url}/api/agents", timeout=10).json()
            return next(a for a in agents if a["id"] == "alice")

        _wait_for(lambda: alice()["state"] == "on-call", "alice on-call on the server")
        assert waiting() == []
        simulate.type("/hangup")
        assert simulate.wait(60) == 0, simulate.output
        assert "📴 call ended (completed)" in simulate.output
    finally:
        if simulate is not None:
            simulate.kill()
        out = serve.output
        serve.interrupt()
    # The server said once (not once per worker) what it loaded, and what to do next.
    assert out.count("Call flows loaded from") == 1, out
    assert f"Wallboard: {url}/wallboard" in out
    assert "SIMULATED" in out and "ivr simulate" in out
    assert ServerRecord.read(data_dir) is None  # Ctrl-C removed the record


def test_simulate_runs_on_its_own_beside_a_server_that_calls_twilio(data_dir: Path) -> None:
    """A server started without --simulated would ring real phones: no attaching to it."""
    port = free_port()
    serve = start_serve(data_dir, port, "--workers", "1")
    try:
        sim = Proc(["simulate", "--open", "--time-scale", "0.02"], ivr_env(data_dir),
                   stdin=True)
        sim.expect("started without --simulated")
        sim.expect("keys or words")
        sim.type("/hangup")
        assert sim.wait(60) == 0, sim.output
        assert "beside the server" not in sim.output
    finally:
        out = serve.output
        serve.interrupt()
    assert "IVR_PUBLIC_URL is not set" in out
    assert "ivr simulate --open" in out


def _wait_for(probe: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """The first truthy answer of `probe`, polled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
