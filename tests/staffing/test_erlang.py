"""Erlang B, C and A against published values and an independent brute force."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.staffing import (
    erlang_a_performance,
    erlang_b,
    erlang_c,
    erlang_c_performance,
    performance,
    required_agents,
    rostered,
    traffic_of,
)
from tests.staffing.bruteforce import erlang_c_by_chain, measures, stationary

FIELDS = ("p_wait", "p_abandon", "service_level", "asa_s", "avg_wait_s")


# --- the product's reference -----------------------------------------------------


def test_reference_100_calls_in_30_minutes() -> None:
    """100 calls in 30 min, 180 s handle time, 80 % within 20 s → 14 agents."""
    s = required_agents(calls=100, interval_s=1800, aht_s=180, target_s=20, level=0.8)
    p = s.performance
    assert p.model == "erlang_c"
    assert p.traffic == 10.0
    assert s.agents == 14
    assert f"{p.service_level:.3f}" == "0.888"
    assert f"{p.asa_s:.1f}" == "7.8"
    assert f"{p.occupancy:.3f}" == "0.714"
    assert f"{p.p_wait:.3f}" == "0.174"
    assert s.rostered == 14
    # 14 is the fewest: 13 agents miss the target.
    assert erlang_c_performance(13, 10.0, 180, 20).service_level < 0.8


# --- published Erlang C values, each also checked on the M/M/N chain ---------------


# The R package ErlangC 0.1.0 on CRAN (Damonsoul, 2024), README and reference
# manual example `erlang_c(100 calls, 30 min, 180 s, 20 s, n)`: traffic 10 Erlangs;
# n = 14 gives wait probability 0.1741319, service level 0.88835 and average
# speed of answer 7.83593701177724 s; n = 11 gives 0.6821182 and 0.3896138.
@pytest.mark.parametrize(("agents", "p_wait", "service_level"), [
    (14, 0.1741319, 0.88835),
    (11, 0.6821182, 0.3896138),
])
def test_published_erlang_c_cran_erlangc(agents: int, p_wait: float,
                                          service_level: float) -> None:
    p = erlang_c_performance(agents, 10.0, 180, 20)
    assert p.p_wait == pytest.approx(p_wait, abs=5e-8)
    assert p.service_level == pytest.approx(service_level, abs=5e-6)
    assert erlang_c_by_chain(agents, 10.0) == pytest.approx(p_wait, abs=5e-8)
    brute = measures(agents, 10.0, 180, 20, None)
    assert brute.service_level == pytest.approx(service_level, abs=5e-6)
    if agents == 14:
        assert p.asa_s == pytest.approx(7.83593701177724, rel=1e-12)
        assert brute.asa_s == pytest.approx(7.83593701177724, rel=1e-12)


def _traffic_for(agents: int, p_wait: float) -> float:
    """The traffic at which Erlang C equals `p_wait` (it rises with traffic)."""
    low, high = 0.0, float(agents)
    for _ in range(100):
        mid = (low + high) / 2
        if erlang_c(agents, mid) < p_wait:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# J. Dunlop, D. Girma and J. Irvine, "Digital Mobile Communications and the TETRA
# System" (Wiley), appendix A.4 "Erlang C table (for blocked-calls-queued)" and
# its worked example: 8 channels at a 5 % chance of queueing carry 3.87 Erlangs;
# 10 channels at 1 % carry 4.08 Erlangs; at 3.87 Erlangs a queued call waits
# longer than one mean holding time with probability 0.016 (8 channels) and
# 0.0022 (10 channels).
@pytest.mark.parametrize(("agents", "p_wait", "traffic"), [(8, 0.05, 3.87), (10, 0.01, 4.08)])
def test_published_erlang_c_tetra_table(agents: int, p_wait: float, traffic: float) -> None:
    assert _traffic_for(agents, p_wait) == pytest.approx(traffic, abs=0.005)
    # The table's rounded traffic gives the table's probability, to its rounding.
    assert erlang_c(agents, traffic) == pytest.approx(p_wait, rel=0.02)
    assert erlang_c_by_chain(agents, traffic) == pytest.approx(erlang_c(agents, traffic),
                                                               rel=1e-12)


@pytest.mark.parametrize(("agents", "beyond"), [(8, 0.016), (10, 0.0022)])
def test_published_tetra_wait_beyond_holding_time(agents: int, beyond: float) -> None:
    p = erlang_c_performance(agents, 3.87, aht_s=60, target_s=60)
    conditional = (1.0 - p.service_level) / p.p_wait  # P(wait > T | queued)
    assert conditional == pytest.approx(beyond, rel=0.02)


@pytest.mark.parametrize("agents", [11, 12, 13, 14, 15, 20, 30])
def test_erlang_c_ten_erlangs_on_chain(agents: int) -> None:
    assert erlang_c(agents, 10.0) == pytest.approx(erlang_c_by_chain(agents, 10.0),
                                                   rel=1e-12)


def test_erlang_b_against_truncated_poisson() -> None:
    """B = (A^N/N!) / Σ_{n≤N} A^n/n!, summed in logs (no recursion)."""
    for agents, traffic in [(1, 0.5), (10, 10.0), (14, 10.0), (40, 25.5), (3000, 2900.0)]:
        logs = [n * math.log(traffic) - math.lgamma(n + 1) for n in range(agents + 1)]
        top = max(logs)
        expected = math.exp(logs[-1] - top) / math.fsum(math.exp(v - top) for v in logs)
        assert erlang_b(agents, traffic) == pytest.approx(expected, rel=1e-10)


def test_erlang_c_unstable_and_idle() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(3, 0.0) == 0.0
    p = erlang_c_performance(10, 10.0, 180, 20)
    assert not p.stable and p.service_level == 0.0 and p.asa_s == math.inf
    idle = erlang_c_performance(0, 0.0, 180, 20)
    assert idle.service_level == 1.0 and idle.occupancy == 0.0 and idle.stable


# --- large traffic -------------------------------------------------------------------


def test_large_traffic_no_overflow_and_fast() -> None:
    started = time.perf_counter()
    s = required_agents(calls=50_000, interval_s=1800, aht_s=180, target_s=20, level=0.8)
    elapsed = time.perf_counter() - started
    p = s.performance
    assert p.traffic == 5000.0
    assert s.agents == 5013
    assert all(math.isfinite(getattr(p, f)) for f in FIELDS)
    assert p.service_level >= 0.8 > erlang_c_performance(5012, 5000.0, 180, 20).service_level
    assert erlang_c(5013, 5000.0) == pytest.approx(erlang_c_by_chain(5013, 5000.0), rel=1e-9)
    assert elapsed < 1.0  # milliseconds in practice; generous for a busy machine
    assert 0.0 < erlang_b(20_000, 19_000.0) < 1.0


def test_large_traffic_erlang_a_against_chain() -> None:
    started = time.perf_counter()
    s = required_agents(calls=50_000, interval_s=1800, aht_s=180, target_s=20, level=0.8,
                        patience_s=300)
    assert time.perf_counter() - started < 2.0
    p = s.performance
    assert s.agents < 5000  # callers who give up leave room: fewer agents than Erlang C
    brute = measures(s.agents, 5000.0, 180, 20, 300)
    for field in FIELDS:
        assert getattr(p, field) == pytest.approx(getattr(brute, field), rel=1e-9), field


# --- Erlang A ----------------------------------------------------------------------------


ERLANG_A_CASES = [
    # agents, traffic, aht_s, target_s, patience_s
    (14, 10.0, 180, 20, 120),  # the reference, with impatient callers
    (12, 10.0, 180, 20, 120),
    (8, 10.0, 180, 20, 60),  # fewer agents than Erlangs: stable only through abandons
    (5, 10.0, 180, 60, 30),
    (5, 10.0, 180, 0, 30),  # target 0: service level = P(no wait)
    (3, 2.0, 300, 30, 600),
    (1, 0.5, 60, 10, 5),
    (30, 10.0, 180, 20, 90),  # hardly anyone waits
    (190, 200.0, 180, 20, 60),
    (50, 45.0, 240, 15, 1000),
    (3, 10.0, 180, 20, 10_000),  # badly overloaded, very patient
]


@pytest.mark.parametrize("case", ERLANG_A_CASES)
def test_erlang_a_against_birth_death_chain(case: tuple[int, float, float, float, float]
                                            ) -> None:
    p = erlang_a_performance(*case)
    brute = measures(*case)
    for field in FIELDS:
        assert getattr(p, field) == pytest.approx(getattr(brute, field), rel=1e-9,
                                                  abs=1e-12), field
    assert p.occupancy == pytest.approx(case[1] * (1 - brute.p_abandon) / case[0], rel=1e-9)


def test_brute_force_chain_is_normalised_and_matches_erlang_c_without_patience() -> None:
    chain = stationary(14, 10 / 180, 1 / 180, 0.0)
    assert math.fsum(chain.pi) == pytest.approx(1.0, abs=1e-15)
    brute = measures(14, 10.0, 180, 20, None)
    exact = erlang_c_performance(14, 10.0, 180, 20)
    for field in FIELDS:
        assert getattr(brute, field) == pytest.approx(getattr(exact, field), rel=1e-12)


@pytest.mark.parametrize(("agents", "traffic"), [(14, 10.0), (11, 10.0), (60, 50.0)])
def test_erlang_a_infinite_patience_is_erlang_c(agents: int, traffic: float) -> None:
    c = erlang_c_performance(agents, traffic, 180, 20)
    a = erlang_a_performance(agents, traffic, 180, 20, patience_s=1e10)
    for field in ("p_wait", "service_level", "asa_s", "avg_wait_s", "occupancy"):
        assert getattr(a, field) == pytest.approx(getattr(c, field), rel=1e-6), field
    assert a.p_abandon < 1e-7


@pytest.mark.parametrize(("agents", "traffic"), [(14, 10.0), (5, 10.0), (40, 30.0)])
def test_erlang_a_no_patience_is_erlang_b_loss(agents: int, traffic: float) -> None:
    """Callers who never wait: lost exactly when all agents are busy, as in Erlang B."""
    b = erlang_b(agents, traffic)
    a = erlang_a_performance(agents, traffic, 180, 20, patience_s=1e-9)
    assert a.p_wait == pytest.approx(b, rel=1e-6)
    assert a.p_abandon == pytest.approx(b, rel=1e-6)
    assert a.service_level == pytest.approx(1 - b, rel=1e-6)
    assert a.asa_s < 1e-6
    assert a.occupancy == pytest.approx(traffic * (1 - b) / agents, rel=1e-6)


def test_erlang_a_needs_fewer_agents_than_erlang_c_with_patient_callers() -> None:
    c = required_agents(100, 1800, 180, 20, 0.8)
    a = required_agents(100, 1800, 180, 20, 0.8, patience_s=120)
    assert a.agents < c.agents
    assert a.performance.model == "erlang_a" and a.performance.p_abandon > 0


def test_erlang_a_with_no_agents() -> None:
    p = erlang_a_performance(0, 5.0, 180, 20, 60)
    assert p.p_abandon == 1.0 and p.service_level == 0.0 and p.occupancy == 0.0


# --- the fewest agents ------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(calls=st.floats(0.5, 3000), aht=st.floats(10, 900), target=st.floats(0, 120),
       level=st.floats(0.05, 0.99), patience=st.one_of(st.none(), st.floats(1, 3600)))
def test_required_agents_is_the_fewest(calls: float, aht: float, target: float, level: float,
                                       patience: float | None) -> None:
    s = required_agents(calls, 1800, aht, target, level, patience_s=patience)
    traffic = traffic_of(calls, 1800, aht)
    assert s.performance.service_level >= level - 1e-12
    assert s.performance == performance(s.agents, traffic, aht, target, patience)
    if s.agents > 1:
        fewer = performance(s.agents - 1, traffic, aht, target, patience)
        assert fewer.service_level < level


def test_service_level_grows_with_agents() -> None:
    for patience in (None, 30.0, 600.0):
        levels = [performance(n, 10.0, 180, 20, patience).service_level for n in range(1, 40)]
        assert levels == sorted(levels), patience


def test_no_calls_need_no_agents() -> None:
    s = required_agents(0, 1800, 180, 20, 0.8, shrinkage=0.3)
    assert s.agents == 0 and s.rostered == 0 and s.performance.service_level == 1.0


@pytest.mark.parametrize(("agents", "shrinkage", "expected"), [
    (14, 0.0, 14), (14, 0.3, 20), (10, 0.35, 16), (7, 0.3, 10), (1, 0.99, 100), (0, 0.5, 0),
    # 21 / (1 − 0.3) is 30.000000000000004 in binary floating point: still 30 people.
    (21, 0.3, 30), (17, 0.32, 25), (1, 0.8, 5),
])
def test_rostered_after_shrinkage(agents: int, shrinkage: float, expected: int) -> None:
    assert rostered(agents, shrinkage) == expected


def test_shrinkage_flows_into_staffing() -> None:
    s = required_agents(100, 1800, 180, 20, 0.8, shrinkage=0.3)
    assert (s.agents, s.rostered) == (14, 20)
    row = s.as_dict()
    assert row["agents"] == 14 and row["rostered"] == 20 and row["model"] == "erlang_c"


@pytest.mark.parametrize("kwargs", [
    {"level": 1.0}, {"level": 0.0}, {"level": 80.0}, {"calls": -1.0}, {"interval_s": 0.0},
    {"aht_s": 0.0}, {"target_s": -1.0}, {"shrinkage": 1.0}, {"shrinkage": -0.1},
    {"patience_s": 0.0}, {"calls": math.inf}, {"aht_s": math.nan},
])
def test_impossible_input_is_refused(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {"calls": 100, "interval_s": 1800, "aht_s": 180, "target_s": 20,
                              "level": 0.8}
    args.update(kwargs)
    with pytest.raises(ValueError):
        required_agents(**args)  # type: ignore[arg-type]
