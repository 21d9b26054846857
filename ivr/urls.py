"""The public base URL at which Twilio reaches this server.

Absolute URLs go into TwiML (Gather actions, Enqueue waitUrls) and into REST
calls the server places (status callbacks), so the engines and the router
need the base URL that Twilio used. `IVR_PUBLIC_URL` is authoritative when
set. Without it the base is learnt, but only from a Twilio webhook that
passed the endpoint checks (signature, or dev mode's loopback rule): an admin
API call from 127.0.0.1, or a request with a forged `Host:`, never changes
where Twilio is sent. The learnt base is shared through Redis so timers and
other workers build the same URLs.

The web layer binds the base of the webhook being answered (`bind`) and
learns it (`learn`); everything else only reads (`base`, `url`), with no
knowledge of HTTP requests.
"""

from __future__ import annotations

import contextvars
import logging
import time
from typing import Any
from urllib.parse import urlencode

import redis

from ivr import keys

log = logging.getLogger(__name__)

#: Seconds a worker trusts its copy of the learnt base before reading Redis again.
RELOAD_AFTER = 60.0

#: Base URL when nothing is configured, learnt or bound (the default `ivr serve` port).
DEFAULT_BASE = "http://127.0.0.1:8000"

_bound: contextvars.ContextVar[str | None] = contextvars.ContextVar("ivr_public_base",
                                                                   default=None)


class PublicUrl:
    """Builds absolute URLs of our endpoints from the configured, bound or learnt base."""

    def __init__(self, store: redis.Redis | None, configured: str | None = None, *,
                 default: str = DEFAULT_BASE) -> None:
        self.store = store
        self.default = default
        self.configured = configured.rstrip("/") if configured else None
        self._learnt: str | None = None
        self._loaded_at = -RELOAD_AFTER

    @staticmethod
    def bind(base: str) -> contextvars.Token[str | None]:
        """The base of the webhook being answered, for the URLs of its answer."""
        return _bound.set(base.rstrip("/"))

    @staticmethod
    def unbind(token: contextvars.Token[str | None]) -> None:
        _bound.reset(token)

    def learn(self, base: str) -> None:
        """Remember the base a Twilio webhook reached us at (never from other requests)."""
        base = base.rstrip("/")
        if self.configured or base == self._learnt or self.store is None:
            return
        try:
            self.store.set(keys.public_base(), base)
            self._learnt, self._loaded_at = base, time.monotonic()
        except redis.RedisError:
            pass  # shared next time; this request's answer uses its own bound base

    def base(self) -> str:
        if self.configured:
            return self.configured
        bound = _bound.get()
        if bound:
            return bound
        now = time.monotonic()
        if now - self._loaded_at > RELOAD_AFTER and self.store is not None:
            try:
                value: Any = self.store.get(keys.public_base())
                self._learnt = str(value) if value else None
                self._loaded_at = now
            except redis.RedisError:
                pass
        return self._learnt or self.default

    def url(self, path: str, **query: Any) -> str:
        if not query:
            return self.base() + path
        qs = urlencode({k: v for k, v in query.items() if v is not None})
        return self.base() + path + (f"?{qs}" if qs else "")
