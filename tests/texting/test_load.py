"""How long one text turn takes through the whole stack (simulator -> HTTP -> app -> Redis),
and that many texters at once keep their own conversations. Run with `-m load`."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import SERVICE

Live = Any


@pytest.mark.load
def test_many_texters_at_once(live: Callable[..., Live]) -> None:
    lv = live(sms_rate_limit=1000)
    sim = lv.sim
    texters = [f"+1415555{n:04d}" for n in range(40)]
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def converse(number: str) -> None:
        script = [("hi", "Hi "), ("order", "What is your"), ("111222", "Order 111222")]
        for _ in range(3):
            for body, expected in script:
                started = time.perf_counter()
                got = sim.send_sms(number, SERVICE, body)
                elapsed = time.perf_counter() - started
                with lock:
                    timings.append(elapsed)
                    if not got or not got[0].startswith(expected):
                        failures.append(f"{number} {body!r}: {got}")

    threads = [threading.Thread(target=converse, args=(n,)) for n in texters]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    wall = time.perf_counter() - started
    assert not failures, failures[:5]
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95)]
    print(f"\n{len(timings)} texts from {len(texters)} texters in {wall:.1f}s "
          f"({len(timings) / wall:.0f}/s); p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    assert p95 < 2.0
    sim.assert_no_errors()
