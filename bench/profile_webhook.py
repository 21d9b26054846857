"""Where the CPU time of one `ivr` webhook goes: cProfile over many in-process requests.

    python bench/profile_webhook.py [--requests 2000] [--repeat 3] [--top 30] [--sort tottime]
    python bench/profile_webhook.py --instructions   # callgrind: repeatable, ~4 min

Builds the app on `bench/callflows/` (signature checks on, embedded Redis on a
Unix socket), prepares signed WSGI environs, and calls the WSGI app directly
(no HTTP server, no client): first the call's first webhook, then the menu's
Gather action, for `--requests` distinct calls. Prints the CPU time of this
process per webhook (best of `--repeat` runs: robust to other load on the
machine), the wall time of the same run, then a cProfile of one more run.
`--peers` first measures the bare, the tutorial and the stateful tutorial app through
the same harness.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.app import create_app  # noqa: E402
from ivr.store import EmbeddedRedis  # noqa: E402

TOKEN = "bench-auth-token"
BASE = "http://127.0.0.1:8000"


def environ(path: str, params: dict[str, str]) -> dict[str, Any]:
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    builder = EnvironBuilder(path=path, base_url=BASE, method="POST", data=urlencode(params),
                             content_type="application/x-www-form-urlencoded",
                             headers={"X-Twilio-Signature": signature})
    env: dict[str, Any] = builder.get_environ()
    body = env["wsgi.input"].read()
    env["ivr.body"] = body
    return env


def call(app: Any, env: dict[str, Any]) -> str:
    env = dict(env)
    env["wsgi.input"] = io.BytesIO(env["ivr.body"])
    status: list[str] = []
    body = b"".join(app(env, lambda s, h, *a: status.append(s)))
    if not status or not status[0].startswith("200"):
        raise RuntimeError(f"{status}: {body[:300]!r}")
    return body.decode()


def params_for(sid: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "b" * 32, "From": "+15005550100",
            "To": "+15005550006", "CallStatus": "ringing", "Direction": "inbound"}


def run(app: Any, n: int) -> tuple[float, float, float, float]:
    """Per first webhook and per Gather action, over n calls: wall seconds, then this
    process's CPU seconds (what the worker spends, whatever else runs on the machine)."""
    firsts = [environ("/twilio/voice", params_for("CA" + uuid.uuid4().hex)) for _ in range(n)]
    started, cpu = time.perf_counter(), time.process_time()
    answers = [call(app, env) for env in firsts]
    first, first_cpu = (time.perf_counter() - started) / n, (time.process_time() - cpu) / n
    gathers = []
    for env, answer in zip(firsts, answers, strict=True):
        m = re.search(r'<Gather[^>]*action="([^"]+)"', answer)
        assert m, answer
        action = m.group(1).replace("&amp;", "&").removeprefix(BASE)
        sid = re.search(r"CallSid=(CA\w+)", env["ivr.body"].decode()).group(1)  # type: ignore[union-attr]
        gathers.append(environ(action, {**params_for(sid), "Digits": "2",
                                        "CallStatus": "in-progress"}))
    started, cpu = time.perf_counter(), time.process_time()
    for env in gathers:
        call(app, env)
    return (first, (time.perf_counter() - started) / n, first_cpu,
            (time.process_time() - cpu) / n)


def peer_cpu(n: int, repeat: int, redis_url: str) -> None:
    """The peers through the same harness (their Gather needs no first webhook)."""
    import os

    os.environ["TWILIO_AUTH_TOKEN"] = TOKEN
    os.environ["REDIS_URL"] = redis_url
    from bench import bare_app, stateful_app, tutorial_app

    tutorial_app.validator = RequestValidator(TOKEN)  # (stateful_app checks with it too)
    for name, peer in (("bare", bare_app.app), ("tutorial", tutorial_app.app),
                       ("stateful tutorial", stateful_app.app)):
        results = []
        for _ in range(repeat):
            firsts = [environ("/twilio/voice", params_for("CA" + uuid.uuid4().hex))
                      for _ in range(n)]
            gathers = [environ("/twilio/voice/step?seq=1",
                               {**params_for("CA" + uuid.uuid4().hex), "Digits": "2"})
                       for _ in range(n)]
            cpu = time.process_time()
            for env in firsts:
                call(peer.wsgi_app, env)
            first = (time.process_time() - cpu) / n
            cpu = time.process_time()
            for env in gathers:
                call(peer.wsgi_app, env)
            results.append((first, (time.process_time() - cpu) / n))
        first, gather = min(results)
        print(f"CPU per webhook, {name} app (best of {repeat}): first webhook "
              f"{first * 1e6:.0f} µs, Gather action {gather * 1e6:.0f} µs")


def instructions(small: int, large: int) -> None:
    """Instructions per webhook, counted by valgrind's callgrind: unlike CPU time, the
    same count for the same code on every run, whatever else the machine is doing.

    Runs this script twice under callgrind (`small` and `large` calls, no profile)
    and divides the difference by the webhooks it adds, so that start-up, imports
    and the warm-up cancel out. The embedded Redis is another process, not counted.
    """
    import shutil
    import subprocess

    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    totals = {}
    for n in (small, large):
        out = Path(tempfile.mkdtemp(prefix="ivr-callgrind-")) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--requests", str(n), "--repeat", "1",
                        "--top", "0"], check=True, capture_output=True)
        summary = re.search(r"^summary: (\d+)", out.read_text(), re.M)
        assert summary, f"no summary in {out}"
        totals[n] = int(summary.group(1))
    per = (totals[large] - totals[small]) / (2 * (large - small))
    print(f"instructions per webhook (callgrind; first webhook and Gather action averaged, "
          f"{large} - {small} calls): {per:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", action="store_true",
                        help="also the CPU per request of bench/bare_app.py, "
                             "bench/tutorial_app.py and bench/stateful_app.py, same harness")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per webhook under valgrind instead")
    args = parser.parse_args()
    if args.instructions:
        instructions(50, 50 + args.requests // 5)
        return
    embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="ivr-profile-")))
    url = embedded.start()
    try:
        flask_app = create_app({"redis_url": url, "callflows": ROOT / "bench" / "callflows",
                                "twilio_auth_token": TOKEN, "twilio_account_sid": "AC" + "b" * 32,
                                "twilio_api_url": "http://127.0.0.1:9", "public_url": BASE,
                                "reload_interval": 3600})
        app = flask_app.wsgi_app
        if args.peers:
            peer_cpu(args.requests, args.repeat, url)
        run(app, 200)  # warm: scripts, phone book, template caches
        best = min((run(app, args.requests) for _ in range(args.repeat)), key=lambda r: r[2])
        first, gather, first_cpu, gather_cpu = best
        print(f"CPU per webhook (this process, best of {args.repeat}): first webhook "
              f"{first_cpu * 1e6:.0f} µs, Gather action {gather_cpu * 1e6:.0f} µs")
        print(f"wall per webhook (same run; includes waiting for Redis): first webhook "
              f"{first * 1e6:.0f} µs, Gather action {gather * 1e6:.0f} µs")
        if args.top > 0:  # --top 0: no profile (what --instructions runs)
            profiler = cProfile.Profile()
            profiler.enable()
            run(app, args.requests)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats(args.sort).print_stats(args.top)
        for ext in ("ivr.router", "ivr.flows"):
            flask_app.extensions[ext].stop()
    finally:
        embedded.stop()


if __name__ == "__main__":
    main()
