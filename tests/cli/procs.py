"""Commands run as real subprocesses, read as a person would read the terminal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "callflows"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ivr_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This environment minus anything that would point a command elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_API_URL",
                        "IVR_PUBLIC_URL", "IVR_ADMIN_TOKEN")}
    env.update(IVR_DATA_DIR=str(data_dir), IVR_CALLFLOWS=str(DEMO),
               IVR_RECORDINGS=str(ROOT / "recordings"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class Proc:
    """`python -m ivr.cli ARGS`, its output collected as it comes (prompts have no newline)."""

    def __init__(self, args: list[str], env: dict[str, str], *, stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", *args], env=env, cwd=ROOT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            chunk = self.proc.stdout.read(1)
            if not chunk:
                return
            with self._lock:
                self._chunks.append(chunk)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._chunks)

    def expect(self, text: str, timeout: float = 30.0, *, after: int = 0) -> int:
        """Wait until `text` shows (past offset `after`); its offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.output.find(text, after)
            if found >= 0:
                return found
            if self.proc.poll() is not None:
                self._reader.join(2)
                found = self.output.find(text, after)
                if found >= 0:
                    return found
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never showed; output so far:\n{self.output}")

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(2)
        return code

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C, as a terminal delivers it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        if self.proc.poll() is None:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
            self.proc.wait(5)


def start_serve(data_dir: Path, port: int, *args: str, **env: str) -> Proc:
    """`ivr serve` on `port`, returned once /healthz answers."""
    serve = Proc(["serve", "--port", str(port), *args], ivr_env(data_dir, **env))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return serve
        except requests.RequestException:
            pass
        if serve.proc.poll() is not None or time.monotonic() > deadline:
            serve.kill()
            raise AssertionError(f"ivr serve did not come up:\n{serve.output}")
        time.sleep(0.2)


def valkey_servers(data_dir: Path) -> list[psutil.Process]:
    """Live valkey-server processes working in `data_dir` (their title hides the command)."""
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
