"""Independent answers to check the Erlang formulas against.

Nothing here uses Erlang B, incomplete-gamma series or the generating
functions of `ivr.staffing.erlang`: the M/M/N+M birth-death chain (θ = 0 is
M/M/N, Erlang C) is solved state by state up to a queue length where the
remaining probability is below 1e-18, and the tagged caller's fate is worked
out on its own little Markov chain — by uniformisation for "answered within
t" and by first-step analysis for the wait of answered callers. Truncating
the queue is the only approximation, and it is exact in the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Chain:
    """The stationary distribution π(0..N+K) and the rates it came from."""

    agents: int
    lam: float
    mu: float
    theta: float
    pi: list[float]

    def queue(self) -> list[float]:
        """π(N+k), k = 0..K: the arriving caller finds k waiting ahead (PASTA)."""
        return self.pi[self.agents:]


def stationary(agents: int, lam: float, mu: float, theta: float) -> Chain:
    """Birth-death balance π(n+1) = π(n)·λ / death(n+1), in logs, then normalised."""

    def death(n: int) -> float:
        return min(n, agents) * mu + max(0, n - agents) * theta

    logs = [0.0]
    n = 0
    while True:
        n += 1
        logs.append(logs[-1] + math.log(lam) - math.log(death(n)))
        ratio = lam / death(n + 1)
        # Past N the ratio only falls, so the rest is below term·r/(1−r).
        if (n > agents and ratio < 1.0
                and logs[-1] + math.log(ratio / (1.0 - ratio)) < max(logs) - 45):
            break
        if n > 10_000_000:
            raise RuntimeError("chain does not settle (unstable M/M/N?)")
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = math.fsum(weights)
    return Chain(agents, lam, mu, theta, [w / total for w in weights])


@dataclass(frozen=True)
class Measures:
    p_wait: float
    p_abandon: float
    service_level: float
    asa_s: float
    avg_wait_s: float


def measures(agents: int, traffic: float, aht_s: float, target_s: float,
             patience_s: float | None) -> Measures:
    """Every figure of `Performance`, from the chain alone."""
    mu = 1.0 / aht_s
    lam = traffic * mu
    theta = 0.0 if patience_s is None else 1.0 / patience_s
    chain = stationary(agents, lam, mu, theta)
    ahead = chain.queue()
    p_wait = math.fsum(ahead)
    # Abandon rate θ·E[queue length] over arrival rate.
    p_abandon = theta * math.fsum(k * p for k, p in enumerate(ahead)) / lam
    served_by_t = _served_within(agents, mu, theta, ahead, target_s)
    # First-step analysis for a caller with j ahead: leaves the position at
    # rate r = Nμ + jθ (someone ahead answered or gave up) or gives up at θ.
    served = 0.0  # P(answered | j)
    wait_served = 0.0  # E[wait · 1{answered} | j]
    total_served = total_wait_served = 0.0
    for j, p in enumerate(ahead):
        r = agents * mu + j * theta
        out = r + theta
        prev_served = 1.0 if j == 0 else served
        prev_wait = 0.0 if j == 0 else wait_served
        served = r / out * prev_served
        wait_served = served / out + r / out * prev_wait
        total_served += p * served
        total_wait_served += p * wait_served
    answered = (1.0 - p_wait) + total_served
    return Measures(
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=(1.0 - p_wait) + served_by_t,
        asa_s=total_wait_served / answered,
        # Little's law for the queue: E[wait] = E[queue length] / λ.
        avg_wait_s=math.fsum(k * p for k, p in enumerate(ahead)) / lam,
    )


def _served_within(agents: int, mu: float, theta: float, ahead: list[float],
                   t: float) -> float:
    """P(wait, then answered within t): the tagged caller's chain by uniformisation.

    States: j callers ahead (0..K), plus absorbing "answered" and "gave up".
    """
    if t == 0:
        return 0.0
    size = len(ahead)
    rate = agents * mu + (size - 1) * theta + theta
    p = list(ahead)
    answered = 0.0  # absorbed into "answered" after n jumps
    mean = rate * t
    result = 0.0
    n = 0
    while True:
        step = [0.0] * size
        for j in range(size):
            move = (agents * mu + j * theta) / rate
            if j == 0:
                answered += p[0] * move
            else:
                step[j - 1] += p[j] * move
            step[j] += p[j] * (1.0 - move - theta / rate)
        p = step
        n += 1
        # Poisson(n; rate·t) weight, in logs so a long horizon cannot underflow.
        weight = math.exp(-mean + n * math.log(mean) - math.lgamma(n + 1))
        result += weight * answered
        if n > mean and weight < 1e-18:
            return result
        if n > 1_000_000:
            raise RuntimeError("uniformisation did not converge")


def erlang_c_by_chain(agents: int, traffic: float) -> float:
    """P(wait) of M/M/N from its chain: Σ_{n≥N} π(n)."""
    return math.fsum(stationary(agents, traffic, 1.0, 0.0).queue())
