"""Webhook throughput and latency of `ivr` against a bare and a tutorial-style Flask app.

    python bench/webhooks.py [--duration 10] [--connections 32] [--rounds 1]
                             [--write docs/benchmarks.md]

Needs `wrk` (Debian package `wrk`). For each worker count (2 and 4) it starts
gunicorn (gthread, 8 threads) once per server, with the same settings: with
`bench/bare_app.py` (constant TwiML, the ceiling), with `bench/tutorial_app.py`
(what a user writes by hand after Twilio's Flask IVR tutorial: signature check,
form, TwiML built per request, no state), with `bench/stateful_app.py` (the
tutorial plus one Redis script call per webhook) and with `ivr` on
`bench/callflows/` with signature checks on, and measures two webhooks:

- first: `POST /twilio/voice` for a new call (flow lookup, call state written
  to Redis, TwiML of the welcome and the menu);
- gather: the menu's Gather action for a call waiting at the menu (state read,
  step advanced, state written).

Every request is a distinct, correctly signed delivery (precomputed and
cycled through by a wrk Lua script), so the replay cache never answers for
the app. The load generator shares the machine's cores with the server.

Besides requests per second, each row gives the CPU the server's processes
and Redis spent per request (psutil and Redis's INFO), which other load on a
shared machine disturbs far less. `--rounds N` measures every server N times, the
servers taking turns, and reports each one's median run: on a shared machine the
same code's req/s moves by a third between runs minutes apart. `--baseline DIR`
adds an earlier checkout of `ivr` to the same run ("ivr before"),
`--baseline-without-hiredis` runs it with redis-py's pure-Python parser.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import psutil
import redis
import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.store import EmbeddedRedis, connect  # noqa: E402

TOKEN = "bench-auth-token"
WRK_THREADS = 2
ACCOUNT = "AC" + "b" * 32
TO = "+15005550006"


SERVERS = (("bare Flask", "bench.bare_app:app"),
           ("tutorial", "bench.tutorial_app:app"),
           ("stateful tutorial", "bench.stateful_app:app"),
           ("ivr", "ivr.app:create_app()"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call_params(sid: str) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT, "From": "+15005550100", "To": TO,
            "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def lua_table(requests_: list[tuple[str, str, str]]) -> str:
    """A wrk script that sends each precomputed (path, body, signature) once, in turn."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = ",\n".join(f"{{{q(p)}, {q(b)}, {q(s)}}}" for p, b, s in requests_)
    return f"""
local THREADS = {WRK_THREADS}
local reqs = {{
{rows}
}}
local n = #reqs
local threads = {{}}
local i = 0
local step = 1
-- Thread k sends requests k, k+T, k+2T, ...: no two threads ever send the same one.
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
function init(args)
  i = tonumber(id) or 1
  step = THREADS
end
function request()
  local r = reqs[((i - 1) % n) + 1]
  i = i + step
  return wrk.format("POST", r[1], {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = r[3]}}, r[2])
end
"""


class Gunicorn:
    def __init__(self, spec: str, workers: int, env: dict[str, str],
                 root: Path = ROOT, pythonpath: str | None = None, threads: int = 8,
                 worker_class: str = "gthread") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "IVR_PUBLIC_URL": self.url,
                    "PYTHONPATH": pythonpath or str(root)}
        # The servers' logs go to a file: an unread pipe would fill and stall them.
        self.log = tempfile.NamedTemporaryFile("w+", prefix="ivr-bench-", suffix=".log")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", spec, "-b", f"127.0.0.1:{self.port}",
             "-w", str(workers), "-k", worker_class, "--threads", str(threads),
             "--log-level", "warning",
             "--no-control-socket"],
            cwd=root, env=full_env, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.post(self.url + "/ping", timeout=1)
                break
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {spec} did not start") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU of the gunicorn arbiter and its workers so far."""
        total = 0.0
        root = psutil.Process(self.proc.pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.seek(0)
        lines = self.log.read().splitlines()
        if lines:
            print(f"  (server log: {len(lines)} lines; last: {lines[-1][:200]})")
        self.log.close()


def signed(url_base: str, path: str, params: dict[str, str]) -> tuple[str, str, str]:
    signature = RequestValidator(TOKEN).compute_signature(url_base + path, params)
    return path, urlencode(params), signature


def run_wrk(url: str, script: str, duration: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run(
            ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency",
             "-s", path, url],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(path)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "requests": total,
            "errors": int(non2xx.group(1)) if non2xx else 0}


def redis_cpu_seconds(store: redis.Redis) -> float:
    info = store.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measured(server: Gunicorn, store: redis.Redis, script: str, duration: int,
             connections: int) -> dict[str, float]:
    """One wrk run, plus the CPU the server's processes and Redis spent per request: a
    figure that other load on the machine disturbs far less than requests per second."""
    cpu, redis_cpu = server.cpu_seconds(), redis_cpu_seconds(store)
    result = run_wrk(server.url, script, duration, connections)
    n = max(1, int(result["requests"]))
    result["cpu_us"] = (server.cpu_seconds() - cpu) / n * 1e6
    result["redis_us"] = (redis_cpu_seconds(store) - redis_cpu) / n * 1e6
    return result


def precreate_calls(url: str, count: int) -> list[tuple[str, str]]:
    """Calls waiting at the menu: (CallSid, the Gather action path with its query)."""
    def one(_: int) -> tuple[str, str]:
        sid = new_sid()
        params = call_params(sid)
        path, body, sig = signed(url, "/twilio/voice", params)
        resp = requests.post(url + path, data=params, headers={"X-Twilio-Signature": sig},
                             timeout=10)
        m = re.search(r'<Gather[^>]*action="([^"]+)"', resp.text)
        if not m:
            raise RuntimeError(f"no Gather in first answer: {resp.text[:300]}")
        action = m.group(1).replace("&amp;", "&")
        return sid, action.removeprefix(url)

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every server this many times, the servers taking "
                             "turns, and report each one's median run")
    parser.add_argument("--only", nargs="+", metavar="SERVER",
                        help="measure only these servers (e.g. 'ivr before' ivr); the "
                             "shares of peers left out are shown as -")
    parser.add_argument("--threads", type=int, default=8,
                        help="gunicorn threads per worker, the same for every server")
    parser.add_argument("--worker-class", default="gthread",
                        help="gunicorn worker class, the same for every server")
    parser.add_argument("--write", type=Path, help="append the results table to this file")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of an earlier ivr, measured in the same run as "
                             "'ivr before' (e.g. `git archive COMMIT | tar -x -C DIR`)")
    parser.add_argument("--baseline-without-hiredis", action="store_true",
                        help="run the baseline with redis-py's pure-Python parser")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/webhooks.py needs wrk: apt-get install wrk")

    embedded = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="ivr-bench-")))
        redis_url = embedded.start()
    store = connect(redis_url)
    env = {"REDIS_URL": redis_url, "IVR_CALLFLOWS": str(ROOT / "bench" / "callflows"),
           "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT,
           "TWILIO_API_URL": "http://127.0.0.1:9"}
    servers = list(SERVERS)
    if args.baseline:
        servers.insert(2, ("ivr before", "ivr.app:create_app()"))
    if args.only:
        servers = [(name, spec) for name, spec in servers if name in args.only]
    # A module that hides hiredis: redis-py then falls back to its Python parser.
    no_hiredis = tempfile.mkdtemp(prefix="ivr-bench-nohiredis-")
    Path(no_hiredis, "hiredis.py").write_text("raise ImportError('hidden by bench/webhooks.py')\n")
    runs: dict[tuple[int, str, str], list[dict[str, float]]] = {}
    try:
        for workers, _round, (name, spec) in (
                (w, k, server) for w in args.workers for k in range(args.rounds)
                for server in servers):
            root = args.baseline.resolve() if name == "ivr before" else ROOT
            pythonpath = str(root)
            if name == "ivr before" and args.baseline_without_hiredis:
                pythonpath = f"{no_hiredis}{os.pathsep}{root}"
            server = Gunicorn(spec, workers, env, root, pythonpath, args.threads,
                              args.worker_class)
            try:
                first = [signed(server.url, "/twilio/voice", call_params(new_sid()))
                         for _ in range(40_000)]
                result_first = measured(server, store, lua_table(first), args.duration,
                                        args.connections)
                if name.startswith("ivr"):
                    needed = int(result_first["rps"] * args.duration * 1.5) + 1000
                    calls = precreate_calls(server.url, needed)
                else:
                    calls = [(new_sid(), "/twilio/voice/step?seq=1") for _ in range(20_000)]
                gathers = []
                for sid, action in calls:
                    params = {**call_params(sid), "Digits": "2", "CallStatus": "in-progress"}
                    gathers.append(signed(server.url, action, params))
                result_gather = measured(server, store, lua_table(gathers),
                                         args.duration, args.connections)
                if name.startswith("ivr") and result_gather["requests"] > len(calls):
                    print("warning: gather requests wrapped around the precreated calls")
            finally:
                server.stop()
            for scenario, result in (("first webhook", result_first),
                                     ("Gather action", result_gather)):
                runs.setdefault((workers, scenario, name), []).append(result)
                print(f"{workers} workers  {scenario:14} {name:17} "
                      f"{result['rps']:8.0f} req/s  p50 {result['p50']:6.2f} ms  "
                      f"p99 {result['p99']:6.2f} ms  non-2xx {result['errors']}  "
                      f"CPU/req: server {result['cpu_us']:5.0f} µs, "
                      f"Redis {result['redis_us']:4.0f} µs", flush=True)
                if result["errors"]:
                    print(f"warning: {name} answered {result['errors']} non-2xx", flush=True)
    finally:
        if embedded:
            embedded.stop()

    # Each server's median run by req/s (its CPU columns are that run's own).
    rows = [(w, scenario, name, sorted(results, key=lambda r: r["rps"])[len(results) // 2])
            for (w, scenario, name), results in runs.items()]
    table = ["| workers | webhook | server | req/s | p50 ms | p99 ms | share of bare "
             "| share of tutorial | share of stateful tutorial | server CPU µs/req "
             "| Redis CPU µs/req |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    peers = {(w, s, n): res["rps"] for w, s, n, res in rows}
    def share(res: dict[str, float], workers: int, scenario: str, peer: str) -> str:
        base = peers.get((workers, scenario, peer))
        return f"{res['rps'] / base * 100:.0f}%" if base else "-"

    for workers, scenario, name, res in rows:
        shares = " | ".join(share(res, workers, scenario, peer)
                            for peer in ("bare Flask", "tutorial", "stateful tutorial"))
        table.append(f"| {workers} | {scenario} | {name} | {res['rps']:.0f} | {res['p50']:.2f} "
                     f"| {res['p99']:.2f} | {shares} "
                     f"| {res['cpu_us']:.0f} | {res['redis_us']:.0f} |")
    text = "\n".join(table)
    print("\n" + text)
    if args.write:
        machine = (f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}")
        redis_kind = "embedded valkey-server (unix socket)" if embedded else redis_url
        with open(args.write, "a") as f:
            f.write(f"\n### Webhooks — {time.strftime('%Y-%m-%d')}\n\n"
                    f"Command: `python bench/webhooks.py {shlex.join(sys.argv[1:])}`  \n"
                    f"Machine: {machine}; Redis: {redis_kind}; load from wrk "
                    f"(2 threads, {args.connections} connections) on the same cores.\n\n"
                    f"{text}\n")


if __name__ == "__main__":
    main()
