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
    r.set(KEY, replay.PENDING + "another-delivery")
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
    r.set(KEY, replay.PENDING + "another-delivery")
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
    assert first.claimed and r.get(KEY) == first.marker
    r.set(KEY, "<Response>first</Response>")
    token = replay.bind(replay.Delivery(r, KEY))
    try:
        with pytest.raises(replay.Replayed):
            replay.before_side_effect()
    finally:
        replay.unbind(token)


def test_a_claim_sent_again_after_its_reply_was_lost_is_still_ours(r: redis.Redis) -> None:
    """A failover can lose the reply of a claim that Redis applied (and replicated): the
    client sends it again (ivr/sentinel.py). The delivery must recognise its own marker
    and go on, not wait for itself as for a duplicate and fail after REPLAY_WAIT."""
    mine = replay.Delivery(r, KEY)
    r.set(KEY, mine.marker)  # the first send landed; its reply was lost
    started = time.monotonic()
    mine.claim()  # the send again
    assert mine.claimed and time.monotonic() - started < 1.0
    # the same for a continuation's claim-and-read script
    other_key = keys.replay("e" * 64)
    again = replay.Delivery(r, other_key)
    r.set(other_key, again.marker)
    r.hset(CALL, "step", "menu")
    script = r.register_script(state_mod.CLAIM_AND_READ)
    fields = again.claim_with(script, [CALL], [])
    assert again.claimed and "step" in str(fields)
    # while another delivery's marker still means "a duplicate: wait for its answer"
    dup = replay.Delivery(r, other_key)
    r.set(other_key, again.marker)
    threading.Timer(0.2, lambda: r.set(other_key, "<Response>first</Response>")).start()
    with pytest.raises(replay.Replayed):
        dup.claim()


def test_a_commit_sent_again_after_its_reply_was_lost_is_applied_once(r: redis.Redis) -> None:
    """The claim is ours (a continuation, or a turn with a side effect) and the commit
    landed, but its reply was lost with the connection: the client sends it again
    (ivr.store.run_script, Sentinel's retries). The turn's steps are counted once."""
    stats = keys.step_stats("main")
    mine = replay.Delivery(r, KEY)
    mine.claim()
    script = r.register_script(state_mod.COMMIT_IF_NEW)
    args = [replay.REPLAY_TTL, "<Response>mine</Response>", "1", replay.PENDING,
            600, state_mod.HUNG_UP, "", "CA1", "0", "(0", 1, "menu:reached",
            "flow", "main", "step", "menu"]
    assert script(keys=[KEY, CALL, keys.calls_active(), stats], args=args) == 1
    assert script(keys=[KEY, CALL, keys.calls_active(), stats], args=args) == 1  # again
    assert r.hget(stats, "menu:reached") == "1"
    assert r.get(KEY) == "<Response>mine</Response>"
    assert r.hget(CALL, "step") == "menu"
