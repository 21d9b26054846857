"""The `redis+sentinel://` client against real Sentinels: it finds the primary, retries
through a demotion (READONLY) and a crash of the primary (SIGKILL), and the scripts run
on the promoted replica although its script cache is empty (NOSCRIPT).

The crash tests wait for a real failover (about 3 s each): they carry the `load` marker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from ivr.sentinel import FailoverRetry
from ivr.store import connect, execute_pipeline, queue_script
from tests.ha.servers import SentinelGroup, free_ports

Group = Callable[..., SentinelGroup]


def test_finds_the_primary_through_the_sentinels(sentinel_group: Group) -> None:
    group = sentinel_group(password="pa:ss/w@rd")
    client = connect(group.url(db=2))
    client.set("greeting", "hello")
    assert client.get("greeting") == "hello"  # decode_responses, as every other URL
    with group.servers[0].client(db=2) as direct:
        assert direct.get("greeting") == "hello"
    with group.servers[1].client(db=2) as replica:
        deadline = time.monotonic() + 5
        while replica.get("greeting") != "hello":
            assert time.monotonic() < deadline, "never replicated"
            time.sleep(0.02)


def test_a_dead_sentinel_in_the_list_is_skipped(sentinel_group: Group) -> None:
    group = sentinel_group(sentinels=1)
    nobody = free_ports(1)[0]  # nothing listens there
    url = group.url().replace("://", f"://127.0.0.1:{nobody},", 1)
    client = connect(url)
    started = time.monotonic()
    assert client.ping()
    assert time.monotonic() - started < 1.0


def test_a_wrong_password_fails_at_once(sentinel_group: Group) -> None:
    group = sentinel_group(sentinels=1, password="right")
    client = connect(group.url().replace(":right@", ":wrong@"))
    started = time.monotonic()
    with pytest.raises(redis.AuthenticationError):
        client.ping()
    assert time.monotonic() - started < 1.0  # not retried for the failover budget


def test_readonly_from_a_demoted_primary_is_retried_on_the_real_one(
        sentinel_group: Group) -> None:
    """A connection left on a node that is now a replica answers READONLY to a write:
    the client drops it, asks the Sentinels again, and the write lands on the primary."""
    group = sentinel_group(sentinels=1)
    primary, replica = group.servers
    # One connection, so that the test can move it (the pool would discard a connection
    # to an address that is not the primary's when it comes back).
    client = redis.Redis(connection_pool=connect(group.url()).connection_pool,
                         single_connection_client=True)
    assert client.ping()
    conn = client.connection
    assert conn is not None and (conn.host, conn.port) == primary.address
    conn.disconnect()
    conn.connect_to(replica.address)  # type: ignore[attr-defined]
    assert client.execute_command("ROLE")[0] == "slave"  # really talking to the replica
    assert client.incr("writes") == 1
    assert (conn.host, conn.port) == primary.address
    with primary.client() as direct:
        assert direct.get("writes") == "1"


@pytest.mark.load
def test_commands_during_a_crash_of_the_primary_wait_for_the_promoted_replica(
        sentinel_group: Group) -> None:
    group = sentinel_group(password="pw")
    client = connect(group.url())
    done: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            try:
                done.append(int(client.incr("counter")))
            except BaseException as exc:  # noqa: BLE001 - any failure fails the test
                failures.append(exc)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.3)
        old = group.kill_primary()
        killed = time.monotonic()
        new = group.wait_promotion(old)
        promoted = time.monotonic() - killed
        count = len(done)
        deadline = time.monotonic() + 5
        while len(done) < count + 20:
            assert time.monotonic() < deadline, "writes did not resume after the promotion"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=15)
    print(f"promotion {promoted:.2f} s after SIGKILL")
    assert failures == []
    # every INCR answered once, in order; the counter went on from the replica's copy
    assert done == list(range(1, len(done) + 1))
    with new.client() as direct:
        assert int(direct.get("counter")) == done[-1]
    assert client.connection_pool.get_master_address() == new.address  # type: ignore[attr-defined]


SPIN = """
redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > tonumber(ARGV[1])
return redis.call('GET', KEYS[1])
"""


@pytest.mark.load
def test_a_command_in_flight_when_the_primary_dies_is_answered_by_the_new_one(
        sentinel_group: Group) -> None:
    """The primary is killed while it runs our script: the script's writes die with it
    (a script is replicated when it ends), and the retry runs it on the promoted replica
    (reconnecting there rather than to the dead address), loading it first (NOSCRIPT)."""
    group = sentinel_group()
    client = connect(group.url())
    script = client.register_script(SPIN)
    assert script(keys=["warm-up"], args=[0]) == "1"  # known to the primary, as in steady state
    answer: list[object] = []
    thread = threading.Thread(target=lambda: answer.append(
        _catch(lambda: script(keys=["spins"], args=[600_000]))))
    thread.start()
    time.sleep(0.2)  # the script is running now
    old = group.kill_primary()
    new = group.wait_promotion(old)
    thread.join(timeout=20)
    assert answer == ["1"]
    with new.client() as direct:
        assert direct.get("spins") == "1"


def _catch(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the test compares what came back
        return exc


@pytest.mark.load
def test_scripts_reload_on_the_promoted_replica(sentinel_group: Group) -> None:
    """Redis does not replicate its script cache: the first EVALSHA on the promoted
    replica gets NOSCRIPT, and both paths that run scripts load them again."""
    group = sentinel_group(sentinels=3)
    client = connect(group.url())
    direct_script = client.register_script("return redis.call('INCR', KEYS[1])")
    piped_script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert direct_script(keys=["direct"]) == 1
    pipe = client.pipeline(transaction=False)
    queue_script(pipe, piped_script, ["piped"], [5])
    assert execute_pipeline(client, pipe) == [5]

    old = group.kill_primary()
    new = group.wait_promotion(old)
    with new.client() as direct:
        assert direct.script_exists(direct_script.sha, piped_script.sha) == [False, False]

    assert direct_script(keys=["direct"]) == 2  # Script.__call__: NOSCRIPT, load, run once
    pipe = client.pipeline(transaction=False)
    queue_script(pipe, piped_script, ["piped"], [5])
    pipe.incr("other")
    assert execute_pipeline(client, pipe) == [10, 1]  # execute_pipeline: the same
    with new.client() as direct:
        assert direct.script_exists(direct_script.sha, piped_script.sha) == [True, True]
        assert (direct.get("direct"), direct.get("piped")) == ("2", "10")


@pytest.mark.load
def test_without_a_promotion_a_command_gives_up_at_the_budget(sentinel_group: Group) -> None:
    """No replica to promote: the command fails after the retry budget, it does not hang."""
    group = sentinel_group(replicas=0, sentinels=1)
    client = connect(group.url(), retry=FailoverRetry(2.0))
    assert client.ping()
    group.kill_primary()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    assert 1.9 <= time.monotonic() - started < 4.0
