"""Live queue figures for Prometheus, and the waiting-callers history behind the wallboard chart.

`install(app)` (called once from `create_app`) makes `/metrics` read the router's live
statistics at scrape time: gauges per queue (waiting, longest wait, agents by status
and by state) and today's counters (offered, answered, abandoned, overflowed). The
daily counters restart at midnight in the queue's time zone, which Prometheus treats
as a counter reset (`rate()` and `increase()` handle it).

Each read (a scrape, a wallboard poll, or the sampler thread when background threads
run) also records the number of callers waiting per 10 s bucket in Redis, so that
every worker and host draws the same last-hour chart.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import redis
from flask import Flask
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr import keys, metrics

log = logging.getLogger("ivr.api")

BUCKET = 10  # seconds per history sample
KEEP = 3600  # seconds of history kept
SAMPLE_EVERY = 10.0  # seconds between samples of the background sampler


def record_waiting(store: redis.Redis, stats: list[dict[str, Any]],
                   now: float | None = None) -> None:
    """Remember how many callers wait in each queue now (one field per 10 s bucket)."""
    at = time.time() if now is None else now
    bucket = str(int(at // BUCKET * BUCKET))
    oldest = at - KEEP
    pipe = store.pipeline(transaction=False)
    for queue in stats:
        pipe.hset(keys.waiting_history(queue["queue"]), bucket, int(queue["waiting"]))
        pipe.expire(keys.waiting_history(queue["queue"]), KEEP + 60)
    pipe.execute()
    # Old buckets go once a minute at most (cheap: at most 360 fields per queue).
    if int(at) % 60 < BUCKET:
        for queue in stats:
            key = keys.waiting_history(queue["queue"])
            stale = [f for f in store.hkeys(key) if float(f) < oldest]  # type: ignore[union-attr]
            if stale:
                store.hdel(key, *stale)


def waiting_history(store: redis.Redis, queues: list[str], *, minutes: int = 60,
                    now: float | None = None) -> dict[str, list[dict[str, float | int]]]:
    """{queue: [{ts, waiting}, ...]} over the last `minutes`, oldest first."""
    at = time.time() if now is None else now
    since = at - minutes * 60
    pipe = store.pipeline(transaction=False)
    for queue in queues:
        pipe.hgetall(keys.waiting_history(queue))
    out: dict[str, list[dict[str, float | int]]] = {}
    for queue, raw in zip(queues, pipe.execute(), strict=True):
        points = sorted((float(ts), int(n)) for ts, n in raw.items() if float(ts) >= since)
        out[queue] = [{"ts": ts, "waiting": n} for ts, n in points]
    return out


class QueueCollector(Collector):
    """Reads the router of the app installed last (one app per process in production)."""

    def __init__(self) -> None:
        self._app: weakref.ReferenceType[Flask] | None = None

    def use(self, app: Flask) -> None:
        self._app = weakref.ref(app)

    def collect(self) -> Iterator[Metric]:
        app = self._app() if self._app is not None else None
        up = GaugeMetricFamily("ivr_live_stats_up",
                               "1 when the live queue statistics could be read from Redis")
        if app is None:
            up.add_metric([], 0)
            yield up
            return
        router = app.extensions["ivr.router"]
        try:
            stats = router.all_queue_stats()
            record_waiting(app.extensions["ivr.redis"], stats)
        except redis.RedisError as exc:
            log.warning("metrics: live queue statistics unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        waiting = GaugeMetricFamily("ivr_queue_waiting", "Callers waiting now", labels=["queue"])
        longest = GaugeMetricFamily("ivr_queue_longest_wait_seconds",
                                    "Wait of the caller waiting longest now", labels=["queue"])
        by_status = GaugeMetricFamily("ivr_queue_agents", "Agents able to take the queue, "
                                      "by status", labels=["queue", "status"])
        by_state = GaugeMetricFamily("ivr_queue_agents_state", "Logged-in agents able to take "
                                     "the queue, by state", labels=["queue", "state"])
        sl = GaugeMetricFamily("ivr_queue_service_level_ratio",
                               "Today: answered within the target / offered", labels=["queue"])
        counters = {
            name: CounterMetricFamily(f"ivr_queue_{name}", f"Callers {name} today "
                                      "(resets at midnight, queue time zone)", labels=["queue"])
            for name in ("offered", "answered", "abandoned", "overflowed")
        }
        for q in stats:
            name = q["queue"]
            waiting.add_metric([name], q["waiting"])
            longest.add_metric([name], q["longest_wait"])
            for status, n in q["agents_by_status"].items():
                by_status.add_metric([name, status], n)
            for state, n in q["agents_by_state"].items():
                by_state.add_metric([name, state], n)
            if q.get("service_level") is not None:
                sl.add_metric([name], q["service_level"])
            for counter_name, family in counters.items():
                family.add_metric([name], q[counter_name])
        yield from (waiting, longest, by_status, by_state, sl, *counters.values())


_collector: QueueCollector | None = None
_lock = threading.Lock()


def install(app: Flask) -> QueueCollector:
    """Add the live queue metrics to `/metrics` for this app, and start the history sampler
    when the app runs background threads. Safe to call for every app a process builds."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = QueueCollector()
            metrics.add_live_collector(_collector)
        _collector.use(app)
    if app.extensions["ivr.config"].background:
        start_sampler(app)
    return _collector


def start_sampler(app: Flask, every: float = SAMPLE_EVERY) -> threading.Thread:
    """A daemon thread recording the waiting callers every `every` seconds (one per worker;
    workers write the same bucket, so more of them only repeat the same value)."""
    ref = weakref.ref(app)

    def run() -> None:
        failing = False
        while True:
            time.sleep(every)
            target = ref()
            if target is None:
                return
            try:
                record_waiting(target.extensions["ivr.redis"],
                               target.extensions["ivr.router"].all_queue_stats())
                failing = False
            except Exception as exc:  # the sampler must survive Redis restarts
                # Once per outage, not every 10 s: /healthz and the webhooks report it too.
                (log.debug if failing else log.warning)("waiting-history sampler: %s", exc)
                failing = True
            del target

    thread = threading.Thread(target=run, name="ivr-waiting-sampler", daemon=True)
    thread.start()
    return thread
