"""What `GET /api/reports`, `GET /api/contacts` and `ivr report` share: reading their
arguments (times, zones, intervals) and shaping the answer (JSON rows, CSV, a table).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.flows.model import Callflows
from ivr.reports.intervals import AGENT_COLUMNS, INTERVALS, QUEUE_COLUMNS, Reports


class QueryError(ValueError):
    """An argument that cannot be read (the API answers 422, the command exits 2)."""


TimeValue = str | date | datetime


def parse_time(raw: TimeValue, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """An ISO 8601 date or date-time, or epoch seconds. A date-time without an offset is
    in `tz`; a date is that day's local midnight, or (for an end) the next midnight, so
    `to=2026-12-01` includes all of that day. Out-of-range moments are clamped."""
    value: date | datetime
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return datetime.fromtimestamp(float(text), tz)
        except (ValueError, OverflowError, OSError):
            pass
        try:
            value = date.fromisoformat(text) if len(text) == 10 else \
                datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise QueryError(f"cannot read {raw!r} as a date, a date-time or epoch seconds") \
                from exc
    else:
        value = raw
    try:
        if isinstance(value, datetime):
            return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
        moment = datetime.combine(value, time(), tz)
        return moment + timedelta(days=1) if end else moment
    except OverflowError:
        return (datetime.max if value.year > 1 else datetime.min).replace(tzinfo=tz)


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(f"unknown time zone {name!r}") from exc


def report_zone(callflows: Callflows, queue: str | None, tz: str | None) -> ZoneInfo:
    """The zone a report is read in: `tz` when given, else the queue's, else the zone all
    queues share (UTC when they differ or there are none)."""
    if tz:
        return parse_zone(tz)
    if queue:
        config = callflows.queues.get(queue)
        return parse_zone(config.timezone if config else "UTC")
    zones = {q.timezone or "UTC" for q in callflows.queues.values()}
    return parse_zone(zones.pop() if len(zones) == 1 else "UTC")


def run_report(reports: Reports, callflows: Callflows, *, queue: str | None,
               agent: str | None, start: TimeValue | None, end: TimeValue | None,
               interval: str, tz: str | None, now: float) -> dict[str, Any]:
    """The report as the API answers it: which, over what, its columns and rows.

    `agent` given: the agent report (`*`: every agent in agents.yaml), of the calls of
    any queue; else the queue report of `queue` (default: every queue). The period is
    clamped to what can hold data: the retention window up to tomorrow.
    """
    if interval not in INTERVALS:
        raise QueryError(f"interval must be one of {', '.join(INTERVALS)}")
    zone = report_zone(callflows, queue, tz)
    today = datetime.combine(datetime.fromtimestamp(now, zone).date(), time(), zone)
    lo = parse_time(start, zone) if start is not None else today
    hi = parse_time(end, zone, end=True) if end is not None else \
        parse_time(lo.date(), zone, end=True)
    earliest = today - timedelta(seconds=reports.retention) - timedelta(days=1)
    lo, hi = max(lo, earliest), min(hi, today + timedelta(days=2))
    if queue is not None and queue not in callflows.queues:
        raise LookupError(f"no queue named {queue!r}")
    reports.fold()  # what happened in the last second counts too
    columns: tuple[str, ...]
    if agent is not None:
        names = sorted(callflows.agents) if agent == "*" else [agent]
        scope, columns = "a", AGENT_COLUMNS
    else:
        names = [queue] if queue else sorted(callflows.queues)
        scope, columns = "q", QUEUE_COLUMNS
    rows = reports.report(scope=scope, names=names, start=lo, end=hi, interval=interval) \
        if hi > lo else []
    return {"report": "agent" if scope == "a" else "queue", "interval": interval,
            "timezone": str(zone.key), "from": lo.isoformat(), "to": hi.isoformat(),
            "columns": list(columns), "rows": rows}


def csv_text(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """CSV with the columns as headers, in order; None (nothing to divide by) is empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buf.getvalue()


def table_text(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """A plain-text table for a terminal: columns aligned, None shown as "-"."""
    cells = [[str(c) for c in columns]]
    for row in rows:
        cells.append(["-" if row.get(c) is None else str(row.get(c)) for c in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.rjust(w) if i > 1 else v.ljust(w)
                               for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip()
                     for r in cells)
