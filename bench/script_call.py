"""The client's CPU for one script call: redis-py's `Script.__call__` against
`ivr.store.run_script` (the hot path's calls on a connection the thread keeps).

    python bench/script_call.py [--calls 5000] [--repeat 7]

A script that returns its first argument, called with a webhook commit's shape (4 keys,
a 300-byte answer and 30 more arguments), on the embedded Redis over its Unix socket
(or `REDIS_URL`). Prints this process's CPU time per call, best of `--repeat` runs of
`--calls` calls each (CPU time, not wall: the server's own work is another process's);
the three take turns within each run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.store import EmbeddedRedis, connect, run_script  # noqa: E402


def best_cpu(rows: list[tuple[str, Callable[[], Any]]], calls: int,
             repeat: int) -> dict[str, float]:
    """Microseconds of this process's CPU per call for each row, best of `repeat` runs;
    the rows take turns within each run, so that they see the same machine."""
    best = {name: float("inf") for name, _ in rows}
    for _name, call in rows:
        call()
    for _ in range(repeat):
        for name, call in rows:
            started = time.process_time()
            for _ in range(calls):
                call()
            best[name] = min(best[name], (time.process_time() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="ivr-bench-")), persist=False)
        url = embedded.start()
    try:
        store = connect(url)
        script = store.register_script("return ARGV[1]")
        keys = ["replay:x", "call:x", "calls", "steps:x"]
        argv = ["x" * 300, *(str(i) for i in range(30))]
        rows = [
            ("redis-py's Script.__call__", lambda: script(keys=keys, args=argv)),
            ("ivr.store.run_script", lambda: run_script(script, keys, argv)),
            ("PING through redis-py (for scale)", store.ping),
        ]
        for name, cpu in best_cpu(rows, args.calls, args.repeat).items():
            print(f"{name:36} {cpu:6.1f} µs CPU per call")
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    main()
