"""What synchronous replication would cost a routing decision: `WAIT 1 100` after each.

    python bench/replication.py [--rounds 3000]

Starts a primary and a replica (Debian's redis-server, loopback ports 26380-26399),
and times the routing decisions of one call, as a worker makes them over TCP (a caller
enters and is matched to a free agent at once; the agent accepts; the call ends and the
agent is free), in alternating blocks with and without a `WAIT 1 100` after each
decision, so the machine's noise falls on both alike. A third series runs with
`min-replicas-to-write 1` on the primary (no WAIT). Prints a markdown paragraph.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.flows.model import AgentConfig, Callflows, QueueConfig  # noqa: E402
from ivr.routing.router import Router  # noqa: E402
from ivr.store import connect  # noqa: E402
from tests.ha.servers import SentinelGroup, missing_binaries  # noqa: E402

AGENTS = 50
BLOCK = 100  # rounds per block; blocks alternate between the series


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def build_config() -> Callflows:
    queue = QueueConfig(name="sales", skills=["sales"], strategy="longest-idle",
                        max_wait=3600, wrap_up=0)
    agents = {f"ag{i:03d}": AgentConfig(id=f"ag{i:03d}", name=f"Agent {i}",
                                        phone=f"+1500{i:07d}", skills={"sales": 3})
              for i in range(AGENTS)}
    return Callflows(flows={}, queues={"sales": queue}, agents=agents, version="bench")


def run(rounds: int) -> dict[str, Any]:
    group = SentinelGroup(Path(tempfile.mkdtemp(prefix="ivr-repl-")), replicas=1,
                          sentinels=0).start()
    try:
        primary = group.servers[0]
        store = connect(f"redis://127.0.0.1:{primary.port}/0")
        config = build_config()
        offers: list[list[Any]] = []
        router = Router(store, lambda: config, None, public_url="http://bench")  # type: ignore[arg-type]
        router._place_offers = offers.extend  # type: ignore[method-assign,assignment]
        router.sync_roster()
        for agent_id in config.agents:
            router.set_agent_status(agent_id, "available", source="bench")
        series: dict[str, list[float]] = {"async": [], "WAIT 1 100": [],
                                          "min-replicas-to-write 1": []}
        unacked = 0
        n = 0

        def decide(fn: Callable[[], Any], sync: bool, into: list[float]) -> Any:
            nonlocal unacked
            started = time.perf_counter()
            result = fn()
            if sync and int(store.execute_command("WAIT", 1, 100)) < 1:
                unacked += 1
            into.append(time.perf_counter() - started)
            return result

        def one_call(name: str) -> None:
            nonlocal n
            n += 1
            into = series[name]
            sync = name == "WAIT 1 100"
            count = len(offers)
            decide(lambda: router._enter(
                f"CA{n:032d}", queue="sales", priority=0, skills=[], max_wait=None,
                caller=f"+1555{n:07d}", called="+15005550006", flow="main", step="queue",
                action_url="http://bench/step", kind="call"), sync, into)
            assert len(offers) == count + 1, "the caller was not matched at once"
            _caller, agent_id, token, *_ = offers[-1]
            decide(lambda: router.run("accept", {"agent": agent_id, "token": token},
                                      scope="none"), sync, into)
            decide(lambda: router.run("agent_done", {"agent": agent_id, "token": token,
                                                     "wrap_ms": 0},
                                      scope="agent", agent_skills={"sales": 3}), sync, into)

        for _ in range(BLOCK):  # warm-up
            one_call("async")
        series["async"].clear()
        names = list(series)
        for block in range(max(1, rounds // BLOCK) * len(names)):
            name = names[block % len(names)]
            store.config_set("min-replicas-to-write",
                             1 if name == "min-replicas-to-write 1" else 0)
            for _ in range(BLOCK):
                one_call(name)
        store.config_set("min-replicas-to-write", 0)
        return {"series": series, "unacked": unacked,
                "server": store.info("server").get("redis_version"),
                "load": os.getloadavg()[0]}
    finally:
        group.stop()


def report(result: dict[str, Any]) -> str:
    series: dict[str, list[float]] = result["series"]
    rows = []
    for name, values in series.items():
        rows.append(f"| {name} | {len(values):,} | {percentile(values, 50) * 1e3:.3f} | "
                    f"{percentile(values, 99) * 1e3:.3f} | {len(values) / sum(values):,.0f} |")
    base = percentile(series["async"], 50)
    wait = percentile(series["WAIT 1 100"], 50)
    return "\n".join([
        f"`python bench/replication.py` on {platform.machine()}, Python "
        f"{platform.python_version()}, Redis {result['server']} primary and replica on "
        f"loopback TCP, one client thread; load average {result['load']:.1f} on "
        f"{os.cpu_count()} cores. Decisions: enter (matched at once), accept, call ends.",
        "",
        "| replication | decisions | p50 ms | p99 ms | per second |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"`WAIT 1 100` adds {(wait - base) * 1e3:.3f} ms at p50 to each decision "
        f"({wait / base:.1f}x); {result['unacked']} WAITs timed out unacknowledged.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000,
                        help="calls per series (3 decisions each)")
    args = parser.parse_args()
    why = missing_binaries()
    if why:
        sys.exit(f"bench/replication.py: {why}")
    print(report(run(args.rounds)))


if __name__ == "__main__":
    main()
