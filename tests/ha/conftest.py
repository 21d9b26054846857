"""Fixtures of the Sentinel tests: groups of real redis-server / redis-sentinel processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ha.servers import SentinelGroup, missing_binaries


@pytest.fixture()
def sentinel_group(tmp_path: Path) -> Iterator[Callable[..., SentinelGroup]]:
    """`sentinel_group(**options) -> SentinelGroup`, started; stopped after the test.
    Skips the test when Debian's redis-server / redis-sentinel are not installed."""
    why = missing_binaries()
    if why:
        pytest.skip(why)
    started: list[SentinelGroup] = []

    def make(**options: object) -> SentinelGroup:
        group = SentinelGroup(tmp_path / f"group{len(started)}", **options)  # type: ignore[arg-type]
        started.append(group)
        return group.start()

    yield make
    for group in started:
        group.stop()
