"""Opening hours in a time zone, across DST, with national and state holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr.flows.hours import next_change, parse_days, parse_range, status
from ivr.flows.loader import build_schedule
from ivr.flows.model import Schedule

NY = ZoneInfo("America/New_York")


def office(**extra: object) -> Schedule:
    raw: dict[str, object] = {"timezone": "America/New_York",
                             "open": {"mon-fri": "09:00-17:30", "sat": "10:00-14:00"},
                             "holidays": "US", "closed": ["2026-12-24"]}
    raw.update(extra)
    return build_schedule("office", raw)


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(("when", "expected"), [
    (ny(2026, 11, 23, 9, 0), "open"),       # Monday 09:00 sharp
    (ny(2026, 11, 23, 8, 59), "closed"),
    (ny(2026, 11, 23, 17, 29), "open"),
    (ny(2026, 11, 23, 17, 30), "closed"),   # the end is exclusive
    (ny(2026, 11, 28, 12, 0), "open"),      # Saturday
    (ny(2026, 11, 29, 12, 0), "closed"),    # Sunday
    (ny(2026, 11, 26, 12, 0), "holiday"),   # Thanksgiving
    (ny(2026, 12, 24, 12, 0), "holiday"),   # a closed date
    (ny(2026, 7, 3, 12, 0), "holiday"),     # Independence Day observed (the 4th is a Saturday)
])
def test_status_in_new_york(when: datetime, expected: str) -> None:
    assert status(office(), when) == expected


def test_status_converts_from_utc() -> None:
    # 13:59 UTC is 08:59 in New York in winter (UTC-5): still closed
    assert status(office(), datetime(2026, 11, 23, 13, 59, tzinfo=UTC)) == "closed"
    assert status(office(), datetime(2026, 11, 23, 14, 0, tzinfo=UTC)) == "open"
    # naive datetimes are taken as UTC
    assert status(office(), datetime(2026, 11, 23, 14, 0)) == "open"


def test_dst_boundary_keeps_wall_clock_hours() -> None:
    """US DST ends Sunday 2026-11-01: 09:00 local is 13:00 UTC before, 14:00 UTC after."""
    assert status(office(), datetime(2026, 10, 30, 13, 0, tzinfo=UTC)) == "open"    # Fri, EDT
    assert status(office(), datetime(2026, 11, 2, 13, 0, tzinfo=UTC)) == "closed"   # Mon, EST
    assert status(office(), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)) == "open"
    # DST starts Sunday 2026-03-08; Monday 09:00 EDT is 13:00 UTC
    assert status(office(), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)) == "open"
    assert status(office(), datetime(2026, 3, 9, 12, 59, tzinfo=UTC)) == "closed"


def test_subdivision_holiday() -> None:
    """Lincoln's Birthday (Feb 12) is a New York state holiday, not a federal one."""
    feb12 = ny(2026, 2, 12, 12, 0)  # a Thursday
    assert status(office(holidays="US"), feb12) == "open"
    assert status(office(holidays="US-NY"), feb12) == "holiday"


def test_range_past_midnight() -> None:
    night = build_schedule("night", {"timezone": "Europe/London",
                                     "open": {"fri": "22:00-02:00"}})
    london = ZoneInfo("Europe/London")
    assert status(night, datetime(2026, 11, 27, 21, 59, tzinfo=london)) == "closed"  # Fri
    assert status(night, datetime(2026, 11, 27, 23, 0, tzinfo=london)) == "open"
    assert status(night, datetime(2026, 11, 28, 1, 59, tzinfo=london)) == "open"     # Sat
    assert status(night, datetime(2026, 11, 28, 2, 0, tzinfo=london)) == "closed"
    assert status(night, datetime(2026, 11, 29, 1, 0, tzinfo=london)) == "closed"    # Sun


def test_all_day_and_lists() -> None:
    s = build_schedule("s", {"timezone": "UTC",
                             "open": {"sun": "00:00-24:00", "mon,wed": ["08:00-12:00",
                                                                        "13:00-17:00"]}})
    assert status(s, datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == "open"
    assert status(s, datetime(2026, 11, 30, 12, 30, tzinfo=UTC)) == "closed"  # lunch
    assert status(s, datetime(2026, 12, 2, 13, 0, tzinfo=UTC)) == "open"      # Wednesday
    assert status(s, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) == "closed"     # Tuesday


def test_parsers() -> None:
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_days("sat, sun") == [5, 6]
    assert parse_days("daily") == list(range(7))
    assert parse_range("09:00-17:30") == (time(9), time(17, 30))
    for bad in ("9-17", "25:00-26:00", "09:00-09:00", "09:60-10:00"):
        with pytest.raises(ValueError):
            parse_range(bad)
    with pytest.raises(ValueError):
        parse_days("mon-fry")


def test_next_change() -> None:
    friday_evening = ny(2026, 11, 27, 18, 0)
    assert next_change(office(), friday_evening) == ny(2026, 11, 28, 10, 0)
    assert office().closed == [date(2026, 12, 24)]
