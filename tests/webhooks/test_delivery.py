"""`ivr.replay.Delivery`: a late claim that meets another delivery of the same webhook."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from ivr import keys, replay
from ivr.flows import state as state_mod

KEY = keys.replay("d" * 64)
CALL = keys.call("CA1")


def deferred(r: redis.Redis, step: str) -> replay.DeferredCommit:
    script = r.register_script(state_mod.COMMIT_IF_NEW)
    return replay.DeferredCommit(script, [CALL, keys.calls_active()],
                                 [600, state_mod.HUNG_UP, "", "CA1", "0", "(0", 0,
                                  "flow", "main", "step", step])


def test_a_late_commit_waits_for_the_delivery_at_work_and_returns_its_answer(
        r: redis.Redis) -> None:
    r.set(KEY, replay.PENDING)
    late = replay.Delivery(r, KEY)
    late.defer(deferred(r, "late"))

    def first_answers() -> None:
        time.sleep(0.2)
        r.set(KEY, "<Response>first</Response>")

    threading.Thread(target=first_answers).start()
    with pytest.raises(replay.Replayed) as replayed:
        late.commit("<Response>late</Response>", r.pipeline(transaction=False))
    assert replayed.value.answer == "<Response>first</Response>"
    assert r.hget(CALL, "step") is None  # the late one wrote nothing


def test_a_late_commit_takes_over_when_the_delivery_at_work_lets_go(r: redis.Redis) -> None:
    r.set(KEY, replay.PENDING)
    late = replay.Delivery(r, KEY)
    late.defer(deferred(r, "late"))
    threading.Timer(0.2, lambda: r.delete(KEY)).start()  # the first one failed
    assert late.commit("<Response>late</Response>", r.pipeline(transaction=False)) \
        == "<Response>late</Response>"
    assert r.get(KEY) == "<Response>late</Response>"
    assert r.hget(CALL, "step") == "late"


def test_before_side_effect_claims_once_and_stops_a_duplicate(r: redis.Redis) -> None:
    replay.before_side_effect()  # outside a webhook: nothing to claim
    assert not r.exists(KEY)
    first = replay.Delivery(r, KEY)
    token = replay.bind(first)
    try:
        replay.before_side_effect()
        replay.before_side_effect()
    finally:
        replay.unbind(token)
    assert first.claimed and r.get(KEY) == replay.PENDING
    r.set(KEY, "<Response>first</Response>")
    token = replay.bind(replay.Delivery(r, KEY))
    try:
        with pytest.raises(replay.Replayed):
            replay.before_side_effect()
    finally:
        replay.unbind(token)
