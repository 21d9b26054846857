"""Redis Sentinel: the `redis+sentinel://` form of `REDIS_URL`, and a client that
follows a failover without a restart.

    redis+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]

The addresses are the Sentinels'; SERVICE is the name they monitor the primary
under (`sentinel monitor SERVICE ...`); PASSWORD (percent-encoded) is the
primary's and replicas' `requirepass`. The Sentinels themselves are asked
without a password.

Why a failover needs nothing else from the rest of the code: redis-py's
`Sentinel.master_for` pool asks the Sentinels for the primary whenever it opens
a connection, and turns a `READONLY` answer (a demoted primary) into a
connection error; `FailoverRetry` then retries every command and pipeline,
with exponential backoff, for a bounded time, on fresh connections, so a
command issued while the old primary is gone simply waits for the promoted
one. The promoted replica has the data but not the script cache: scripts run
through `Script.__call__` (routing, texting turns, redis-py's locks) load
themselves again on NOSCRIPT, and `ivr.store.execute_pipeline` does the same
for scripts queued on a pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

log = logging.getLogger(__name__)

SCHEME = "redis+sentinel"
FORM = "redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]"
SENTINEL_PORT = 26379  # Sentinel's own default, for an address written without a port

# How long one command keeps retrying while there is no reachable primary. It must
# cover a failover (Sentinel's down-after-milliseconds plus the election and the
# promotion, about 2 s past down-after) and leave a webhook time to answer within
# Twilio's 15 s; past it, the command fails and the webhook answers its fallback.
FAILOVER_BUDGET = 8.0
BACKOFF_BASE = 0.025  # first pause 50 ms, doubling up to BACKOFF_CAP
BACKOFF_CAP = 0.5
# A Sentinel that does not answer quickly is skipped for the next one.
SENTINEL_TIMEOUT = 0.5

T = TypeVar("T")

# Connection errors that waiting will not mend (a wrong password): raised at once.
CONFIGURATION_ERRORS = (redis.AuthenticationError, redis.exceptions.AuthorizationError)


class SentinelUrlError(ValueError):
    """A `redis+sentinel://` URL that cannot be used; the message says why and how."""


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SentinelUrl:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() != SCHEME:
            hint = (" (TLS to the Sentinels and the primary is not supported)"
                    if scheme.lower() == "rediss+sentinel" else "")
            raise _error(url, f"the scheme must be {SCHEME}://{hint}")
        if "?" in rest or "#" in rest:
            raise _error(url, "it takes no query string or fragment")
        netloc, _, path = rest.partition("/")
        credentials, at, hosts = netloc.rpartition("@")
        username = password = None
        if at:
            user, colon, secret = credentials.partition(":")
            if not colon:
                raise _error(url, "write the password after a colon: "
                             f"{SCHEME}://:PASSWORD@HOST:PORT/SERVICE")
            if not secret:
                raise _error(url, "the password is empty")
            username, password = (unquote(user) or None), unquote(secret)
        sentinels = tuple(_address(url, part) for part in hosts.split(","))
        parts = path.rstrip("/").split("/") if path.rstrip("/") else []
        if not parts or not parts[0]:
            raise _error(url, "the Sentinel service name is missing after the addresses "
                         "(the name in `sentinel monitor NAME ...`)")
        if len(parts) > 2 or not all(parts):
            raise _error(url, "the path is /SERVICE or /SERVICE/DB")
        db = 0
        if len(parts) == 2:
            if not parts[1].isdigit():
                raise _error(url, f"the database must be a number, not {parts[1]!r}")
            db = int(parts[1])
        return cls(sentinels, unquote(parts[0]), db, username, password)

    def redacted(self) -> str:
        """The URL as it may be logged: the password replaced by ***."""
        auth = ""
        if self.password is not None:
            auth = f"{quote(self.username or '', safe='')}:***@"
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
        return f"{SCHEME}://{auth}{hosts}/{quote(self.service, safe='')}/{self.db}"


def _redact(url: str) -> str:
    """The URL with anything between `://` and the last `@` hidden (it may be a password)."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{slash}{path}"


def _error(url: str, why: str) -> SentinelUrlError:
    return SentinelUrlError(f"REDIS_URL {_redact(url)!r}: {why}; expected {FORM}")


def _address(url: str, text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or HOST alone (Sentinel's default port)."""
    if not text:
        raise _error(url, "a Sentinel address is empty (HOST:PORT, separated by commas)")
    if text.startswith("["):
        host, bracket, tail = text[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise _error(url, f"bad IPv6 address {text!r} (write [ADDRESS]:PORT)")
        port_text = tail[1:] if tail else ""
    elif text.count(":") > 1:
        raise _error(url, f"put an IPv6 address in brackets: [{text}]")
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise _error(url, f"a Sentinel address has no host: {text!r}")
    if not port_text:
        return host, SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _error(url, f"bad port in {text!r}")
    return host, int(port_text)


class FailoverRetry(Retry):
    """redis-py's `Retry` with `ExponentialBackoff`, bounded by time as well as count.

    A count alone does not bound the wait: redis-py retries the connection inside
    each retry of a command, so the attempts multiply. Each `call_with_retry` (one
    command, one pipeline, or one connection attempt within them) gives up once
    `budget` seconds have gone, and the caller sees the last error.
    """

    def __init__(self, budget: float = FAILOVER_BUDGET, *, base: float = BACKOFF_BASE,
                 cap: float = BACKOFF_CAP) -> None:
        # The count only has to be large enough never to stop first.
        super().__init__(ExponentialBackoff(cap=cap, base=base), int(budget / base) + 1)
        self.budget = budget

    def call_with_retry(  # type: ignore[override]
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        deadline = time.monotonic() + self.budget
        failures = 0
        while True:
            try:
                return do()
            except self._supported_errors as error:
                if isinstance(error, CONFIGURATION_ERRORS) or (
                        is_retryable is not None and not is_retryable(error)):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                left = deadline - time.monotonic()
                if failures > self._retries or left <= 0:
                    raise
                time.sleep(min(self._backoff.compute(failures), left))


class FollowingConnection(SentinelManagedConnection):
    """A connection to the primary that asks the Sentinels where it is on every
    (re)connection.

    redis-py's own class asks only from `connect()`, which a pool calls when it hands
    out a connection; but a command retried after its connection broke reconnects
    through `connect_check_health`, to the address it had, so it keeps knocking at the
    dead or demoted primary until the retries run out (redis-py issue 3874).
    """

    _resolved = False  # connect_to() has just asked: no second question

    def connect_to(self, address: tuple[str, int]) -> None:
        self._resolved = True
        try:
            super().connect_to(address)
        finally:
            self._resolved = False

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        if not self._sock and not self._resolved and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(*args, **kwargs)


def connect_sentinel(url: str, options: Mapping[str, object]) -> redis.Redis:
    """A client of the primary that SERVICE's Sentinels name, with `options`
    (timeouts, `decode_responses`...) as `ivr.store.connect` gives them."""
    parsed = SentinelUrl.parse(url)
    kwargs = dict(options)
    # Retries are FailoverRetry's business (TimeoutError included).
    kwargs.pop("retry_on_timeout", None)
    kwargs.setdefault("retry", FailoverRetry())
    sentinel = Sentinel(
        list(parsed.sentinels),
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            # One try per Sentinel: discovery moves on to the next one at once.
            "retry": Retry(NoBackoff(), 0),
        },
    )
    client = sentinel.master_for(
        parsed.service, db=parsed.db, username=parsed.username, password=parsed.password,
        connection_class=FollowingConnection, **kwargs,
    )
    log.info("Redis through Sentinel: %s", parsed.redacted())
    return client
