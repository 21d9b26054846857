"""The Redis helpers: scripts on pipelines without a SCRIPT EXISTS round trip."""

from __future__ import annotations

import pytest
import redis

from ivr.store import execute_pipeline, queue_script


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
