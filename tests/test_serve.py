"""`ivr serve`: one embedded Redis shared by every worker, persisted across restarts,
and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests

from ivr.store import EmbeddedRedis, connect

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TWILIO_AUTH_TOKEN")}
        env.update(IVR_DATA_DIR=str(data_dir), IVR_CALLFLOWS=str(ROOT / "callflows"))
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                self.proc.kill()
                raise AssertionError(f"ivr serve did not come up:\n{out}")
            time.sleep(0.2)
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.family = [self.proc.pid] + [c.pid for c in children]

    def interrupt(self) -> str:
        """Ctrl-C, as a terminal delivers it to the foreground process."""
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return out


def _servers_for(data_dir: Path) -> list[psutil.Process]:
    """Live valkey-server processes with their working directory in `data_dir`.

    (The server rewrites its process title, so its command line can't be matched.)
    """
    found = []
    for proc in psutil.process_iter(["name", "cwd"]):
        try:
            ours = "valkey" in (proc.info.get("name") or "") and \
                Path(proc.info.get("cwd") or "/").resolve() == data_dir.resolve()
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    yield d
    for proc in _servers_for(d):  # never leave a server behind, even on failure
        proc.kill()


def test_serve_shares_one_embedded_server_and_keeps_data(data_dir: Path) -> None:
    port = _free_port()
    serve = Serve(data_dir, port)
    try:
        workers, run_ids = set(), set()

        def probe(_: int) -> dict[str, object]:
            return dict(requests.get(serve.url + "/healthz", timeout=20).json())

        # Concurrent probes, so that both workers' accept loops get some.
        with ThreadPoolExecutor(16) as pool:
            for _ in range(10):
                for body in pool.map(probe, range(64)):
                    workers.add(body["worker"])
                    run_ids.add(body["redis_run_id"])
                if len(workers) == 2:
                    break
        assert len(_servers_for(data_dir)) == 1
        assert len(run_ids) == 1, "every worker must use the same Redis server"
        assert len(workers) == 2, f"expected both workers to answer, saw {workers}"
        store = connect(EmbeddedRedis(data_dir).url)
        store.hset("ivr:test:agent", mapping={"status": "available"})

        # A worker that exits (gunicorn recycles it) must not take the shared server along.
        os.kill(sorted(workers)[0], signal.SIGTERM)
        time.sleep(2)
        assert store.ping()
        assert requests.get(serve.url + "/healthz", timeout=20).status_code == 200
        out = serve.interrupt()
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
    assert "/twilio/voice/fallback" in out and "DEV MODE" in out
    time.sleep(0.5)
    leftovers = [pid for pid in serve.family if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes left after Ctrl-C: {leftovers}"
    assert _servers_for(data_dir) == []

    serve = Serve(data_dir, port)
    try:
        store = connect(EmbeddedRedis(data_dir).url)
        assert store.hget("ivr:test:agent", "status") == "available"
    finally:
        serve.interrupt()
