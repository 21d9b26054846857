"""The what-if against the textbook: on Erlang's own assumptions it must give Erlang's answers.

One queue, one skill, longest-idle, no wrap-up, no ring, Poisson arrivals and
exponential talk: the M/M/N queue of Erlang C (and, with exponential patience,
the M/M/N+M queue of Erlang A), run through the real router for 20,000
callers (200 half-hours of 100 calls, 180 s talk: 10 Erlangs on 14 agents, the
reference of docs/staffing.md). Slow: marked `load` (a 400-call version runs
in the default suite, tests/staffing/test_whatif.py).
"""

from __future__ import annotations

import pytest
import redis

from ivr.staffing.erlang import performance
from tests.staffing.whatif_helpers import single_queue, totals

pytestmark = [pytest.mark.load, pytest.mark.timeout(1800)]


def test_erlang_c_over_20000_calls(r: redis.Redis) -> None:
    cells, _ = single_queue(r, intervals=200)
    got = totals(cells)
    expected = performance(14, 10.0, 180, 20)  # SL 0.888, ASA 7.8 s, occupancy 0.714
    print("Erlang C what-if:", {k: round(v, 4) for k, v in got.items()})
    assert got["offered"] == pytest.approx(20_000, rel=0.03)
    assert got["answered"] == got["offered"]
    assert got["service_level"] == pytest.approx(expected.service_level, abs=0.03)
    assert got["asa"] == pytest.approx(expected.asa_s, rel=0.25)
    assert got["occupancy"] == pytest.approx(expected.occupancy, abs=0.02)


def test_erlang_a_over_20000_calls(r: redis.Redis) -> None:
    cells, _ = single_queue(r, intervals=200, agents_n=12, patience=120)
    got = totals(cells)
    expected = performance(12, 10.0, 180, 20, patience_s=120)  # abandons 0.062
    print("Erlang A what-if:", {k: round(v, 4) for k, v in got.items()})
    assert got["abandon"] == pytest.approx(expected.p_abandon, abs=0.01)
    assert got["service_level"] == pytest.approx(expected.service_level, abs=0.03)
    assert got["asa"] == pytest.approx(expected.asa_s, rel=0.25)
    assert got["occupancy"] == pytest.approx(expected.occupancy, abs=0.02)
