"""The waiting-callers history behind the wallboard chart, on real Redis."""

from __future__ import annotations

import redis

from ivr import keys
from ivr.api.metrics import KEEP, record_waiting, waiting_history


def test_samples_per_bucket_in_order_and_old_ones_pruned(r: redis.Redis) -> None:
    base = 1_800_000_000.0  # a multiple of 60: pruning runs on the first bucket of a minute
    record_waiting(r, [{"queue": "sales", "waiting": 1}], now=base + 10)
    record_waiting(r, [{"queue": "sales", "waiting": 3}], now=base + 12)  # same bucket: last wins
    record_waiting(r, [{"queue": "sales", "waiting": 2}], now=base + 25)
    got = waiting_history(r, ["sales", "support"], now=base + 30)
    assert got["sales"] == [{"ts": base + 10, "waiting": 3}, {"ts": base + 20, "waiting": 2}]
    assert got["support"] == []
    assert waiting_history(r, ["sales"], minutes=1, now=base + 75)["sales"] == \
        [{"ts": base + 20, "waiting": 2}]
    # An hour later the old buckets are deleted from Redis, not just hidden.
    record_waiting(r, [{"queue": "sales", "waiting": 0}], now=base + KEEP + 60)
    assert r.hkeys(keys.waiting_history("sales")) == [str(int(base + KEEP + 60))]
