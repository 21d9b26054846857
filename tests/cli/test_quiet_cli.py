"""Quiet, honest commands: no INFO noise, nothing left running, plain words on failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ivr import keys
from ivr.cli import main
from ivr.store import SERVER_FILE, ServerRecord

from .procs import DEMO, ROOT, free_port, ivr_env, valkey_servers


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "data"
    yield d
    for proc in valkey_servers(d):
        proc.kill()


def run(args: list[str], env: dict[str, str],
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ivr.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_agents_list_is_quiet_and_leaves_no_redis_behind(data_dir: Path) -> None:
    done = run(["agents", "list"], ivr_env(data_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["AGENT", "NAME", "STATUS"]
    assert "alice" in done.stdout
    assert "INFO" not in done.stdout + done.stderr
    assert done.stderr == ""
    assert valkey_servers(data_dir) == [], "ivr agents left an embedded Redis running"
    # What it started for itself kept its data: a status set now is there next time.
    assert run(["agents", "set", "bob", "on"], ivr_env(data_dir)).returncode == 0
    again = run(["agents", "list", "--json"], ivr_env(data_dir))
    assert '"status": "available"' in again.stdout
    assert valkey_servers(data_dir) == []


def test_verbose_shows_the_info_lines(data_dir: Path) -> None:
    done = run(["-v", "agents", "list"], ivr_env(data_dir))
    assert done.returncode == 0, done.stderr
    assert "INFO ivr." in done.stderr


def test_check_prints_its_summary_and_nothing_else(data_dir: Path) -> None:
    done = run(["check", str(DEMO)], ivr_env(data_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("— OK") and len(done.stdout.splitlines()) == 1
    assert done.stderr == ""


def test_serve_says_plainly_that_the_port_is_taken(data_dir: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = run(["serve", "--port", str(port)], ivr_env(data_dir), timeout=30)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert valkey_servers(data_dir) == [] and not (data_dir / SERVER_FILE).exists()


def cli(args: list[str], env: Mapping[str, str | None]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_graph_takes_a_file_name_like_a_flow_name(tmp_path: Path) -> None:
    env = {"IVR_CALLFLOWS": str(DEMO), "IVR_DATA_DIR": str(tmp_path / "d")}
    code, by_name = cli(["graph", "main"], env)
    assert code == 0, by_name
    assert by_name.startswith("flowchart")
    assert cli(["graph", "main.yaml"], env) == (0, by_name)
    # A path names its folder too (here IVR_CALLFLOWS points at an empty one).
    empty = tmp_path / "empty"
    empty.mkdir()
    other = {"IVR_CALLFLOWS": str(empty), "IVR_DATA_DIR": str(tmp_path / "d")}
    assert cli(["graph", str(DEMO / "main.yaml")], other) == (0, by_name)


@pytest.fixture()
def stand_in() -> Iterator[int]:
    """A process that looks like `ivr serve` (its argv says so) and does nothing."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                             "ivr", "serve"])
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    for _ in range(200):  # until the fork has become that program
        if b"serve" in cmdline.read_bytes():
            break
        time.sleep(0.01)
    yield proc.pid
    proc.kill()
    proc.wait()


def record_for(data_dir: Path, pid: int, callflows: Path, redis_url: str) -> None:
    """A server "running" as `pid` that reads `callflows`."""
    ServerRecord(pid=pid, url="http://127.0.0.1:8000", callflows=str(callflows),
                 recordings=str(ROOT / "recordings"), redis_url=redis_url).write(data_dir)


def test_a_record_left_by_a_dead_server_is_ignored(tmp_path: Path, stand_in: int) -> None:
    record_for(tmp_path, stand_in, DEMO, "redis://127.0.0.1:1/0")
    assert ServerRecord.read(tmp_path) is not None
    record_for(tmp_path, os.getpid(), DEMO, "redis://127.0.0.1:1/0")  # alive, but not serving
    assert ServerRecord.read(tmp_path) is None
    gone = subprocess.Popen([sys.executable, "-c", "pass", "ivr", "serve"])
    gone.wait()
    record_for(tmp_path, gone.pid, DEMO, "redis://127.0.0.1:1/0")
    assert ServerRecord.read(tmp_path) is None


def test_commands_say_when_the_server_reads_another_folder(
    tmp_path: Path, redis_url: str, r: redis.Redis, stand_in: int
) -> None:
    data_dir = tmp_path / "d"
    record_for(data_dir, stand_in, DEMO, redis_url)
    mine = tmp_path / "callflows"
    mine.mkdir()
    (mine / "main.yaml").write_text(
        'numbers: ["*"]\nstart: hi\nsteps:\n  hi:\n    hangup: "Hi."\n')
    env = {"IVR_DATA_DIR": str(data_dir), "IVR_CALLFLOWS": str(mine)}
    code, out = cli(["check", str(mine)], env)
    assert code == 0
    assert f"the server running at http://127.0.0.1:8000 reads call flows from {DEMO}" in out
    code, out = cli(["check", str(DEMO)], env)
    assert code == 0 and "note:" not in out
    # `ivr agents` uses the running server's folder and Redis: its roster stays the server's.
    code, out = cli(["agents", "list"], {**env, "REDIS_URL": None})
    assert code == 0, out
    assert "using the server's" in out
    assert "alice" in out and "Alice Jones" in out
    assert r.hlen(keys.acd("agents")) == 6  # the demo's six (a supervisor too), in its Redis
