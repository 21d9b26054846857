"""Erlang B, C and A: how many agents an interval's calls need, and what they give.

All three models share Poisson arrivals and exponential handle times, the same
assumptions a contact-centre planner makes with a spreadsheet; they differ in
what a caller does when every agent is busy:

- Erlang B: the caller is lost at once (no queue).
- Erlang C: the caller waits as long as it takes (no one gives up).
- Erlang A (M/M/N+M, Garnett, Mandelbaum & Reiman 2002): the caller waits, but
  hangs up after an exponential patience with mean `patience_s`.

Everything is computed without factorials or powers that overflow: Erlang B by
its recursion, Erlang C from B, and Erlang A from B plus one positive series
summed with rescaling, so thousands of Erlangs cost milliseconds. The later
per-interval modes (history, what-if) call `performance` and `required_agents`
once per queue and interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Model = Literal["erlang_c", "erlang_a"]

#: A result "meets" the target when it is this close below it: floating-point
#: noise must not cost an agent.
_TOLERANCE = 1e-12
#: The Erlang A series stops when its tail is below this share of the sum.
_TAIL = 1e-17
#: Rescale the series' running sums when a term passes this size.
_BIG = 1e200
#: The series is refused past this many terms (only absurd input gets there:
#: the peak term sits near (arrival rate - service capacity) x patience).
_MAX_TERMS = 5_000_000


# --- Erlang B and C ------------------------------------------------------------


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of `agents` servers offered `traffic` Erlangs.

    The recursion B(n) = A·B(n-1) / (n + A·B(n-1)) only ever divides numbers
    of the same size, so it neither overflows nor loses precision however
    large the traffic.
    """
    _check_agents(agents)
    _check_traffic(traffic)
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Chance an arriving caller has to wait (all `agents` busy), Erlang C.

    C = N·B / (N − A·(1 − B)) with B = Erlang B. With N ≤ A the queue grows
    without bound and every caller waits: 1.0.
    """
    b = erlang_b(agents, traffic)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return agents * b / (agents - traffic * (1.0 - b))


# --- results -------------------------------------------------------------------


@dataclass(frozen=True)
class Performance:
    """What `agents` give for one interval's traffic under one model.

    - `p_wait`: share of callers who find every agent busy (wait at all).
    - `p_abandon`: share of callers who hang up before an answer (0 for Erlang C).
    - `service_level`: share of *all* callers answered within the target time;
      with Erlang A a caller who gives up counts as not answered in time.
    - `asa_s`: average speed of answer, the mean wait of *answered* callers
      (those answered at once count with 0 s).
    - `avg_wait_s`: mean time in queue of *all* callers, including the time
      until those who give up hang up (equal to `asa_s` for Erlang C).
    - `occupancy`: share of the agents' time spent handling calls.
    """

    model: Model
    agents: int
    traffic: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_s: float
    avg_wait_s: float
    occupancy: float

    @property
    def stable(self) -> bool:
        """False when Erlang C's queue grows without bound (agents ≤ traffic)."""
        return self.model == "erlang_a" or self.traffic == 0 or self.agents > self.traffic


@dataclass(frozen=True)
class Staffing:
    """The fewest agents meeting a service-level target for one interval."""

    calls: float
    interval_s: float
    aht_s: float
    target_s: float
    level: float
    patience_s: float | None
    shrinkage: float
    performance: Performance
    rostered: int

    @property
    def agents(self) -> int:
        return self.performance.agents

    def as_dict(self) -> dict[str, Any]:
        """One flat mapping (JSON, CSV rows)."""
        out = {k: v for k, v in asdict(self).items() if k != "performance"}
        out.update(asdict(self.performance))
        return out


# --- one interval, N agents -----------------------------------------------------


def traffic_of(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: calls × handle time / interval length."""
    if interval_s <= 0 or not math.isfinite(interval_s):
        raise ValueError("the interval must be a positive number of seconds")
    _check_positive("handle time", aht_s)
    if calls < 0 or not math.isfinite(calls):
        raise ValueError("calls must be zero or more")
    return calls * aht_s / interval_s


def performance(agents: int, traffic: float, aht_s: float, target_s: float,
                patience_s: float | None = None) -> Performance:
    """What `agents` give: Erlang C, or Erlang A when `patience_s` is given."""
    if patience_s is None:
        return erlang_c_performance(agents, traffic, aht_s, target_s)
    return erlang_a_performance(agents, traffic, aht_s, target_s, patience_s)


def erlang_c_performance(agents: int, traffic: float, aht_s: float,
                         target_s: float) -> Performance:
    """Erlang C: service level 1 − C·e^(−(N−A)·t/AHT), ASA C·AHT/(N−A), occupancy A/N."""
    _check_agents(agents)
    _check_traffic(traffic)
    _check_positive("handle time", aht_s)
    _check_target(target_s)
    if traffic == 0:
        return _idle("erlang_c", agents)
    if agents <= traffic:
        return Performance("erlang_c", agents, traffic, p_wait=1.0, p_abandon=0.0,
                           service_level=0.0, asa_s=math.inf, avg_wait_s=math.inf,
                           occupancy=1.0 if agents else 0.0)
    c = erlang_c(agents, traffic)
    spare = agents - traffic
    asa = c * aht_s / spare
    return Performance("erlang_c", agents, traffic, p_wait=c, p_abandon=0.0,
                       service_level=1.0 - c * math.exp(-spare * target_s / aht_s),
                       asa_s=asa, avg_wait_s=asa, occupancy=traffic / agents)


def erlang_a_performance(agents: int, traffic: float, aht_s: float, target_s: float,
                         patience_s: float) -> Performance:
    """Erlang A (M/M/N+M): callers hang up after an exponential patience.

    With λ arrivals/s, μ = 1/AHT, θ = 1/patience, the stationary chain has
    π(N+k) = π(N)·t_k with t_k = Π_{j=1..k} λ/(Nμ+jθ) = y^k / Π(x+j), where
    x = Nμ/θ and y = λ/θ; Σ t_k is Garnett, Mandelbaum & Reiman's A(x, y)
    (their incomplete-gamma form). Below N, Σ π(n)/π(N) = 1/B − 1 (Erlang B).
    A caller who finds k waiting ahead moves up at rate θ(x+j) with j ahead
    and gives up at rate θ, so (telescoping the Laplace transform) is
    answered with probability x/(x+k+1), after an average wait
    (1/θ)·x/(x+k+1)·Σ_{j=1..k+1} 1/(x+j). Those moves are the rings of x+k
    exponential(θ) clocks, so by time t a Binomial(x+k, 1−q) number of them
    has rung (q = e^(−θt)); summed over k with the weights t_k this leaves
    q^x·e^(y(1−q))·t_m(yq) for "m still ahead at t" — hence `served_late`.
    Every quantity is a ratio of positive sums, so nothing cancels.
    """
    _check_agents(agents)
    _check_traffic(traffic)
    _check_positive("handle time", aht_s)
    _check_target(target_s)
    _check_positive("patience", patience_s)
    if traffic == 0:
        return _idle("erlang_a", agents)
    if agents == 0:
        return Performance("erlang_a", 0, traffic, p_wait=1.0, p_abandon=1.0,
                           service_level=0.0, asa_s=math.inf, avg_wait_s=patience_s,
                           occupancy=0.0)
    theta = 1.0 / patience_s
    lam = traffic / aht_s
    x = agents * patience_s / aht_s
    y = lam * patience_s
    log_below = _log_erlang_b_rest(agents, traffic)  # log(1/B − 1)
    sums = _queue_sums(x, y)
    log_norm = _logaddexp(log_below, sums.log_all)  # log(Σ π / π(N))
    p_wait = math.exp(sums.log_all - log_norm)
    p_abandon = math.exp(sums.log_abandon - log_norm)
    p_served_waiting = math.exp(sums.log_served - log_norm)
    # Answered after waiting longer than t (q = e^(−θt)):
    #   q · q^x · e^(y(1−q)) · Σ_m t_m(yq)·x/(x+m+1)
    # = P(still waiting at t) over the m callers then ahead, times x/(x+m+1).
    q = math.exp(-theta * target_s)
    late = _queue_sums(x, y * q, weights=False)
    served_late = math.exp(-(x + 1.0) * theta * target_s - y * math.expm1(-theta * target_s)
                           + late.log_served - log_norm)
    service_level = (1.0 - p_wait) + max(0.0, p_served_waiting - served_late)
    answered = 1.0 - p_abandon
    asa = math.exp(sums.log_wait_served - log_norm) / theta / answered
    return Performance("erlang_a", agents, traffic, p_wait=p_wait, p_abandon=p_abandon,
                       service_level=min(1.0, service_level), asa_s=asa,
                       avg_wait_s=p_abandon * patience_s,  # Little: E[queue] = λ·E[wait]
                       occupancy=traffic * answered / agents)


# --- the fewest agents ------------------------------------------------------------


def required_agents(calls: float, interval_s: float, aht_s: float, target_s: float,
                    level: float, patience_s: float | None = None,
                    shrinkage: float = 0.0) -> Staffing:
    """The fewest agents whose service level reaches `level` within `target_s`.

    Erlang C without `patience_s`, Erlang A with it. The service level grows
    with every agent added, so the answer is found by doubling then bisecting
    from the least count that could possibly do it.
    """
    traffic = traffic_of(calls, interval_s, aht_s)
    _check_target(target_s)
    if not 0.0 < level < 1.0:
        raise ValueError("the level must be a fraction above 0 and below 1")
    if patience_s is not None:
        _check_positive("patience", patience_s)
    _check_shrinkage(shrinkage)

    def evaluate(n: int) -> Performance:
        return performance(n, traffic, aht_s, target_s, patience_s)

    def meets(p: Performance) -> bool:
        return p.service_level >= level - _TOLERANCE

    if traffic == 0:
        best = evaluate(0)
    else:
        if patience_s is None:
            low = math.floor(traffic) + 1  # Erlang C needs N > A
        else:
            # Answered calls can't outnumber what N agents handle: SL ≤ N/A.
            low = max(1, math.ceil(level * traffic - 1e-9))
        best = _fewest(low, evaluate, meets)
    return Staffing(calls=calls, interval_s=interval_s, aht_s=aht_s, target_s=target_s,
                    level=level, patience_s=patience_s, shrinkage=shrinkage,
                    performance=best, rostered=rostered(best.agents, shrinkage))


def rostered(agents: int, shrinkage: float) -> int:
    """Agents to roster so that `agents` are on the phones after shrinkage.

    Shrinkage is the share of paid time not spent available for calls
    (breaks, training, absence): ceil(agents / (1 − shrinkage)).
    """
    _check_agents(agents)
    _check_shrinkage(shrinkage)
    # round() first: 21 / (1 − 0.3) is 30.000000000000004 in binary floating point.
    return math.ceil(round(agents / (1.0 - shrinkage), 9))


def _fewest(low: int, evaluate: Callable[[int], Performance],
            meets: Callable[[Performance], bool]) -> Performance:
    first = evaluate(low)
    if meets(first):
        return first
    bad, good = low, max(2 * low, low + 1)
    found = evaluate(good)
    while not meets(found):
        bad, good = good, 2 * good
        found = evaluate(good)
    while good - bad > 1:
        mid = (bad + good) // 2
        probe = evaluate(mid)
        if meets(probe):
            good, found = mid, probe
        else:
            bad = mid
    return found


# --- Erlang A internals ----------------------------------------------------------


@dataclass(frozen=True)
class _QueueSums:
    """Logs of Σ_k t_k·w_k for the weights Erlang A needs (t_k as above)."""

    log_all: float  # w = 1: P(wait) ∝
    log_served: float  # w = x/(x+k+1): answered after waiting ∝
    log_abandon: float  # w = (k+1)/(x+k+1): gave up ∝
    log_wait_served: float  # w = x/(x+k+1)·Σ_{j≤k+1} 1/(x+j): θ·(wait of answered) ∝


def _queue_sums(x: float, z: float, weights: bool = True) -> _QueueSums:
    """Sum t_k = z^k / Π_{j=1..k}(x+j) and its weighted forms, k = 0, 1, 2, ...

    Terms rise while k < z − x and then fall at least geometrically; the loop
    stops when the remaining tail (bounded by a geometric series) is
    negligible. Sums are kept scaled, with the scale's log on the side, so
    huge z (thousands of Erlangs, long patience) neither overflows nor
    underflows.
    """
    term = 1.0
    total = served = abandon = wait_served = 0.0
    harmonic = 0.0
    log_scale = 0.0
    k = 0
    while True:
        harmonic += 1.0 / (x + k + 1)
        p_served = x / (x + k + 1)
        total += term
        served += term * p_served
        abandon += term * (k + 1) / (x + k + 1)
        if weights:
            wait_served += term * p_served * harmonic
        ratio = z / (x + k + 1)  # t_{k+1} / t_k
        # Later ratios are smaller, so the tail is at most term·r/(1−r); every
        # weight is at most 1, so that bounds the weighted tails too.
        if ratio < 1.0 and term * ratio / (1.0 - ratio) < _TAIL * total:
            break
        k += 1
        if k > _MAX_TERMS:
            raise ValueError("patience too long for Erlang A with this traffic; "
                             "leave it out to use Erlang C")
        term *= ratio
        if term > _BIG:
            term /= _BIG
            total /= _BIG
            served /= _BIG
            abandon /= _BIG
            wait_served /= _BIG
            log_scale += math.log(_BIG)

    def log(v: float) -> float:
        return math.log(v) + log_scale if v > 0 else -math.inf

    return _QueueSums(log(total), log(served), log(abandon), log(wait_served))


def _log_erlang_b_rest(agents: int, traffic: float) -> float:
    """log(1/B − 1) = log Σ_{n<N} π(n)/π(N), by s(n) = (n/A)·(1 + s(n−1)), s(0) = 0.

    Kept as a log so a very small blocking probability (N far above A) can't
    overflow; 1/B − 1 itself avoids the cancellation of 1 − B when B ≈ 1.
    """
    log_s = -math.inf
    for n in range(1, agents + 1):
        log_s = math.log(n / traffic) + _logaddexp(0.0, log_s)
    return log_s


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = max(a, b), min(a, b)
    return hi + math.log1p(math.exp(lo - hi))


def _idle(model: Model, agents: int) -> Performance:
    return Performance(model, agents, 0.0, p_wait=0.0, p_abandon=0.0, service_level=1.0,
                       asa_s=0.0, avg_wait_s=0.0, occupancy=0.0)


# --- checks (ValueError; the CLI turns them into usage errors) ---------------------


def _check_agents(agents: int) -> None:
    if agents < 0:
        raise ValueError("agents must be zero or more")


def _check_traffic(traffic: float) -> None:
    if traffic < 0 or not math.isfinite(traffic):
        raise ValueError("traffic must be a finite number of Erlangs, zero or more")


def _check_positive(what: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"the {what} must be a positive number of seconds")


def _check_target(target_s: float) -> None:
    if not (target_s >= 0 and math.isfinite(target_s)):
        raise ValueError("the target must be zero or more seconds")


def _check_shrinkage(shrinkage: float) -> None:
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError("shrinkage must be a fraction from 0 up to (not including) 1")
