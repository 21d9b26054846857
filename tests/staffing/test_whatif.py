"""`ivr whatif`: forecasts, shifts, the simulated day through the real router, the command."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ivr.cli import main
from ivr.flows.checker import check_folder
from ivr.staffing.erlang import performance
from ivr.staffing.forecast import ForecastError, read_forecast
from ivr.staffing.report import COLUMNS
from ivr.staffing.shifts import RosterError, parse_ranges, read_roster, spans, weekdays
from tests.staffing.whatif_helpers import single_queue, totals

ROOT = Path(__file__).resolve().parents[2]
DEMO_FORECAST = ROOT / "docs" / "whatif-demo.csv"
DEMO_ROSTER = ROOT / "docs" / "whatif-roster.yaml"


# --- the forecast ----------------------------------------------------------------------


def test_forecast_rows_interval_and_patience(tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text("interval_start,queue,calls,aht,patience\n"
                 "2026-03-02 09:00,sales,10.5,200,\n"
                 "2026-03-02T09:15,sales,12,200,90\n"
                 "2026-03-02 09:00,support,3,300,60\n")
    forecast = read_forecast(f)
    assert forecast.interval_s == 900
    assert forecast.queues == ["sales", "support"]
    assert [(r.queue, r.calls, r.patience_s) for r in forecast.rows] == [
        ("sales", 10.5, None), ("support", 3.0, 60.0), ("sales", 12.0, 90.0)]
    assert forecast.window == (datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 2, 9, 30))


@pytest.mark.parametrize(("text", "message"), [
    ("interval_start,queue,calls\n", "missing column(s) aht"),
    ("interval_start,queue,calls,aht\n2026-03-02 09:00,sales,ten,200\n", "line 2: calls 'ten'"),
    ("interval_start,queue,calls,aht\n2026-03-02 09:00,sales,10,0\n", "aht must be above 0"),
    ("interval_start,queue,calls,aht\n9am,sales,10,200\n", "is not a date and time"),
    ("interval_start,queue,calls,aht\n2026-03-02 09:00,sales,1,2\n2026-03-02 09:00,sales,1,2\n",
     "two rows for sales"),
])
def test_forecast_problems_are_named(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "f.csv"
    f.write_text(text)
    with pytest.raises(ForecastError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_forecast(f)


# --- shifts --------------------------------------------------------------------------


def test_weekdays() -> None:
    assert weekdays("mon-fri") == {0, 1, 2, 3, 4}
    assert weekdays("fri-mon") == {4, 5, 6, 0}
    assert weekdays("sat, sun") == {5, 6}
    assert weekdays("daily") == set(range(7))
    with pytest.raises(RosterError, match="unknown day 'sunday'"):
        weekdays("sunday")


def test_shift_spans_split_overnight_and_weekend() -> None:
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    got = spans({"mon-fri": ["09:00-12:00", "13:00-17:00"], "sun": "22:00-06:00"},
                monday, tuesday)
    assert got == [
        (datetime(2026, 3, 1, 22), datetime(2026, 3, 2, 6)),  # Sunday night into Monday
        (datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 12)),
        (datetime(2026, 3, 2, 13), datetime(2026, 3, 2, 17)),
        (datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 12)),
        (datetime(2026, 3, 3, 13), datetime(2026, 3, 3, 17)),
    ]
    assert spans({"sat": "09:00-17:00"}, monday, tuesday) == []
    assert spans({"mon": "00:00-24:00"}, monday, monday) == [
        (datetime(2026, 3, 2), datetime(2026, 3, 3))]
    with pytest.raises(RosterError, match="not a time range"):
        parse_ranges("9-5")


def test_demo_roster_and_ivr_check(tmp_path: Path) -> None:
    agents, shifts = read_roster(DEMO_ROSTER)
    assert len(agents) == 12 and shifts["jo"] == {"mon-fri": ["09:00-12:00", "13:00-17:00"]}
    folder = tmp_path / "callflows"
    shutil.copytree(ROOT / "callflows", folder)
    shutil.copy(DEMO_ROSTER, folder / "agents.yaml")
    callflows, problems = check_folder(folder)
    assert callflows is not None, problems
    (folder / "agents.yaml").write_text(
        'a1:\n  phone: "+15005550101"\n  skills: {sales: 2}\n  shifts: {weekdays: "9-5"}\n')
    callflows, problems = check_folder(folder)
    assert callflows is None
    assert any("unknown day 'weekdays'" in p.message for p in problems)


# --- the simulated day ----------------------------------------------------------------


def test_single_queue_agrees_with_erlang_c(r: redis.Redis) -> None:
    """The fast version of the validation (the load test runs 20,000 calls)."""
    cells, _ = single_queue(r, intervals=4)
    got = totals(cells)
    expected = performance(14, 10.0, 180, 20)
    assert 300 < got["offered"] < 500
    assert got["answered"] == got["offered"]  # nobody gives up, nobody is turned away
    assert got["service_level"] == pytest.approx(expected.service_level, abs=0.08)
    assert got["asa"] == pytest.approx(expected.asa_s, rel=0.5)
    assert got["occupancy"] == pytest.approx(expected.occupancy, abs=0.06)


def test_impatient_callers_abandon_like_erlang_a(r: redis.Redis) -> None:
    cells, _ = single_queue(r, intervals=4, agents_n=11, patience=60)
    got = totals(cells)
    expected = performance(11, 10.0, 180, 20, patience_s=60)
    assert got["abandon"] > 0
    assert got["abandon"] == pytest.approx(expected.p_abandon, abs=0.05)
    assert sum(c.abandoned + c.answered for c in cells) == got["offered"]


def test_callbacks_instead_of_giving_up(r: redis.Redis) -> None:
    """Half of those who would give up press 1: the router offers their callbacks to agents
    (kind callback: the agent dials them), each caller still ends exactly one way, and
    fewer abandon than on the same day without callbacks."""
    plain, _ = single_queue(r, intervals=4, agents_n=11, patience=60, callback=True)
    r.flushdb()
    cells, _ = single_queue(r, intervals=4, agents_n=11, patience=60, callback=True,
                            callback_share=0.5)
    offered = sum(c.offered for c in cells)
    assert offered == sum(c.offered for c in plain)  # the very same callers arrive
    asked = sum(c.callbacks for c in cells)
    reached = sum(c.called_back for c in cells)
    failed = sum(c.callback_failed for c in cells)
    assert asked > 10
    assert sum(c.answered + c.abandoned + c.overflowed + c.callbacks for c in cells) == offered
    assert reached + failed == asked  # the tail follows every callback to its end
    assert reached >= asked - 2  # 80 % of dials answered, three tries: 0.8 % fail
    assert sum(c.abandoned for c in cells) < sum(c.abandoned for c in plain)
    # callbacks keep their place and take agents' time: more callers run out of patience
    # than on the plain day, and the agents are busier
    assert sum(c.abandoned for c in cells) + asked > sum(c.abandoned for c in plain)
    assert sum(c.busy_s for c in cells) > sum(c.busy_s for c in plain)


def test_callbacks_nobody_answers_fail_after_the_last_try(r: redis.Redis) -> None:
    cells, day = single_queue(r, intervals=2, agents_n=11, patience=30, callback=True,
                              callback_share=1.0, callback_answer=0.0)
    asked = sum(c.callbacks for c in cells)
    assert asked > 0
    assert sum(c.called_back for c in cells) == 0
    assert sum(c.callback_failed for c in cells) == asked
    tries = [e for e in day.router.events(count=100_000) if e.get("type") == "callback_result"]
    assert len(tries) == 3 * asked  # every callback tried three times, spaced by the router


def test_callbacks_need_the_queue_to_offer_them(r: redis.Redis) -> None:
    cells, _ = single_queue(r, intervals=2, agents_n=11, patience=60, callback_share=1.0)
    assert sum(c.callbacks for c in cells) == 0
    assert sum(c.abandoned for c in cells) > 0


def test_same_seed_same_numbers_other_seed_other_numbers(r: redis.Redis) -> None:
    first = [c.row() for c in single_queue(r, intervals=2, patience=90, ring_s=4)[0]]
    r.flushdb()
    again = [c.row() for c in single_queue(r, intervals=2, patience=90, ring_s=4)[0]]
    r.flushdb()
    other = [c.row() for c in single_queue(r, intervals=2, patience=90, ring_s=4, seed=2)[0]]
    assert first == again
    assert first != other


def test_escalation_of_the_real_router_decides_who_answers(r: redis.Redis) -> None:
    """Callers first need sales at level 4; the only agents have level 1 until the router's
    escalation step after 45 s lets anyone with sales take them: no caller is answered
    within the 20 s target, and none before 45 s."""
    cells, day = single_queue(
        r, intervals=1, calls=20, agents_n=10,
        escalate=[{"after": 0, "min_level": 4}, {"after": 45, "min_level": 1}])
    got = totals(cells)
    assert got["answered"] == got["offered"] > 5
    assert got["service_level"] == 0
    assert got["asa"] >= 44.99  # (times are whole milliseconds in the router)
    escalations = [e for e in day.router.events("sales", count=1000) if e["type"] == "escalate"]
    assert len(escalations) == got["offered"]


def test_shifts_and_wrap_up(r: redis.Redis, tmp_path: Path) -> None:
    """An agent on shift from 09:30 only: the 09:00 callers find nobody logged in, which
    the router overflows at once; from 09:30 the agent answers, wrap-up keeping them busy
    between calls."""
    from ivr.flows.model import AgentConfig, Callflows, QueueConfig
    from ivr.staffing.forecast import Forecast, ForecastRow
    from ivr.staffing.whatif import Options, WhatIf
    from tests.staffing.whatif_helpers import MONDAY

    flows = Callflows(flows={}, version="t", queues={
        "sales": QueueConfig(name="sales", skills=["sales"], wrap_up=60, max_wait=0)},
        agents={"late": AgentConfig(id="late", name="Late", phone="+15005550199",
                                    skills={"sales": 2})})
    rows = [ForecastRow(MONDAY, "sales", 4, 60), ForecastRow(MONDAY.replace(minute=30),
                                                              "sales", 4, 60)]
    day = WhatIf(r, flows, Forecast(rows, 1800), {"late": {"mon": "09:30-17:00"}},
                 Options(seed=3, ring_s=0))
    early, late = day.run()
    assert early.agents == 0 and late.agents == 1
    assert early.offered > 0 and early.overflowed == early.offered and early.answered == 0
    assert early.erlang["erlang_service_level"] == 0  # Erlang C with nobody: nobody answered
    assert late.offered > 0 and late.answered == late.offered and late.overflowed == 0
    talks = [b - a for a, b in day.busy["late"]]
    assert len(talks) == late.offered and min(talks) >= 60  # wrap-up counted as busy


# --- the command ----------------------------------------------------------------------


def _small_forecast(tmp_path: Path) -> Path:
    lines = DEMO_FORECAST.read_text().splitlines()
    f = tmp_path / "day.csv"
    f.write_text("\n".join([lines[0], *[x for x in lines[1:] if " 09:" in x]]) + "\n")
    return f


def test_command_csv_json_table(tmp_path: Path) -> None:
    forecast = _small_forecast(tmp_path)
    runner = CliRunner()
    base = ["whatif", str(forecast), str(ROOT / "callflows"), "--roster", str(DEMO_ROSTER)]
    out = runner.invoke(main, [*base, "--format", "csv"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 1 + 8 + 4  # 2 intervals x 4 queues, a day row per queue
    as_json = runner.invoke(main, [*base, "--format", "json", "--out", str(tmp_path / "o.json")])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads((tmp_path / "o.json").read_text())
    assert [r["queue"] for r in data["rows"][:4]] == ["billing", "sales", "spanish", "support"]
    csv_rows = [x.split(",") for x in lines[1:]]
    assert [int(r["offered"]) for r in data["rows"]] == [int(r[3]) for r in csv_rows]
    table = runner.invoke(main, base)
    assert table.exit_code == 0, table.output
    assert "simulated through the routing" in table.output and "09:30     support" in table.output


def test_command_refuses_unknown_queue(tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text("interval_start,queue,calls,aht\n2026-03-02 09:00,nosuch,5,100\n")
    out = CliRunner().invoke(main, ["whatif", str(f), str(ROOT / "callflows")])
    assert out.exit_code == 2 and "not in queues.yaml: nosuch" in out.output


def test_chart_or_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forecast = _small_forecast(tmp_path)
    args = ["whatif", str(forecast), str(ROOT / "callflows"), "--roster", str(DEMO_ROSTER),
            "--format", "csv", "--chart", str(tmp_path / "day.svg")]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pass
    else:
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 0, out.output
        assert (tmp_path / "day.svg").read_text().lstrip().startswith("<?xml")
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1
    assert "the chart needs matplotlib" in out.output and "ivr[chart]" in out.output
