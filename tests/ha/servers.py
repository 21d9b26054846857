"""Real `redis-server` and `redis-sentinel` processes (Debian's packages) on loopback:
one primary, its replicas, and the Sentinels watching them.

Ports come from 26380-26399 only (the machine's own Redis on 6379 is shared and
never touched). Every process is our child, in its own process group, and is
stopped by `SentinelGroup.stop()`; `kill_primary()` sends SIGKILL, as a crash would.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis

PORTS = range(26380, 26400)
SERVICE = "ivr"


def missing_binaries() -> str | None:
    """Why the group cannot run here, or None."""
    missing = [name for name in ("redis-server", "redis-sentinel") if not shutil.which(name)]
    if missing:
        return (f"{' and '.join(missing)} not installed (Debian: apt-get install "
                "redis-server redis-sentinel; .ci/run installs them)")
    return None


def free_ports(n: int) -> list[int]:
    """n ports of our range that nothing listens on now. The scan starts at a random place
    in the range, so that two test runs on one machine rarely pick the same ports between
    one's check and its servers' start."""
    found = []
    start = random.randrange(len(PORTS))
    for port in [*PORTS[start:], *PORTS[:start]]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server does
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"fewer than {n} free ports in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Node:
    name: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    password: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def log(self) -> str:
        path = self.directory / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, **kw: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           decode_responses=True, socket_timeout=2,
                           socket_connect_timeout=1, **kw)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save, connections reset (a crash)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def _start(name: str, binary: str, config: Path, port: int, directory: Path,
           password: str | None) -> Node:
    process = subprocess.Popen([binary, str(config)], cwd=directory,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    node = Node(name, port, directory, process, password)
    deadline = time.monotonic() + 10
    while True:
        try:
            with node.client() as c:
                c.ping()
            return node
        except redis.RedisError:
            if not node.alive() or time.monotonic() > deadline:
                node.stop()
                raise RuntimeError(f"{name} did not start on {port}:\n{node.log[-2000:]}") from None
            time.sleep(0.02)


def _sentinel_id(j: int) -> str:
    return f"{j + 1:040x}"


def _ask(node: Node, question: Callable[[redis.Redis], Any]) -> Any:
    with node.client() as c:
        return question(c)


@dataclass
class SentinelGroup:
    """A primary, `replicas` replicas and `sentinels` Sentinels (quorum: a majority)."""

    base: Path
    replicas: int = 1
    sentinels: int = 3
    password: str | None = None
    down_after_ms: int = 1000
    failover_timeout_ms: int = 3000
    servers: list[Node] = field(default_factory=list)  # [primary, replicas...] as started
    watchers: list[Node] = field(default_factory=list)

    def start(self) -> SentinelGroup:
        ports = free_ports(1 + self.replicas + self.sentinels)
        try:
            self._start(ports)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, ports: list[int]) -> None:
        auth = ""
        if self.password:
            auth = f"requirepass {self.password}\nmasterauth {self.password}\n"
        for i in range(1 + self.replicas):
            port = ports[i]
            name = "primary" if i == 0 else f"replica{i}"
            d = self.base / name
            d.mkdir(parents=True)
            replicaof = f"replicaof 127.0.0.1 {ports[0]}\n" if i else ""
            (d / "redis.conf").write_text(
                f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d / 'log'}\n"
                'save ""\nappendonly no\nrepl-diskless-sync-delay 0\n' + auth + replicaof)
            self.servers.append(_start(name, shutil.which("redis-server") or "redis-server",
                                       d / "redis.conf", port, d, self.password))
        quorum = self.sentinels // 2 + 1
        for j in range(self.sentinels):
            port = ports[1 + self.replicas + j]
            d = self.base / f"sentinel{j + 1}"
            d.mkdir(parents=True)
            monitor = (f"sentinel monitor {SERVICE} 127.0.0.1 {ports[0]} {quorum}\n"
                       f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
                       f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}\n"
                       f"sentinel parallel-syncs {SERVICE} 1\n")
            if self.password:
                monitor += f"sentinel auth-pass {SERVICE} {self.password}\n"
            # Introduced to each other and to the replicas up front: no waiting for the
            # hello messages (every 2 s) before there is a quorum.
            monitor += f"sentinel myid {_sentinel_id(j)}\n"
            monitor += "".join(
                f"sentinel known-sentinel {SERVICE} 127.0.0.1 {ports[1 + self.replicas + k]} "
                f"{_sentinel_id(k)}\n" for k in range(self.sentinels) if k != j)
            monitor += "".join(f"sentinel known-replica {SERVICE} 127.0.0.1 {ports[1 + i]}\n"
                               for i in range(self.replicas))
            (d / "sentinel.conf").write_text(
                f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d / 'log'}\n" + monitor)
            self.watchers.append(_start(f"sentinel{j + 1}",
                                        shutil.which("redis-sentinel") or "redis-sentinel",
                                        d / "sentinel.conf", port, d, None))
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Replicas in sync and receiving writes, and every Sentinel knowing every replica
        and every other Sentinel (otherwise there is no quorum to fail over with)."""
        deadline = time.monotonic() + timeout
        while True:
            ok = all(_ask(s, lambda c: c.info("replication")).get("master_link_status") == "up"
                     for s in self.servers[1:])
            for w in self.watchers:
                state = _ask(w, lambda c: c.sentinel_master(SERVICE))
                ok = ok and int(state["num-slaves"]) >= self.replicas and \
                    int(state["num-other-sentinels"]) >= self.sentinels - 1
            if ok and self.replicas:
                # A replica just synced gets the stream of writes only after its first
                # acknowledgement (up to a second later): until then a crash of the
                # primary loses everything written. WAIT returns once they all have it.
                with self.servers[0].client() as primary:
                    primary.set("sentinel-group:ready", "1")
                    ok = int(primary.wait(self.replicas, 2000)) >= self.replicas
                    primary.delete("sentinel-group:ready")
            if ok:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the Sentinel group did not settle:\n"
                                   + "\n".join(w.log[-1500:] for w in self.watchers))
            time.sleep(0.1)

    def url(self, db: int = 0) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{w.port}" for w in self.watchers)
        return f"redis+sentinel://{auth}{hosts}/{SERVICE}/{db}"

    def master_address(self) -> tuple[str, int] | None:
        """What the first Sentinel that answers says (None while it has no healthy primary)."""
        for w in self.watchers:
            if not w.alive():
                continue
            try:
                state = _ask(w, lambda c: c.sentinel_master(SERVICE))
            except redis.RedisError:
                continue
            if state.get("is_sdown") or state.get("is_odown"):
                return None
            return (str(state["ip"]), int(state["port"]))
        return None

    def primary(self) -> Node:
        address = self.master_address()
        for node in self.servers:
            if node.address == address:
                return node
        raise RuntimeError(f"no running server at {address}")

    def kill_primary(self) -> Node:
        node = self.primary()
        node.kill()
        return node

    def wait_promotion(self, old: Node, timeout: float = 30.0) -> Node:
        """Wait until every Sentinel names a new primary that says it is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            addresses = set()
            for w in self.watchers:
                with contextlib.suppress(redis.RedisError):
                    state = _ask(w, lambda c: c.sentinel_master(SERVICE))
                    if not (state.get("is_sdown") or state.get("is_odown")):
                        addresses.add((str(state["ip"]), int(state["port"])))
            if len(addresses) == 1 and old.address not in addresses:
                node = next(n for n in self.servers if n.address in addresses)
                with contextlib.suppress(redis.RedisError):
                    if _ask(node, lambda c: c.info("replication"))["role"] == "master":
                        return node
            time.sleep(0.05)
        raise RuntimeError(f"no promotion within {timeout}s:\n"
                           + "\n".join(w.log[-1500:] for w in self.watchers))

    def stop(self) -> None:
        """SIGKILL everything: the data is throw-away, and a clean shutdown of a primary
        waits for its replicas first."""
        for node in self.watchers + self.servers:
            if node.alive():
                node.kill()
