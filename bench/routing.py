"""Routing decisions at contact-centre scale: 10,000 agents, 100,000 waiting callers.

    python bench/routing.py [--agents 10000] [--callers 100000] [--write docs/benchmarks.md]

Runs against REDIS_URL when set (use a database of its own: the bench
flushes it), else an embedded server in a temporary directory. It times the
routing scripts themselves, as a worker calls them (EVALSHA with the common
key layout, JSON arguments, reply parsed), and beside them a no-op EVALSHA
in the same run, so the figures separate the decision from the round trip.

Phases:
1. 10,000 agents with 1-4 of 20 skills (levels 1-5) join and log in;
2. 100,000 callers enter 10 queues (priorities 0-3, a fifth with an extra
   skill, an escalation step each): the first ones are matched at once to
   free agents (caller-side decisions), the rest wait;
3. Redis memory per waiting caller (INFO used_memory before and after phase 2,
   everything a caller brings: record, place in line, timers, event log entry);
4. 10,000 offers accepted, then each call ends (wrap_up 0): the agent is free
   and takes the best caller waiting for them (agent-side decisions).
REST calls are not placed (the bench measures Redis, not Twilio).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.flows.model import AgentConfig, Callflows, Escalation, QueueConfig  # noqa: E402
from ivr.routing.records import Offer  # noqa: E402
from ivr.routing.router import Router  # noqa: E402
from ivr.store import EmbeddedRedis, connect  # noqa: E402

SKILLS = [f"skill{i:02d}" for i in range(20)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Timings:
    def __init__(self) -> None:
        self.by_kind: dict[str, list[float]] = {}

    def time(self, kind: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = fn()
        self.by_kind.setdefault(kind, []).append(time.perf_counter() - started)
        return result

    def row(self, kind: str) -> str:
        v = self.by_kind[kind]
        return (f"| {kind} | {len(v):,} | {percentile(v, 50) * 1e3:.3f} | "
                f"{percentile(v, 99) * 1e3:.3f} | {len(v) / sum(v):,.0f} |")


def build_config(rng: random.Random, n_agents: int) -> Callflows:
    queues = {}
    for i in range(10):
        skills = [SKILLS[i]] + ([SKILLS[10 + i]] if i % 3 == 0 else [])
        queues[f"q{i}"] = QueueConfig(
            name=f"q{i}", skills=skills,
            strategy=["longest-idle", "most-skilled", "fewest-calls", "round-robin",
                      "least-talk-time"][i % 5],
            max_wait=3600, wrap_up=0, escalate=[Escalation(after=600, skills=None, min_level=1)],
        )
    agents = {}
    for i in range(n_agents):
        mine = rng.sample(SKILLS, rng.randint(1, 4))
        agents[f"ag{i:05d}"] = AgentConfig(
            id=f"ag{i:05d}", name=f"Agent {i}", phone=f"+1500{i:07d}",
            skills={s: rng.randint(1, 5) for s in mine},
        )
    return Callflows(flows={}, queues=queues, agents=agents, version="bench")


def run(url: str, n_agents: int, n_callers: int) -> dict[str, Any]:
    rng = random.Random(42)
    store = connect(url, socket_timeout=30)
    store.flushdb()
    config = build_config(rng, n_agents)
    offers: list[Offer] = []
    router = Router(store, lambda: config, None, public_url="http://bench")  # type: ignore[arg-type]
    router.acd.place_offers = offers.extend  # type: ignore[method-assign]
    t = Timings()

    noop = store.register_script("return 0")
    for _ in range(10_000):
        t.time("no-op EVALSHA (no keys)", lambda: noop())

    started = time.perf_counter()
    router.sync_roster()
    load_agents = time.perf_counter() - started
    for agent_id in config.agents:
        router.set_agent_status(agent_id, "available", source="bench")

    store.execute_command("MEMORY", "PURGE")
    before = int(store.info("memory")["used_memory"])
    queues = list(config.queues)
    for i in range(n_callers):
        queue = rng.choice(queues)
        extra = [rng.choice(SKILLS)] if rng.random() < 0.2 else []
        count = len(offers)

        def enter(i: int = i, queue: str = queue, extra: list[str] = extra) -> bool:
            return router.enter_call(
                f"CA{i:032d}", queue=queue, priority=rng.randint(0, 3), skills=extra,
                max_wait=None, caller=f"+1555{i:07d}", called="+15005550006", flow="main",
                step="queue", action_url=f"http://bench/twilio/voice/step?seq={i}",
            )
        holding = t.time("enter (caller-side match)", enter)
        if len(offers) == count:
            # Not matched: re-file the sample as a decision that found nobody free.
            kind = "enter (no free agent: waits)" if holding else \
                "enter (nobody logged in: overflow)"
            t.by_kind.setdefault(kind, []).append(t.by_kind["enter (caller-side match)"].pop())
    store.execute_command("MEMORY", "PURGE")
    after = int(store.info("memory")["used_memory"])
    waiting = sum(int(store.zcard(k)) for q in queues for k in router.buckets_of(q))
    per_caller = (after - before) / n_callers

    def accept(agent_id: str, token: str) -> Callable[[], Any]:
        return lambda: router.scripts.accept(agent_id, token)

    def done(agent_id: str, token: str, skills: dict[str, int]) -> Callable[[], Any]:
        return lambda: router.scripts.agent_done(agent_id, token, wrap_ms=0, skills=skills)

    for offer in list(offers)[:10_000]:
        t.time("accept (agent pressed 1)", accept(offer.agent_id, offer.token))
        t.time("call ends, agent takes next (agent-side match)",
               done(offer.agent_id, offer.token, config.agents[offer.agent_id].skills))
    plain, layout = router.layout.keys("all")
    ctx = router.layout.context()
    for _ in range(10_000):
        t.time("no-op EVALSHA (decision's keys and args)",
               lambda: noop(keys=plain, args=[router.now_ms(), ctx, "{}", layout, 0.5]))
    return {
        "timings": t, "agents": n_agents, "callers": n_callers, "waiting": waiting,
        "per_caller": per_caller, "before": before, "after": after,
        "load_agents": load_agents, "offers": len(offers),
        "server": store.info("server").get("redis_version"),
        "load": os.getloadavg()[0],
        "mem": {k: store.memory_usage(k) or 0 for k in (
            "ivr:{acd}:callers", "ivr:{acd}:timers", "ivr:{acd}:events")},
    }


def report(result: dict[str, Any]) -> str:
    t: Timings = result["timings"]
    decisions = [k for k in t.by_kind if not k.startswith("no-op")]
    all_decisions = [v for k in decisions for v in t.by_kind[k]]
    lines = [
        "## Routing",
        "",
        f"`python bench/routing.py` on {platform.machine()}, {platform.python_version()}, "
        f"Redis-protocol server {result['server']} on a Unix socket, one client thread, "
        f"{result['agents']:,} agents (1-4 of 20 skills), {result['callers']:,} callers "
        f"entering 10 queues ({result['waiting']:,} left waiting after "
        f"{result['offers']:,} offers); load average {result['load']:.1f} on "
        f"{os.cpu_count()} cores while it ran.",
        "",
        "| operation | count | p50 ms | p99 ms | per second |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(t.row(k) for k in t.by_kind),
        "",
        f"All routing decisions together: p50 {percentile(all_decisions, 50) * 1e3:.3f} ms, "
        f"p99 {percentile(all_decisions, 99) * 1e3:.3f} ms, "
        f"{len(all_decisions) / sum(all_decisions):,.0f} decisions/s from one client "
        "(a decision's time is the whole EVALSHA round trip as the worker sees it; "
        "the no-op rows are the same round trip doing nothing).",
        "",
        f"Redis memory per waiting caller: {result['per_caller']:,.0f} bytes "
        f"(used_memory {result['before'] / 1e6:.1f} MB before the callers, "
        f"{result['after'] / 1e6:.1f} MB after; it includes the caller's record, place in "
        "line, max-wait and escalation timers, and its share of the capped event log: "
        + ", ".join(f"{k.split(':')[-1]} {v / 1e6:.1f} MB" for k, v in result["mem"].items())
        + ").",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the "## Routing" section of the shared benchmarks file."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## Routing")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--callers", type=int, default=100_000)
    parser.add_argument("--write", type=Path, help="put the section into this markdown file")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        server = EmbeddedRedis(tempfile.mkdtemp(prefix="ivr-bench-"))
        url = server.start()
    try:
        section = report(run(url, args.agents, args.callers))
    finally:
        if server is not None:
            server.stop()
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
