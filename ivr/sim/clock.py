"""Pretend time for simulated calls: `ivr simulate --at "2026-12-07 10:30"` and `--open`.

A demo tried at night only ever hears "we are closed". The simulator can
pretend another time, or that every schedule is open, by sending two headers
with every webhook it delivers:

- `X-Ivr-Simulated-Now: 2026-12-07T10:30:00-05:00` — the time the call's
  flow sees (`hours` steps, `now` in templates); it advances with the real
  clock from the moment the simulation started;
- `X-Ivr-Simulated-Hours: open` — every schedule of hours.yaml reads open.

Only a server built for simulation honours them: the app that `ivr simulate`
runs itself, and `ivr serve --simulated` (both call `install(app)`). Twilio
never sends these headers, and a server started without `--simulated` has no
hook that reads them, so they change nothing there. Only the flows' view of
time moves: routing (waits, ring timeouts, statistics) keeps the real clock.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.flows import hours

log = logging.getLogger(__name__)

NOW_HEADER = "X-Ivr-Simulated-Now"
HOURS_HEADER = "X-Ivr-Simulated-Hours"

_now: ContextVar[datetime | None] = ContextVar("ivr_simulated_now", default=None)


def parse_at(text: str, timezone: str) -> datetime:
    """`--at`: "2026-12-07 10:30" (or ISO 8601) in `timezone` unless it names an offset;
    a bare "10:30" is today there. Raises ValueError with a readable message."""
    tz = ZoneInfo(timezone)
    value = text.strip()
    try:
        if len(value) <= 5 and ":" in value:
            clock = datetime.strptime(value, "%H:%M").time()
            return datetime.combine(datetime.now(tz).date(), clock, tzinfo=tz)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a time like \"2026-12-07 10:30\" or \"10:30\"") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


@dataclass
class Pretend:
    """What the simulator pretends: a time (advancing from `at`), every schedule open, or both."""

    at: datetime | None = None
    all_open: bool = False
    started: float = field(default_factory=time.monotonic)

    def now(self) -> datetime | None:
        if self.at is None:
            return None
        return self.at + timedelta(seconds=time.monotonic() - self.started)

    def headers(self) -> dict[str, str]:
        """The headers for a webhook sent now (empty when nothing is pretended)."""
        out: dict[str, str] = {}
        now = self.now()
        if now is not None:
            out[NOW_HEADER] = now.isoformat(timespec="seconds")
        if self.all_open:
            out[HOURS_HEADER] = "open"
        return out

    def describe(self) -> str:
        parts = []
        if self.at is not None:
            parts.append(f"pretending it is {self.at:%a %Y-%m-%d %H:%M} ({self.at.tzname()})")
        if self.all_open:
            parts.append("every schedule open")
        return ", ".join(parts)


def pretended_now() -> datetime:
    """The engines' clock on a simulated server: the request's pretended time, else now."""
    return _now.get() or datetime.now(UTC)


def _read(headers: Any) -> tuple[datetime | None, bool]:
    now: datetime | None = None
    raw = headers.get(NOW_HEADER)
    if raw:
        try:
            now = datetime.fromisoformat(raw)
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
        except ValueError:
            log.warning("ignoring %s: %r is not an ISO 8601 time", NOW_HEADER, raw)
    return now, (headers.get(HOURS_HEADER) or "").strip().lower() == "open"


def install(app: Any) -> None:
    """Make `app` honour the simulator's headers (only for `ivr serve --simulated` and the
    app `ivr simulate` runs itself)."""

    @app.before_request
    def _pretend() -> None:
        from flask import request

        now, all_open = _read(request.headers)
        # Set on every request: gthread workers reuse threads, so nothing may linger.
        _now.set(now)
        hours.forced_status.set("open" if all_open else None)

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        _now.set(None)
        hours.forced_status.set(None)

    for name in ("ivr.engine", "ivr.texting"):
        engine = app.extensions.get(name)
        if engine is not None:
            engine.clock = pretended_now
    app.extensions["ivr.simulated"] = True
