"""Run a WSGI app on loopback for tests: in-process (werkzeug) or as gunicorn workers.

Why two ways: end-to-end tests want the app in the same process (fast, one
debugger), load tests want real worker processes sharing one Redis, as in
production (`gunicorn wsgi:app`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


@dataclass
class RunningServer:
    """A threaded werkzeug server in a daemon thread; `stop()` closes the socket."""

    server: BaseWSGIServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the simulator's own API, `ivr simulate`)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve_wsgi(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False
) -> RunningServer:
    """Serve `app` on a free loopback port (port 0) and return once it accepts connections.

    `threaded=True`: a call waiting in a queue keeps requests in flight while
    other webhooks must still be answered, as on a real server.
    """
    server = make_server(host, port, app, threaded=True,
                         request_handler=_QuietHandler if quiet else None)
    # Plenty of concurrent webhooks arrive at once in load tests; the default backlog is 5.
    server.socket.listen(128)
    actual_port = server.server_port
    # A short poll interval: stop() waits for the loop to notice, and tests stop many servers.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05},
        name=f"wsgi-{actual_port}", daemon=True,
    )
    thread.start()
    return RunningServer(server=server, thread=thread, host=host, port=actual_port)


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out; gunicorn needs a number before it binds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class RunningProcess:
    """A gunicorn master started in its own process group, so `stop()` leaves no orphan."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole group (master and workers), SIGKILL what is left after `timeout`."""
        if self._stopped:
            return
        self._stopped = True
        pgid = self.process.pid  # start_new_session: the master leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # stragglers (workers stuck in a request)
        if self.process.poll() is None:
            self.process.wait(timeout=5)

    def __enter__(self) -> RunningProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_gunicorn(
    app_spec: str,
    *,
    workers: int,
    env: Mapping[str, str],
    port: int = 0,
    host: str = "127.0.0.1",
    threads: int = 4,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
    log_path: Path | None = None,
    extra_args: list[str] | None = None,
) -> RunningProcess:
    """Start `python -m gunicorn app_spec` and wait until `GET /` gets any HTTP answer.

    `env` is added to this process's environment (REDIS_URL, TWILIO_API_URL, ...).
    """
    bind_port = port or free_port(host)
    args = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{bind_port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--graceful-timeout", "5",
        "--timeout", "60",
        "--no-control-socket",  # one fixed path per user: parallel test servers would share it
        *(extra_args or []),
        app_spec,
    ]
    full_env = {**os.environ, **env}
    with contextlib.ExitStack() as stack:
        out: Any = (stack.enter_context(open(log_path, "ab")) if log_path
                    else subprocess.DEVNULL)
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
            start_new_session=True,
        )
    running = RunningProcess(process=process, host=host, port=bind_port, log_path=log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            running.stop()
            raise RuntimeError(
                f"gunicorn exited with {process.returncode} at start\n{running.log()[-4000:]}"
            )
        try:
            requests.get(running.url + "/", timeout=1.0)
            return running
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(
                f"gunicorn did not answer within {timeout}s\n{running.log()[-4000:]}"
            )
        time.sleep(0.1)
