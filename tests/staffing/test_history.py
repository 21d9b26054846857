"""`ivr staffing --history`: known calls written to the routing event log and folded into
the interval reports give the typical week's averages, and agents needed equal to
Erlang C's for those figures."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ivr import keys
from ivr.cli import main
from ivr.reports.contacts import ContactStore
from ivr.reports.intervals import Reports
from ivr.staffing.erlang import required_agents
from ivr.staffing.history import COLUMNS, Targets, typical_week
from tests.routing.conftest import agents_of, make_callflows

QUEUES = {"sales": {"service_level": 30}, "support": {"service_level": 60}}


def last(weekday: int, before: date, weeks_back: int = 0) -> date:
    """The `weekday` (0 Monday) strictly before `before`, `weeks_back` weeks earlier still."""
    d = before - timedelta(days=1)
    while d.weekday() != weekday:
        d -= timedelta(days=1)
    return d - timedelta(weeks=weeks_back)


def calls(r: redis.Redis, queue: str, day: date, hour: int, minute: int, n: int,
          talk: int, wrap: int) -> None:
    """`n` calls entering `queue` a minute apart from day hour:minute UTC, each answered
    after 5 s and completed after `talk` s with `wrap` s of wrap-up (the router's events)."""
    t0 = int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp())
    for i in range(n):
        at = (t0 + 60 * i) * 1000
        r.xadd(keys.acd("events"), {"type": "enter", "queue": queue, "at": at})
        r.xadd(keys.acd("events"), {"type": "connect", "queue": queue, "agent": "a00",
                                    "wait": 5, "at": at + 5000})
        r.xadd(keys.acd("events"), {"type": "complete", "queue": queue, "agent": "a00",
                                    "talk": talk, "wrap": wrap, "at": at + 5000 + talk * 1000})


def reports_on(r: redis.Redis) -> Reports:
    flows = make_callflows(QUEUES, agents_of(1))
    contacts = ContactStore(r, retention_days=90, clock=time.time)
    return Reports(r, lambda: flows, contacts, retention_days=90, clock=time.time)


def history_days(r: redis.Redis) -> tuple[date, date, date]:
    """Two Mondays and a Tuesday in the last 14 days: 30 calls of 240 s (200 talk + 40
    wrap) on the later Monday at 10:00, 10 of 180 s on the earlier one, 8 of 300 s on the
    Tuesday at 14:00 (support). All within the first 15 minutes of their half hour."""
    today = datetime.now(UTC).date()
    mon1, mon2, tue = last(0, today), last(0, today, 1), last(1, today)
    calls(r, "sales", mon1, 10, 0, 14, 200, 40)  # 10:00-10:13
    calls(r, "sales", mon1, 10, 15, 14, 200, 40)  # 10:15-10:28 (ends before 10:30)
    calls(r, "sales", mon1, 10, 14, 2, 200, 40)  # 10:14, 10:15
    calls(r, "sales", mon2, 10, 0, 10, 150, 30)
    calls(r, "support", tue, 14, 0, 8, 250, 50)
    return mon1, mon2, tue


def test_typical_week_averages_and_erlang(r: redis.Redis) -> None:
    history_days(r)
    reports = reports_on(r)
    assert reports.fold() > 0
    targets = Targets(level=0.8, shrinkage=0.25)
    cells = typical_week(reports, ["sales", "support"], targets, days=14, interval_min=30,
                         now=time.time())
    got = {(c.queue, c.weekday, c.start.strftime("%H:%M")): c for c in cells}
    # the calls' completions spill into later half hours only as handle time, never as
    # offered calls: the intervals with calls are these two
    assert sorted(got) == [("sales", 0, "10:00"), ("support", 1, "14:00")]
    sales = got[("sales", 0, "10:00")]
    assert sales.days == 2  # two Mondays in 14 days
    assert sales.calls == pytest.approx((30 + 10) / 2)
    # handle time: the half hour's aht each Monday, weighted by the calls answered in it
    assert sales.aht_s == pytest.approx((30 * 240 + 10 * 180) / 40)
    expected = required_agents(20, 1800, sales.aht_s, 30, 0.8, shrinkage=0.25)
    assert sales.staffing == expected
    assert sales.staffing is not None and sales.staffing.agents >= 3
    support = got[("support", 1, "14:00")]
    assert support.days == 2 and support.calls == pytest.approx(4)  # one Tuesday of two
    assert support.aht_s == pytest.approx(300)
    # each queue is staffed for its own service_level unless --target says otherwise
    assert support.staffing == required_agents(4, 1800, 300, 60, 0.8, shrinkage=0.25)
    assert support.row()["agents"] == support.staffing.agents


def test_quarter_hours_and_patience(r: redis.Redis) -> None:
    history_days(r)
    reports = reports_on(r)
    reports.fold()
    targets = Targets(target_s=20, level=0.9, patience_s=120)
    cells = typical_week(reports, ["sales"], targets, days=7, interval_min=15,
                         now=time.time())
    got = {c.start.strftime("%H:%M"): c for c in cells}
    assert set(got) == {"10:00", "10:15"}  # the earlier Monday is outside 7 days
    assert got["10:00"].days == 1 and got["10:00"].calls == 15  # 14 + the one at 10:14
    assert got["10:15"].calls == 15
    assert got["10:00"].staffing == required_agents(15, 900, 240, 20, 0.9, patience_s=120)


def test_nothing_recorded_gives_no_rows(r: redis.Redis) -> None:
    reports = reports_on(r)
    assert typical_week(reports, ["sales"], Targets(), days=28, now=time.time()) == []
    with pytest.raises(ValueError):
        typical_week(reports, ["sales"], Targets(), days=0, now=time.time())


@pytest.fixture()
def env(callflows_dir: Path, redis_url: str, r: redis.Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (callflows_dir / "queues.yaml").write_text(
        "sales:\n  service_level: 30\nsupport:\n  service_level: 60\n")
    (callflows_dir / "agents.yaml").write_text(
        'a00:\n  name: Agent 0\n  phone: "+15005560000"\n  skills: {sales: 3}\n')
    (callflows_dir / "main.yaml").write_text(
        'numbers: ["*"]\nstart: q\nsteps:\n  q:\n    queue: sales\n')
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("IVR_CALLFLOWS", str(callflows_dir))


def test_cli_csv_and_table(env: None, r: redis.Redis) -> None:
    history_days(r)
    runner = CliRunner()
    result = runner.invoke(main, ["staffing", "--history", "--days", "14", "--format", "csv",
                                  "--shrinkage", "0.25"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == list(COLUMNS)
    by = {(row[0], row[1], row[2]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by) == {("sales", "Mon", "10:00"), ("support", "Tue", "14:00")}
    sales = by[("sales", "Mon", "10:00")]
    expected = required_agents(20, 1800, 225, 30, 0.8, shrinkage=0.25)
    assert (sales["calls"], sales["aht"]) == ("20.0", "225.0")
    assert (sales["agents"], sales["rostered"]) == (str(expected.agents),
                                                    str(expected.rostered))

    result = runner.invoke(main, ["staffing", "--history", "--days", "14", "--queue", "sales"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "sales: agents needed" in lines and "support: agents needed" not in lines
    grid = next(line for line in lines if line.startswith("10:00"))
    assert grid.split()[1:] == [str(required_agents(20, 1800, 225, 30, 0.8).agents)] + \
        ["."] * 6

    bad = runner.invoke(main, ["staffing", "--history", "--queue", "nope"])
    assert bad.exit_code == 2 and "no queue named 'nope'" in bad.output
    bad = runner.invoke(main, ["staffing", "--history", "--interval", "20"])
    assert bad.exit_code == 2 and "15, 30 or 60" in bad.output
    bad = runner.invoke(main, ["staffing", "--calls", "10"])
    assert bad.exit_code == 2 and "'--interval', '--aht', '--target', '--level'" in bad.output
