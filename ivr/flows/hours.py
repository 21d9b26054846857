"""Opening hours: is a schedule open, closed or on holiday right now?

Rules (docs/callflows.md, "hours.yaml"):
- times are wall-clock times in the schedule's time zone (zoneinfo), so DST
  shifts move nothing: 09:00 stays 09:00 local;
- a range may pass midnight ("22:00-02:00" on fri is open Friday 22:00 to
  Saturday 02:00); "24:00" ends a range at midnight;
- a public holiday (the `holidays` package, country or "COUNTRY-SUBDIVISION")
  or a `closed` date makes the whole calendar day "holiday", including the
  early-morning tail of the previous night's range.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from ivr.flows.model import Schedule

Status = Literal["open", "closed", "holiday"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_ALIASES = {"daily": tuple(range(7)), "weekdays": (0, 1, 2, 3, 4), "weekends": (5, 6)}
END_OF_DAY = time.max  # what "24:00" becomes: a range end no clock time reaches

#: Simulation only (`ivr simulate --open`, honoured by `ivr serve --simulated`): when set,
#: every schedule reads as this status for the request being answered. Real calls never set it.
forced_status: ContextVar[Status | None] = ContextVar("ivr_hours_forced_status", default=None)

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_days(spec: str) -> list[int]:
    """'mon-fri' -> [0..4]; 'sat' -> [5]; 'mon,wed,fri'; 'fri-mon' wraps. Raises ValueError."""
    result: list[int] = []
    for part in str(spec).lower().split(","):
        part = part.strip()
        if part in DAY_ALIASES:
            result.extend(DAY_ALIASES[part])
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            first, last = first.strip(), last.strip()
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"unknown day in {spec!r} (days are {', '.join(DAYS)})")
            i, j = DAYS.index(first), DAYS.index(last)
            while True:
                result.append(i)
                if i == j:
                    break
                i = (i + 1) % 7
        elif part in DAYS:
            result.append(DAYS.index(part))
        else:
            raise ValueError(f"unknown day {part!r} (days are {', '.join(DAYS)}, or daily)")
    return sorted(set(result))


def parse_range(text: str) -> tuple[time, time]:
    """'09:00-17:30' -> (09:00, 17:30); '22:00-02:00' passes midnight. Raises ValueError."""
    m = _RANGE.match(str(text))
    if not m:
        raise ValueError(f"time range {text!r} is not like \"09:00-17:30\"")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59:
        raise ValueError(f"time range {text!r}: {h1:02}:{m1:02} is not a time of day")
    if m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"time range {text!r}: {h2:02}:{m2:02} is not a time of day")
    start = time(h1, m1)
    end = END_OF_DAY if h2 == 24 else time(h2, m2)
    if start == end:
        raise ValueError(f"time range {text!r} is empty (for all day write \"00:00-24:00\")")
    return start, end


def parse_ranges(value: str | list[str]) -> list[tuple[time, time]]:
    """One range, several comma-separated, or a list of them."""
    items = value if isinstance(value, list) else str(value).split(",")
    return [parse_range(item) for item in items]


def split_holidays(code: str) -> tuple[str, str | None]:
    """'US-NY' -> ('US', 'NY'); 'FR' -> ('FR', None)."""
    country, _, subdiv = code.partition("-")
    return country, (subdiv or None)


@lru_cache(maxsize=256)
def _holiday_calendar(code: str, year: int) -> holidays_lib.HolidayBase:
    country, subdiv = split_holidays(code)
    return holidays_lib.country_holidays(country, subdiv=subdiv, years=year)


def is_holiday(schedule: Schedule, day: date) -> bool:
    """A public holiday of the schedule's country/subdivision, or one of its closed dates."""
    if day in schedule.closed:
        return True
    return bool(schedule.holidays) and day in _holiday_calendar(schedule.holidays or "", day.year)


def _in_range(t: time, start: time, end: time) -> bool:
    return start <= t < end


def status(schedule: Schedule, now: datetime) -> Status:
    """'open', 'closed' or 'holiday' at `now` (an aware datetime; naive means UTC)."""
    forced = forced_status.get()
    if forced is not None:
        return forced
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(ZoneInfo(schedule.timezone))
    today = local.date()
    if is_holiday(schedule, today):
        return "holiday"
    t = local.time().replace(tzinfo=None)
    weekday = local.weekday()
    for start, end in schedule.open.get(weekday, []):
        if end > start:
            if _in_range(t, start, end):
                return "open"
        elif t >= start:  # tonight's part of a range past midnight
            return "open"
    yesterday = (weekday - 1) % 7
    for start, end in schedule.open.get(yesterday, []):
        if end < start and t < end:  # this morning's tail of last night's range
            return "open"
    return "closed"


def next_change(schedule: Schedule, now: datetime, *, horizon_days: int = 14) -> datetime | None:
    """When the status next changes (minute resolution), for "we open at ..." prompts."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    current = status(schedule, now)
    probe = now.replace(second=0, microsecond=0)
    for _ in range(horizon_days * 24 * 4):
        probe += timedelta(minutes=15)
        if status(schedule, probe) != current:
            back = probe - timedelta(minutes=15)
            while status(schedule, back) == current:
                back += timedelta(minutes=1)
            return back
    return None


def parse_date(value: object) -> date | None:
    """A closed date: a YAML date (2026-12-24) or the same as text; None when it is not one."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
