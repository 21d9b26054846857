"""Calls whose status callback never comes are reaped after the longest call Twilio allows
(4 hours): from the calls in the flows (ivr:calls:active) and with their state."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from ivr import keys
from ivr.flows import state as state_mod

from .conftest import VoiceApp

FLOW = """
numbers: ["*"]
steps:
  menu:
    menu: "Press 1."
    options: {1: again}
  again:
    say: "Again."
    next: menu
"""
BOUND = 4 * 3600


def test_the_bound_is_the_longest_call() -> None:
    assert state_mod.CALL_TTL == BOUND


def test_a_new_call_reaps_calls_older_than_the_bound(voice_app: Callable[..., VoiceApp]) -> None:
    va = voice_app({"main.yaml": FLOW})
    store: redis.Redis = va.engine.store
    now = time.time()
    store.zadd(keys.calls_active(), {"CAlost": now - BOUND - 5, "CArecent": now - BOUND + 600})
    va.phone().call()
    left = store.zrange(keys.calls_active(), 0, -1)
    assert "CAlost" not in left and "CArecent" in left and len(left) == 2


def test_a_status_callback_of_another_call_reaps_them_too(
        voice_app: Callable[..., VoiceApp]) -> None:
    va = voice_app({"main.yaml": FLOW})
    store: redis.Redis = va.engine.store
    phone = va.phone()
    phone.call()
    store.zadd(keys.calls_active(), {"CAlost": time.time() - BOUND - 5})
    phone.hang_up()
    assert store.zcard(keys.calls_active()) == 0


def test_readers_never_see_a_stale_call_even_when_no_call_comes(r: redis.Redis) -> None:
    now = time.time()
    r.zadd(keys.calls_active(), {"CAlost": now - BOUND - 1, "CA1": now - 60, "CA2": now - 30})
    assert state_mod.count_active_calls(r) == 2
    r.zadd(keys.calls_active(), {"CAlost": now - BOUND - 1})
    assert state_mod.active_calls(r) == [("CA1", now - 60), ("CA2", now - 30)]
    assert state_mod.active_calls(r, limit=1) == [("CA1", now - 60)]
    assert r.zscore(keys.calls_active(), "CAlost") is None


def test_the_state_of_a_call_lives_no_longer_than_the_bound(
        voice_app: Callable[..., VoiceApp]) -> None:
    va = voice_app({"main.yaml": FLOW})
    store: redis.Redis = va.engine.store
    phone = va.phone()
    phone.call()
    key = keys.call(phone.sid)
    assert BOUND - 60 < store.ttl(key) <= BOUND
    store.hset(key, "started", repr(time.time() - 3 * 3600))  # three hours into the call
    phone.press("1")
    assert 3600 - 60 < store.ttl(key) <= 3600  # not another four hours
    store.hset(key, "started", repr(time.time() - BOUND + 30))
    phone.press("1")
    assert 0 < store.ttl(key) <= state_mod.ENDED_TTL  # late callbacks still find it
