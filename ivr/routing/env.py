"""What every part of the router shares: Redis, the call-flow folder, the clock, our URLs.

The clock is injectable (tests move it by hand; a staffing simulator will run
the real routing on simulated time), so every time the router uses comes from
`Env.clock` and reaches the Lua scripts as ARGV, never from Redis `TIME` or
`time.time()` directly. (Per-worker caches measure their own age with
`time.monotonic()`: that is how stale a copy may be, not a routing time.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from ivr.flows.model import Callflows, QueueConfig
from ivr.urls import PublicUrl


@dataclass
class Env:
    """The router's dependencies, handed to each of its parts."""

    store: redis.Redis
    callflows: Callable[[], Callflows]
    clock: Callable[[], float]
    urls: PublicUrl

    @property
    def db(self) -> Any:
        """redis-py types replies as bytes | str unions; with decode_responses=True they are
        str, so reads go through this Any-typed alias rather than a cast at every call."""
        return self.store

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def config(self) -> Callflows:
        return self.callflows()

    def queue_config(self, name: str) -> QueueConfig:
        """A queue's settings; an unknown queue (removed from the YAML) gets the defaults."""
        queue = self.config().queues.get(name)
        return queue if queue is not None else QueueConfig(name=name)

    def today(self, queue: str) -> str:
        """Today's date in the queue's time zone: the day its statistics count into."""
        tz = ZoneInfo(self.queue_config(queue).timezone or "UTC")
        return datetime.fromtimestamp(self.clock(), tz).date().isoformat()

    def url(self, path: str, **query: Any) -> str:
        """An absolute URL of one of our endpoints (paths: ivr/paths.py)."""
        return self.urls.url(path, **query)
