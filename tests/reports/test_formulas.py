"""The columns' formulas on known vectors, the empty cases included (None, never a
division error), and the intervals a report is cut into."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.reports.intervals import agent_row, interval_bounds, queue_row
from ivr.reports.tally import AGENT_COUNTERS, QUEUE_COUNTERS, SLOT_MS, Tally


def counters(names: tuple[str, ...], **values: int) -> dict[str, int]:
    out = dict.fromkeys(names, 0)
    out.update(values)
    return out


def test_queue_columns_from_known_counters() -> None:
    row = queue_row(counters(QUEUE_COUNTERS, offered=10, answered=6, abandoned=2,
                             short_abandoned=2, overflowed=1, callbacks=1, answered_in_sl=4,
                             wait_answered=90, handled=5, talk=500, hold=50, wrap=100,
                             longest_wait=70, surveys=3, survey_total=13))
    assert row["service_level"] == 0.4  # 4 / 10
    assert row["abandon_rate"] == 0.25  # 2 / (10 - 2)
    assert row["asa"] == 15.0  # 90 / 6
    assert row["aht"] == 130.0  # (500 + 50 + 100) / 5
    assert (row["avg_talk"], row["avg_hold"], row["avg_wrap"]) == (100.0, 10.0, 20.0)
    assert row["csat"] == 4.33  # 13 / 3
    assert row["longest_wait"] == 70 and row["surveys"] == 3


def test_queue_columns_with_nothing_to_divide_by_are_none() -> None:
    row = queue_row(counters(QUEUE_COUNTERS))
    for name in ("service_level", "abandon_rate", "asa", "aht", "avg_talk", "avg_hold",
                 "avg_wrap", "csat"):
        assert row[name] is None, name
    assert row["offered"] == 0 and row["longest_wait"] == 0
    # every caller was a short abandon: no abandon rate (nothing left to divide by)
    only_short = queue_row(counters(QUEUE_COUNTERS, offered=3, short_abandoned=3))
    assert only_short["abandon_rate"] is None and only_short["service_level"] == 0.0


def test_agent_columns_and_occupancy() -> None:
    row = agent_row(counters(AGENT_COUNTERS, handled=2, talk=160, wrap=20,
                             available_ms=120_000, missed=1, surveys=1, survey_total=5))
    assert row["occupancy"] == 0.6  # 180 / (180 + 120)
    assert row["available"] == 120 and row["missed"] == 1 and row["csat"] == 5.0
    empty = agent_row(counters(AGENT_COUNTERS))
    assert empty["occupancy"] is None and empty["csat"] is None
    idle_only = agent_row(counters(AGENT_COUNTERS, available_ms=60_000))
    assert idle_only["occupancy"] == 0.0


def test_span_is_split_across_quarter_hours() -> None:
    t = Tally()
    start = 100 * SLOT_MS + SLOT_MS - 60_000  # a minute before the end of slot 100
    t.add_span("a", "x", start, start + 16 * 60_000, "available_ms")
    assert t.nonzero() == {("a", "x", 100, "available_ms"): 60_000,
                           ("a", "x", 101, "available_ms"): SLOT_MS}


def test_longest_wait_keeps_the_maximum() -> None:
    t = Tally()
    for wait in (12, 40, 7):
        t.add("q", "sales", 5, "longest_wait", wait)
    assert t.cells[("q", "sales", 0, "longest_wait")] == 40


def test_intervals_in_a_zone_across_a_dst_change() -> None:
    ny = ZoneInfo("America/New_York")
    # 2026-11-01: clocks go back at 02:00, the day has 25 hours
    day = interval_bounds(datetime(2026, 11, 1, tzinfo=ny), datetime(2026, 11, 2, tzinfo=ny),
                          "day")
    assert len(day) == 1 and day[0][1].timestamp() - day[0][0].timestamp() == 25 * 3600
    hours = interval_bounds(datetime(2026, 11, 1, tzinfo=ny), datetime(2026, 11, 2, tzinfo=ny),
                            "60")
    assert len(hours) == 25
    quarters = interval_bounds(datetime(2026, 3, 2, 9, 7, tzinfo=ny),
                               datetime(2026, 3, 2, 10, 0, tzinfo=ny), "15")
    assert [lo.strftime("%H:%M") for lo, _ in quarters] == ["09:00", "09:15", "09:30", "09:45"]
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local hours start on half UTC hours
    hour = interval_bounds(datetime(2026, 3, 2, 9, 0, tzinfo=kolkata),
                           datetime(2026, 3, 2, 10, 0, tzinfo=kolkata), "60")
    assert hour[0][0].timestamp() % 3600 == 1800
