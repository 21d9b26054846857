"""`ivr staffing --history`: agents needed per interval of a typical week, from the reports.

The interval reports (ivr/reports) keep calls offered and handle time per queue and
15-minute slot. A planner's "typical week" is every weekday × interval of the last N
full days averaged: Monday 10:00 is the mean of the Mondays at 10:00 in the window
(a Monday with no calls counts as 0, so a quiet day pulls the mean down as it should).
Each averaged interval then goes through Erlang C (Erlang A with a patience), the same
arithmetic as the one-interval `ivr staffing`.

Handle time per interval is the reports' `aht` (talk + hold + wrap-up per handled
call) averaged over the days weighted by the calls answered in that interval; an
interval whose calls were offered but none completed in it borrows the queue's handle
time over the whole window.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from ivr.reports.intervals import Reports
from ivr.staffing.erlang import Staffing, required_agents

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
INTERVALS = (15, 30, 60)

COLUMNS = ("queue", "weekday", "interval_start", "days", "calls", "aht", "traffic",
           "agents", "rostered", "service_level", "asa", "occupancy", "p_wait")


@dataclass(frozen=True)
class Targets:
    """What every interval is staffed for; `target_s` None: each queue's service_level."""

    target_s: float | None = None
    level: float = 0.8
    shrinkage: float = 0.0
    patience_s: float | None = None


@dataclass(frozen=True)
class WeekInterval:
    """One queue's weekday × interval of the typical week."""

    queue: str
    weekday: int  # 0 Monday … 6 Sunday
    start: time  # local time of day in the queue's time zone
    days: int  # how many of this weekday the window held
    calls: float  # mean calls offered
    aht_s: float | None  # mean handle time (None: no handled call to measure)
    staffing: Staffing | None  # None when there were calls but no handle time at all

    def row(self) -> dict[str, Any]:
        """The CSV / JSON row (columns `COLUMNS`)."""
        s = self.staffing
        p = s.performance if s is not None else None
        return {
            "queue": self.queue, "weekday": WEEKDAYS[self.weekday],
            "interval_start": self.start.strftime("%H:%M"), "days": self.days,
            "calls": round(self.calls, 2),
            "aht": None if self.aht_s is None else round(self.aht_s, 1),
            "traffic": None if p is None else round(p.traffic, 3),
            "agents": None if p is None else p.agents,
            "rostered": None if s is None else s.rostered,
            "service_level": None if p is None or self.calls == 0 else round(p.service_level, 3),
            "asa": None if p is None or self.calls == 0 else round(p.asa_s, 1),
            "occupancy": None if p is None or self.calls == 0 else round(p.occupancy, 3),
            "p_wait": None if p is None or self.calls == 0 else round(p.p_wait, 3),
        }


def window(now: float, reports: Reports, queue: str, days: int) -> tuple[datetime, datetime]:
    """The last `days` full days before today, in the queue's time zone (today is partial:
    it would pull every afternoon's mean down)."""
    zone = reports.zone_of(queue)
    today = datetime.fromtimestamp(now, zone).date()
    end = datetime.combine(today, time(), zone)
    return datetime.combine(today - timedelta(days=days), time(), zone), end


def typical_week(reports: Reports, queues: Iterable[str], targets: Targets, *,
                 days: int = 28, interval_min: int = 30, now: float) -> list[WeekInterval]:
    """Every queue's weekday × interval of the last `days` days, averaged and staffed;
    ordered by queue, weekday, time of day. Intervals with no call on any day in the
    window are left out."""
    if days < 1:
        raise ValueError("days must be 1 or more")
    if interval_min not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(map(str, INTERVALS))} minutes")
    out: list[WeekInterval] = []
    for queue in queues:
        start, end = window(now, reports, queue, days)
        rows = reports.quarters(scope="q", names=[queue], start=start, end=end,
                                interval=str(interval_min))
        out += _staffed(queue, _average(rows, start, days), targets,
                        reports.queue_config(queue).service_level, interval_min)
    return out


@dataclass
class _Sums:
    offered: int = 0
    handle: float = 0.0  # aht × answered, summed
    answered: int = 0


def _average(rows: list[dict[str, Any]], start: datetime, days: int
             ) -> tuple[dict[tuple[int, time], _Sums], dict[int, int], float | None]:
    """Sums per (weekday, local time), days per weekday, and the window's handle time."""
    sums: dict[tuple[int, time], _Sums] = {}
    for row in rows:
        local = datetime.fromisoformat(row["interval_start"]).astimezone(start.tzinfo)
        s = sums.setdefault((local.weekday(), local.time().replace(tzinfo=None)), _Sums())
        s.offered += row["offered"]
        if row["aht"] is not None and row["answered"] > 0:
            s.handle += row["aht"] * row["answered"]
            s.answered += row["answered"]
    per_weekday = dict.fromkeys(range(7), 0)
    for i in range(days):
        per_weekday[(start.date() + timedelta(days=i)).weekday()] += 1
    answered = sum(s.answered for s in sums.values())
    overall = sum(s.handle for s in sums.values()) / answered if answered else None
    return sums, per_weekday, overall


def _staffed(queue: str, averaged: tuple[dict[tuple[int, time], _Sums], dict[int, int],
                                         float | None],
             targets: Targets, service_level: int, interval_min: int) -> list[WeekInterval]:
    sums, per_weekday, overall = averaged
    target = targets.target_s if targets.target_s is not None else float(service_level)
    out: list[WeekInterval] = []
    for (weekday, at), s in sorted(sums.items()):
        if s.offered == 0:
            continue
        calls = s.offered / per_weekday[weekday]
        aht = s.handle / s.answered if s.answered else overall
        staffing = None if aht is None or aht <= 0 else required_agents(
            calls, interval_min * 60.0, aht, target, targets.level,
            patience_s=targets.patience_s, shrinkage=targets.shrinkage)
        out.append(WeekInterval(queue=queue, weekday=weekday, start=at,
                                days=per_weekday[weekday], calls=calls, aht_s=aht,
                                staffing=staffing))
    return out


def as_csv(cells: list[WeekInterval]) -> str:
    """One row per queue × weekday × interval; empty where nothing could be computed."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for cell in cells:
        row = cell.row()
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    return buf.getvalue()


def as_table(cells: list[WeekInterval], title: str) -> str:
    """Per queue, a grid a planner reads at a glance: intervals down, weekdays across,
    agents needed in each cell ("." no calls, "?" calls but no handle time)."""
    lines = [title]
    queues = sorted({c.queue for c in cells})
    if not queues:
        return "\n".join([*lines, "", "no calls in the window"])
    for queue in queues:
        mine = {(c.weekday, c.start): c for c in cells if c.queue == queue}
        times = sorted({c.start for c in mine.values()})
        lines += ["", f"{queue}: agents needed", "       " + "".join(f"{d:>5}" for d in WEEKDAYS)]
        for at in times:
            row = []
            for weekday in range(7):
                cell = mine.get((weekday, at))
                if cell is None:
                    row.append(".")
                elif cell.staffing is None:
                    row.append("?")
                else:
                    row.append(str(cell.staffing.agents))
            lines.append(f"{at:%H:%M}  " + "".join(f"{v:>5}" for v in row))
    return "\n".join(lines)


def as_json(cells: list[WeekInterval], meta: dict[str, Any]) -> dict[str, Any]:
    """The API's answer: what was asked, the columns, and the rows."""
    return {**meta, "columns": list(COLUMNS), "rows": [c.row() for c in cells]}
