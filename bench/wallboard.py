"""How long the wallboard's poll takes: `/api/wallboard` with 1,000 agents, 50 queues and
2,000 callers waiting.

    python bench/wallboard.py [--agents 1000] [--queues 50] [--callers 2000] [--runs 200]

Runs against REDIS_URL when set (use a database of its own: the bench flushes it), else
an embedded server in a temporary directory. A call-flow folder is written to a temporary
directory: queue qNN needs skill sNN, each agent has two random skills (level 3), and
every agent is logged out or on break, so entering callers rings nobody. The callers go
in through the router (as the queue step puts them), spread over the queues; then
`/api/wallboard` is read through the Flask test client (the whole request: routing,
Redis reads, JSON) `--runs` times after a few warm-up reads.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.store import EmbeddedRedis, connect  # noqa: E402

TOKEN = "bench-token"


def write_folder(folder: Path, agents: int, queues: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.yaml").write_text(
        'numbers: ["*"]\nstart: hello\nsteps:\n  hello:\n    hangup: "Goodbye."\n')
    (folder / "queues.yaml").write_text("".join(
        f"q{i:02d}:\n  skills: [s{i:02d}]\n  service_level: 20\n" for i in range(queues)))
    lines = []
    for n in range(agents):
        a, b = random.sample(range(queues), 2)
        lines.append(f"a{n:04d}:\n  name: Agent {n}\n  phone: \"+1500555{n:04d}\"\n"
                     f"  skills: {{s{a:02d}: 3, s{b:02d}: 3}}\n")
    (folder / "agents.yaml").write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--callers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    random.seed(11)
    tmp = tempfile.TemporaryDirectory()
    base = Path(tmp.name)
    url = os.environ.get("REDIS_URL")
    if not url:
        url = EmbeddedRedis(base / "redis").start()
    connect(url).flushdb()
    write_folder(base / "callflows", args.agents, args.queues)
    (base / "recordings").mkdir()

    import ivr.api
    import ivr.wallboard
    from ivr.app import create_app

    app = create_app({"redis_url": url, "background": False, "callflows": base / "callflows",
                      "recordings": base / "recordings", "admin_token": TOKEN})
    if "api" not in app.blueprints:
        app.register_blueprint(ivr.api.bp)
    if "wallboard" not in app.blueprints:
        app.register_blueprint(ivr.wallboard.bp)
    router = app.extensions["ivr.router"]
    router.sync_roster()
    for n in range(args.agents):
        if n % 2:
            router.set_agent_status(f"a{n:04d}", "break", source="bench")
    for n in range(args.callers):
        queue = f"q{n % args.queues:02d}"
        router.enqueue(f"CA{n:032d}", queue=queue, priority=random.choice([0, 0, 0, 5]),
                       skills=[], max_wait=None, caller=f"+1555{n:07d}", called="+15005550006",
                       flow="main", step="sales", action_url="http://localhost/after")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = client.get("/api/wallboard", headers=headers)
    assert body.status_code == 200, body.get_data(as_text=True)[:500]
    data = body.json
    assert len(data["agents"]) == args.agents and len(data["queues"]) == args.queues
    shown = sum(min(10, len(range(q, args.callers, args.queues))) for q in range(args.queues))
    assert len(data["waiting"]) == shown, len(data["waiting"])  # the first 10 of each queue
    assert sum(q["waiting"] for q in data["queues"]) == args.callers
    for _ in range(5):
        client.get("/api/wallboard", headers=headers)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        client.get("/api/wallboard", headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"/api/wallboard: {args.agents} agents, {args.queues} queues, {args.callers} waiting,"
          f" {args.runs} reads, {len(body.get_data())} bytes: p50 {statistics.median(times):.1f}"
          f" ms, p99 {p99:.1f} ms, load average {os.getloadavg()[0]:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
