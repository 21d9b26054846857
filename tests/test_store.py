"""The Redis helpers: scripts on pipelines without a SCRIPT EXISTS round trip, and the
hot path's script calls on a connection of the thread's own (`run_script`)."""

from __future__ import annotations

import threading

import pytest
import redis

from ivr import store
from ivr.store import execute_pipeline, queue_script, run_script


def test_queued_script_runs_with_the_pipeline(r: redis.Redis) -> None:
    script = r.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
    r.script_load(script.script)
    pipe = r.pipeline(transaction=False)
    queue_script(pipe, script, ["k1"], ["v1"])
    pipe.incr("counter")
    assert execute_pipeline(r, pipe) == ["OK", 1]
    assert r.get("k1") == "v1"


def test_script_unknown_to_the_server_is_loaded_and_run_once(r: redis.Redis) -> None:
    """After a Redis restart (or SCRIPT FLUSH) the server forgets scripts: NOSCRIPT."""
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    r.script_flush()
    pipe = r.pipeline(transaction=False)
    queue_script(pipe, script, ["runs"], [])
    pipe.incr("others")
    results = execute_pipeline(r, pipe)
    assert results == [1, 1]
    assert r.get("runs") == "1"  # run exactly once, after loading
    assert r.get("others") == "1"
    assert r.script_exists(script.sha) == [True]


def test_other_errors_are_raised(r: redis.Redis) -> None:
    r.set("text", "not a number")
    pipe = r.pipeline(transaction=False)
    pipe.incr("text")
    with pytest.raises(redis.ResponseError):
        execute_pipeline(r, pipe)


def test_run_script_answers_as_the_script_does(r: redis.Redis) -> None:
    script = r.register_script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
    assert run_script(script, ["n"], ["a"]) == ["n", "a", 1]
    assert run_script(script, ["n"], ["b"]) == ["n", "b", 2]
    assert script(keys=["n"], args=["c"]) == ["n", "c", 3]


def test_run_script_loads_a_script_the_server_forgot(r: redis.Redis) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    r.script_flush()
    assert run_script(script, ["runs"], []) == 1
    r.script_flush()  # a restart or a failover to a replica: the script cache is empty
    assert run_script(script, ["runs"], []) == 2
    assert r.get("runs") == "2"  # each call ran exactly once


def test_run_script_survives_its_connection_being_closed(r: redis.Redis) -> None:
    """A connection the server closed (a restart, a failover, a timeout on the server's
    side) is not an error for the caller: the call goes redis-py's way, the next one
    opens a new connection of the thread's own."""
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    assert run_script(script, ["runs"], []) == 1
    lane = store._LANES[r]
    first = lane.local.conn
    first.send_command("CLIENT", "ID")
    r.client_kill_filter(_id=str(first.read_response()))
    assert run_script(script, ["runs"], []) == 2
    assert run_script(script, ["runs"], []) == 3
    assert lane.local.conn is not first
    assert r.get("runs") == "3"


def test_run_script_keeps_one_connection_per_thread_and_process(r: redis.Redis) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    seen: list[object] = []

    def call() -> None:
        run_script(script, ["runs"], [])
        seen.append(store._LANES[r].local.conn)
        run_script(script, ["runs"], [])
        seen.append(store._LANES[r].local.conn)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get("runs") == "6"
    assert len({id(c) for c in seen}) == 3  # each thread kept its own, and only one
    call()
    mine = store._LANES[r].local.conn
    store._LANES[r].local.pid = -1  # as in a worker forked from this process
    run_script(script, ["runs"], [])
    assert store._LANES[r].local.conn is not mine


def test_run_script_raises_the_scripts_own_errors(r: redis.Redis) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    r.set("text", "not a number")
    assert run_script(script, ["runs"], []) == 1
    conn = store._LANES[r].local.conn
    with pytest.raises(redis.ResponseError, match="not an integer"):
        run_script(script, ["text"], [])
    assert run_script(script, ["runs"], []) == 2
    assert store._LANES[r].local.conn is conn  # in step after the error: kept
