"""serve_wsgi and run_gunicorn: real servers on loopback, stopped cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from flask import Flask

from ivr.sim.harness import run_gunicorn, serve_wsgi


def test_serve_wsgi_answers_concurrently_and_stops() -> None:
    app = Flask("t")

    @app.get("/hello")
    def hello() -> str:
        return "hi"

    server = serve_wsgi(app)
    assert server.port > 0
    assert requests.get(server.url + "/hello", timeout=5).text == "hi"
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/hello", timeout=1)


def test_run_gunicorn_starts_workers_and_leaves_no_orphan(tmp_path: Path) -> None:
    here = Path(__file__).parent
    proc = run_gunicorn(
        "wsgi_echo:app", workers=2, env={"ECHO_TAG": "tagged"}, cwd=here,
        log_path=tmp_path / "gunicorn.log",
    )
    try:
        pids: set[int] = set()
        for _ in range(20):
            text = requests.get(proc.url + "/", timeout=5).text
            pid_text, tag = text.split()
            assert tag == "tagged"
            pids.add(int(pid_text))
        assert proc.process.pid not in pids  # workers answer, not the master
    finally:
        proc.stop()
    assert proc.process.poll() is not None
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
