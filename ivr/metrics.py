"""Prometheus metrics (prometheus_client).

Under gunicorn every worker has its own counters; `ivr serve` sets
PROMETHEUS_MULTIPROC_DIR so that `/metrics`, whichever worker answers, adds
them all up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import REGISTRY, Collector

REQUESTS = Counter(
    "ivr_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "ivr_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_FAULTS = Counter(
    "ivr_webhook_faults_total",
    "Twilio webhooks answered with the on_error fallback after an internal fault",
    ["endpoint"],
)
WEBHOOK_REJECTED = Counter(
    "ivr_webhook_rejected_total",
    "Twilio webhooks refused (bad signature, malformed body)",
    ["endpoint", "reason"],
)

_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def observe_request(endpoint: str, method: str, status: str, seconds: float) -> None:
    """Count one answered request and its latency.

    Every webhook calls this, so the labelled children are kept in a dict:
    `labels()` validates and locks on every call, which costs more than the
    increment itself.
    """
    key = (endpoint, method, status)
    pair = _children.get(key)
    if pair is None:
        pair = _children.setdefault(key, (REQUESTS.labels(endpoint, method, status),
                                          LATENCY.labels(endpoint)))
    pair[0].inc()
    pair[1].observe(seconds)


# Collectors that read live state from Redis at scrape time (queues, agents).
_live_collectors: list[Collector] = []


def add_live_collector(collector: Collector) -> None:
    _live_collectors.append(collector)


def render() -> tuple[bytes, str]:
    """The exposition text for `/metrics`."""
    registry: CollectorRegistry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    if _live_collectors:
        live = CollectorRegistry()
        for collector in _live_collectors:
            live.register(collector)
        output += generate_latest(live)
    return output, CONTENT_TYPE_LATEST
