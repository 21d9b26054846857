"""Whole calls per second: simulated callers through menu -> queue -> agent -> talk -> hang-up.

    python bench/calls.py [--workers 2] [--agents 150] [--rates 2 4 8 16 32] \
        [--stage 15] [--talk 300] [--time-scale 0.01]

`ivr` runs under gunicorn (gthread, 8 threads, `--workers`) on a flow folder
written here after the demo's shape (a welcome, a menu, the sales queue, an
overflow goodbye; no office hours, so the run does not depend on the time of
day), with the embedded Redis. The project's Twilio simulator (`ivr.sim`)
plays Twilio on loopback: every agent texts ON, then answers its offers and
presses 1 at the whisper; every caller presses 1 at the menu, waits in the
queue, talks for `--talk` simulated seconds (`--time-scale` real seconds each)
once connected, and hangs up. Every webhook is signed and checked.

The offered load goes up in stages (`--rates` new calls per second, `--stage`
real seconds each). A stage fails, and the ramp stops, at the first 5xx or
failed webhook, at a webhook slower than Twilio's 15 s budget, or when the p99
of the stage's webhooks is over 1 s. For each stage it prints the calls placed
and served, the webhooks per call, p50/p99/max webhook latency, the most calls
held at once, and Redis memory per live call (growth at the peak over the calls
alive then) and per call after the stage (what stays: mostly the replay cache,
every webhook's answer kept 10 minutes). The simulator runs on the same
cores as the server: past a point it is the simulator, not `ivr`, that limits.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.sim.harness import run_gunicorn  # noqa: E402
from ivr.sim.people import Caller, Phone  # noqa: E402
from ivr.sim.records import HttpExchange  # noqa: E402
from ivr.sim.twilio import TwilioSim  # noqa: E402
from ivr.store import EmbeddedRedis, connect  # noqa: E402

ACCOUNT = "AC" + "c" * 32
TOKEN = "calls-bench-token"
SERVICE = "+15005550006"
AGENT_PHONE = "+1500555{:04d}"
CALLER_PHONE = "+1555{:07d}"
TWILIO_BUDGET = 15.0  # seconds Twilio waits for a webhook's answer
P99_LIMIT = 1.0

MAIN = f"""
numbers: ["{SERVICE}", "*"]
vars: {{company: Acme Bikes}}
start: welcome
steps:
  welcome:
    say: "Thanks for calling {{{{ vars.company }}}}."
    next: main_menu
  main_menu:
    menu: "For sales press 1. For support press 2."
    options: {{1: sales, 2: sales}}
    fallback: sales
  sales:
    queue: sales
    overflow: sorry
  sorry:
    hangup: "Sorry, nobody can take your call right now. Goodbye."
"""
QUEUES = """
sales:
  skills: [sales]
  strategy: longest-idle
  ring_timeout: 20
  max_wait: 120
  wrap_up: 0
  announce: {position: true, wait_time: true, every: 30}
"""


def write_folder(path: Path, agents: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "main.yaml").write_text(MAIN)
    (path / "queues.yaml").write_text(QUEUES)
    (path / "agents.yaml").write_text("".join(
        f'agent{i:04d}:\n  name: Agent {i}\n  phone: "{AGENT_PHONE.format(i)}"\n'
        f"  skills: {{sales: 3}}\n" for i in range(agents)))
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample_peak(sim: TwilioSim, store: redis.Redis, stop: threading.Event,
                peak: dict[str, float]) -> None:
    """Twice a second: the inbound calls alive, and Redis memory when they peak."""
    while not stop.wait(0.5):
        live = sum(1 for c in sim.live_calls() if c.record.direction == "inbound")
        if live >= peak["held"]:
            peak["held"] = live
            peak["memory"] = int(store.info("memory")["used_memory"])


@dataclass
class Stage:
    rate: float
    placed: int
    served: int
    webhooks: int
    failed: int
    p50: float
    p99: float
    worst: float
    held: int
    bytes_per_call: float
    bytes_per_placed: float
    completed_per_s: float

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.worst <= TWILIO_BUDGET and self.p99 <= P99_LIMIT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--rates", type=float, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--stage", type=float, default=15.0, help="real seconds per stage")
    parser.add_argument("--talk", type=float, default=300.0, help="simulated seconds talking")
    parser.add_argument("--time-scale", type=float, default=0.01)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ivr-calls-"))
    callflows = write_folder(workdir / "callflows", args.agents)
    embedded = EmbeddedRedis(workdir / "redis")
    redis_url = embedded.start()
    store = connect(redis_url)
    sim = TwilioSim(account_sid=ACCOUNT, auth_token=TOKEN, time_scale=args.time_scale)
    sim.start()
    server = run_gunicorn("wsgi:app", workers=args.workers, threads=8, env={
        "REDIS_URL": redis_url, "TWILIO_API_URL": sim.api_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_CALLFLOWS": str(callflows), "IVR_RECORDINGS": str(workdir),
    }, cwd=str(ROOT), log_path=workdir / "gunicorn.log", timeout=60,
        extra_args=["--keep-alive", "60", "--log-level", "warning"])
    sim.app_url = server.url
    stages: list[Stage] = []
    try:
        for i in range(args.agents):
            phone = AGENT_PHONE.format(i)
            sim.phones[phone] = Phone(inputs=["1"], ring_delay=1, hangup_after=None)
            sim.send_sms(phone, SERVICE, "ON")
        print(f"{args.agents} agents available; gunicorn {args.workers} workers x 8 threads; "
              f"a call talks {args.talk * args.time_scale:.1f} s real", flush=True)
        serial = 0
        for rate in args.rates:
            baseline_memory = int(store.info("memory")["used_memory"])
            before = len(sim.record.exchanges)
            started = time.monotonic()
            calls = []
            stop_sampling = threading.Event()
            peak: dict[str, float] = {"held": 0, "memory": 0}

            sampler = threading.Thread(target=sample_peak,
                                       args=(sim, store, stop_sampling, peak), daemon=True)
            sampler.start()
            while time.monotonic() - started < args.stage:
                due = started + len(calls) / rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
                serial += 1
                calls.append(sim.place_call(CALLER_PHONE.format(serial), SERVICE,
                                            Caller(inputs=["1"], talk_for=args.talk)))
            for call in calls:
                call.wait(180)
            elapsed = time.monotonic() - started
            stop_sampling.set()
            sampler.join()
            held = int(peak["held"])
            exchanges: list[HttpExchange] = sim.record.exchanges[before:]
            latencies = [e.elapsed for e in exchanges]
            failed = sum(1 for e in exchanges if e.error or not 200 <= e.status < 300)
            served = sum(1 for c in calls
                         if any(b.kind == "queue" for b in c.record.bridges))
            growth = max(0.0, peak["memory"] - baseline_memory)
            end_growth = max(0, int(store.info("memory")["used_memory"]) - baseline_memory)
            stage = Stage(rate=rate, placed=len(calls), served=served, webhooks=len(exchanges),
                          failed=failed, p50=percentile(latencies, 0.5),
                          p99=percentile(latencies, 0.99), worst=max(latencies, default=0.0),
                          held=held, bytes_per_call=growth / held if held else 0.0,
                          bytes_per_placed=end_growth / max(1, len(calls)),
                          completed_per_s=len(calls) / elapsed)
            stages.append(stage)
            print(f"offered {rate:5.1f} calls/s: placed {stage.placed}, served {stage.served}, "
                  f"webhooks {stage.webhooks} ({stage.webhooks / max(1, stage.placed):.1f}/call), "
                  f"failed {stage.failed}, p50 {stage.p50 * 1000:.0f} ms, "
                  f"p99 {stage.p99 * 1000:.0f} ms, max {stage.worst * 1000:.0f} ms, "
                  f"held {stage.held}, Redis {stage.bytes_per_call / 1024:.1f} KiB/live call, "
                  f"{stage.bytes_per_placed / 1024:.1f} KiB/call after the stage",
                  flush=True)
            if not stage.ok:
                print("stage failed: " + ("non-2xx or failed webhooks" if stage.failed else
                                          f"p99 {stage.p99:.2f} s > {P99_LIMIT} s"
                                          if stage.p99 > P99_LIMIT else "over Twilio's 15 s"))
                break
            if stage.served < stage.placed:
                print(f"note: {stage.placed - stage.served} callers not connected to an agent")
    finally:
        sim.stop()
        server.stop()
        embedded.stop()

    passed = [s for s in stages if s.ok]
    print("\n| offered calls/s | placed | served | webhooks/call | p50 ms | p99 ms | max ms "
          "| calls held | Redis KiB/live call | Redis KiB/call after | result |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for s in stages:
        print(f"| {s.rate:g} | {s.placed} | {s.served} | {s.webhooks / max(1, s.placed):.1f} "
              f"| {s.p50 * 1000:.0f} | {s.p99 * 1000:.0f} | {s.worst * 1000:.0f} | {s.held} "
              f"| {s.bytes_per_call / 1024:.1f} | {s.bytes_per_placed / 1024:.1f} "
              f"| {'ok' if s.ok else 'FAILED'} |")
    if passed:
        best = passed[-1]
        print(f"\nsustained: {best.rate:g} calls/s offered ({best.completed_per_s:.1f} calls/s "
              f"placed and finished over the stage and its drain), "
              f"{best.held} calls held at once; {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")


if __name__ == "__main__":
    main()
