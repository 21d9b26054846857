"""The forecast a what-if day is simulated from: calls per interval and queue.

A CSV with the columns `interval_start, queue, calls, aht[, patience][, callback]`, one row
per interval and queue. `interval_start` is a local date and time
(`2026-03-02 09:00` or `2026-03-02T09:00`), `calls` the expected number of
calls (a forecast average, so it may be fractional), `aht` the average talk
time in seconds, `patience` the average time callers hold before giving up
(empty or missing: they never do), `callback` the share (0 to 1) of the callers
who would give up that press 1 for a callback instead, in a queue with
`callback: true` (empty or missing: none). The interval length is the smallest
step between two starts, unless given.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REQUIRED = ("interval_start", "queue", "calls", "aht")
DEFAULT_INTERVAL_S = 1800


class ForecastError(ValueError):
    """A forecast file that cannot be simulated (the message names the row and column)."""


@dataclass(frozen=True)
class ForecastRow:
    start: datetime
    queue: str
    calls: float
    aht_s: float
    patience_s: float | None = None
    callback_share: float = 0.0  # of those who would give up: ask for a callback instead


@dataclass(frozen=True)
class Forecast:
    rows: list[ForecastRow]
    interval_s: int

    @property
    def starts(self) -> list[datetime]:
        return sorted({r.start for r in self.rows})

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The simulated day: from the first interval's start to the last one's end."""
        starts = self.starts
        return starts[0], starts[-1] + timedelta(seconds=self.interval_s)

    @property
    def queues(self) -> list[str]:
        return sorted({r.queue for r in self.rows})


def _number(text: str, what: str, where: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ForecastError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ForecastError(f"{where}: {what} must be {'above' if positive else 'at least'} 0")
    return value


def parse_start(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ForecastError(f"{where}: interval_start {text!r} is not a date and time "
                            "such as 2026-03-02 09:00") from None


def read_forecast(path: Path | str, interval_s: int | None = None) -> Forecast:
    """Read and check a forecast CSV (ForecastError names the first problem)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ForecastError(f"{path}: missing column(s) {', '.join(missing)} "
                                f"(expected {', '.join(REQUIRED)}[, patience][, callback])")
        rows: list[ForecastRow] = []
        for n, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            if not any(row.values()):
                continue
            where = f"{path.name} line {n}"
            if not row["queue"]:
                raise ForecastError(f"{where}: queue is empty")
            patience = row.get("patience") or ""
            share = _number(row.get("callback") or "0", "callback", where, positive=False)
            if share > 1:
                raise ForecastError(f"{where}: callback is a share of callers, 0 to 1")
            rows.append(ForecastRow(
                start=parse_start(row["interval_start"], where),
                queue=row["queue"],
                calls=_number(row["calls"], "calls", where, positive=False),
                aht_s=_number(row["aht"], "aht", where, positive=True),
                patience_s=_number(patience, "patience", where, positive=True)
                if patience else None,
                callback_share=share,
            ))
    if not rows:
        raise ForecastError(f"{path}: no rows")
    seen: set[tuple[datetime, str]] = set()
    for r in rows:
        if (r.start, r.queue) in seen:
            raise ForecastError(f"{path}: two rows for {r.queue} at {r.start:%Y-%m-%d %H:%M}")
        seen.add((r.start, r.queue))
    if interval_s is None:
        starts = sorted({r.start for r in rows})
        steps = [int((b - a).total_seconds()) for a, b in zip(starts, starts[1:], strict=False)]
        interval_s = min(steps) if steps else DEFAULT_INTERVAL_S
    if interval_s <= 0:
        raise ForecastError("the interval must be positive")
    return Forecast(rows=sorted(rows, key=lambda r: (r.start, r.queue)), interval_s=interval_s)
