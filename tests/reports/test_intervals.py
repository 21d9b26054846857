"""A known day through the real routing (Lua decisions, a hand-moved clock): the interval
counters folded from the event log give the columns computed by hand; a rebuild equals
the live counters; concurrent folds count each event once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr import keys
from ivr.reports.contacts import Contact
from ivr.reports.intervals import QUEUE_CHAT_FIELDS, QUEUE_COLUMNS
from ivr.reports.query import run_report
from tests.routing.conftest import agents_of, enqueue
from tests.routing.test_matching import token_of

QUEUES = {"sales": {"service_level": 20, "short_abandon": 5, "wrap_up": 10, "max_wait": 100,
                   "callback": True}}


def play_day(router, twilio, clock) -> float:
    """The day, from T0 (a quarter-hour boundary); returns T0."""
    t0 = clock.now
    router.set_agent_status("a00", "available", source="test")
    clock.advance(60)
    enqueue(router, "CA1")  # offered to a00 at once
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(10)
    assert router.accept(aid, token)[0] == "ok"  # waited 10 s: within the service level
    clock.advance(100)
    router.agent_leg_status(aid, token, "completed")  # talk 100, then 10 s of wrap-up
    clock.advance(10)
    router.run_timers()
    clock.advance(20)
    router.set_agent_status("a00", "break", source="test")  # t0 + 200
    enqueue(router, "CA2")
    clock.advance(3)
    router.call_ended("CA2", "completed")  # hung up after 3 s: a short abandon
    enqueue(router, "CA3")
    clock.advance(30)
    router.call_ended("CA3", "completed")  # after 30 s: abandoned
    clock.now = t0 + 300
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA4")
    aid, token = token_of(twilio.placed[-1].url)
    clock.advance(25)
    assert router.accept(aid, token)[0] == "ok"  # waited 25 s: past the service level
    clock.advance(60)
    router.agent_leg_status(aid, token, "completed")  # talk 60, wrap 10
    clock.advance(10)
    router.run_timers()
    clock.advance(5)
    router.set_agent_status("a00", "break", source="test")  # t0 + 400
    enqueue(router, "CA5", max_wait=100)
    clock.advance(40)
    assert router.press_callback("CA5") == "ok"  # waited 40 s, then chose a callback
    assert router.queue_result("CA5", "leave") == "callback"
    router.call_ended("CA5", "completed")
    enqueue(router, "CA6", max_wait=100)
    clock.advance(101)
    router.run_timers()  # past max_wait: out of line, and on to the overflow step
    assert router.queue_result("CA6", "leave") == "overflow"  # after 101 s
    router.call_ended("CA6", "completed")
    router.set_agent_status("a00", "offline", source="test")  # t0 + 541
    return t0


def test_known_day_gives_the_hand_computed_columns(setup, twilio, clock) -> None:
    router, reports = setup(QUEUES, agents_of(1))
    t0 = play_day(router, twilio, clock)
    assert reports.fold() > 0
    callflows = router.callflows()
    q = run_report(reports, callflows, queue="sales", agent=None, start=None, end=None,
                   interval="day", tz=None, now=clock())
    assert q["columns"][0] == "interval_start" and len(q["rows"]) == 1
    row = q["rows"][0]
    assert row["interval_start"] == datetime.fromtimestamp(t0, UTC).replace(
        hour=0).isoformat()
    expected = {"offered": 6, "answered": 2, "abandoned": 1, "short_abandoned": 1,
                "overflowed": 1, "callbacks": 1, "answered_in_sl": 1,
                "service_level": 0.1667,    # 1 / 6
                "abandon_rate": 0.2,        # 1 / (6 - 1)
                "asa": 17.5,                # (10 + 25) / 2
                "aht": 90.0,                # (100 + 60 + 0 + 10 + 10) / 2
                "avg_talk": 80.0, "avg_hold": 0.0, "avg_wrap": 10.0,
                "longest_wait": 101, "transfers_out": 0, "surveys": 0, "csat": None}
    assert {k: row[k] for k in expected} == expected
    a = run_report(reports, callflows, queue=None, agent="a00", start=None, end=None,
                   interval="day", tz=None, now=clock())
    # available idle: 70 s before CA1, 20 s after its wrap-up until the break,
    # 25 s before CA4, 5 s after its wrap-up until offline
    assert {k: a["rows"][0][k] for k in ("handled", "talk", "hold", "wrap", "available",
                                         "occupancy", "missed", "csat")} == {
        "handled": 2, "talk": 160, "hold": 0, "wrap": 20, "available": 120,
        "occupancy": 0.6, "missed": 0, "csat": None}
    # the day totals and the quarters agree
    lo = datetime.fromisoformat(row["interval_start"])
    assert reports.days(["sales"], lo, lo + timedelta(days=1)) == reports.quarters(
        scope="q", names=["sales"], start=lo, end=lo + timedelta(days=1), interval="day")
    assert reports.today(["sales"])["sales"]["abandon_rate"] == 0.2
    # the same day in quarter hours: everything in the first one (541 s), the rest empty
    quarters = run_report(reports, callflows, queue="sales", agent=None, start=None,
                          end=None, interval="15", tz=None, now=clock())["rows"]
    assert len(quarters) == 96
    first = next(r for r in quarters if r["interval_start"] ==
                 datetime.fromtimestamp(t0, UTC).isoformat())
    assert first["offered"] == 6 and sum(r["offered"] for r in quarters) == 6


def test_rebuild_equals_live_and_concurrent_folds_count_once(setup, twilio, clock, r) -> None:
    router, reports = setup(QUEUES, agents_of(1))
    play_day(router, twilio, clock)
    reports.fold()
    # a survey and a hold time arrive with a contact record
    contact = Contact(id="CA4", channel="voice", start=clock() - 100, end=clock(),
                      number="+15005550000", queue="sales", agents=["a00"], hold=12,
                      survey=4, survey_scale=5, survey_at=clock())
    reports.contacts.put(contact)
    reports.add_contact(contact)
    reports.add_contact(contact)  # a repeated callback: counted once
    live = reports.stored()
    assert live == reports.rebuild()
    assert live[("q", "sales", int(clock() * 1000) // 900_000, "surveys")] == 1

    # folding from scratch in four threads at once gives the same counters again
    for key in r.scan_iter(match=keys.report_slots("*", "*", "*")):
        r.delete(key)
    r.delete(keys.report_cursor(), keys.report_agents())
    for part in ("survey", "end"):
        r.delete(keys.report_once("CA4", part))
    reports.add_contact(contact)
    from ivr.reports.intervals import Reports
    workers = [Reports(r, router.callflows, reports.contacts, clock=clock) for _ in range(4)]
    threads = [threading.Thread(target=w.fold) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reports.stored() == live


def test_a_floored_first_interval_reads_the_utc_day_before(setup, clock) -> None:
    """Kolkata is UTC+05:30: an hour report from 05:37 starts at 05:00, which is 23:30 UTC
    of the day before; a survey given then is in that first row."""
    router, reports = setup({"sales": {"timezone": "Asia/Kolkata"}}, agents_of(1))
    midnight = (clock() // 86_400 + 1) * 86_400  # a UTC midnight
    given = midnight - 20 * 60  # 23:40 UTC = 05:10 in Kolkata
    contact = Contact(id="CA1", channel="voice", start=given - 60, end=given,
                      number="+15550000001", queue="sales", survey=5, survey_scale=5,
                      survey_at=given)
    reports.contacts.put(contact)
    reports.add_contact(contact)
    day = datetime.fromtimestamp(midnight, UTC).date().isoformat()
    answer = run_report(reports, router.callflows(), queue="sales", agent=None,
                        start=f"{day}T05:37", end=f"{day}T07:00", interval="60", tz=None,
                        now=clock())
    assert [r["interval_start"] for r in answer["rows"]] == [
        f"{day}T05:00:00+05:30", f"{day}T06:00:00+05:30"]
    assert [r["surveys"] for r in answer["rows"]] == [1, 0]
    # by day, the queue's day totals (kept in its zone) agree with its quarters
    kolkata = ZoneInfo("Asia/Kolkata")
    lo = datetime.fromtimestamp(given, kolkata).replace(hour=0, minute=0) - timedelta(days=1)
    hi = lo + timedelta(days=3)
    by_day = reports.days(["sales"], lo, hi)
    assert [r["surveys"] for r in by_day] == [0, 1, 0]
    assert by_day == reports.quarters(scope="q", names=["sales"], start=lo, end=hi,
                                      interval="day")


def test_quiet_intervals_are_rows_of_their_own_in_column_order(setup, twilio, clock) -> None:
    """Quiet intervals are built from one shared set of columns: each must still be a
    separate dict, keyed in the report's column order like a busy one."""
    router, reports = setup(QUEUES, agents_of(1))
    t0 = play_day(router, twilio, clock)
    callflows = router.callflows()
    rows = run_report(reports, callflows, queue="sales", agent=None, start=None, end=None,
                      interval="15", tz=None, now=clock())["rows"]
    busy = [r for r in rows if r["offered"]]
    quiet = [r for r in rows if not r["offered"]]
    assert len(busy) == 1 and len(quiet) == 95
    assert busy[0]["interval_start"] == datetime.fromtimestamp(t0, UTC).isoformat()
    for row in (busy[0], quiet[0], quiet[-1]):
        assert tuple(row) == QUEUE_COLUMNS + QUEUE_CHAT_FIELDS
    assert len({r["interval_start"] for r in quiet}) == 95
    quiet[0]["offered"] = 99
    assert quiet[1]["offered"] == 0 and quiet[0] is not quiet[1]
