"""The demo answers at any hour: `ivr simulate --at` and `--open`, and who honours them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from click.testing import CliRunner

from ivr.cli import main
from ivr.sim.clock import Pretend, install, parse_at
from ivr.sim.people import Caller

from .procs import DEMO, ROOT

MENU = "For sales press 1 or say sales."
CLOSED = "We are closed."


def simulate(redis_url: str, tmp_path: Path, *args: str, input: str = "/hangup\n") -> str:
    result = CliRunner().invoke(
        main, ["simulate", "--time-scale", "0.01", *args], input=input,
        env={"REDIS_URL": redis_url, "IVR_CALLFLOWS": str(DEMO),
             "IVR_RECORDINGS": str(ROOT / "recordings"), "IVR_DATA_DIR": str(tmp_path / "d")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_at_a_closed_hour_and_inside_opening_hours(
    redis_url: str, r: redis.Redis, tmp_path: Path
) -> None:
    # Sunday 03:00 in New York: the office schedule is closed, the caller hears so.
    closed = simulate(redis_url, tmp_path, "--at", "2026-12-06 03:00")
    assert "pretending it is Sun 2026-12-06 03:00 (EST)" in closed
    assert CLOSED in closed and MENU not in closed
    # Monday 10:30 in New York, whatever the clock of this machine says: the main menu.
    opened = simulate(redis_url, tmp_path, "--at", "2026-12-07 10:30")
    assert MENU in opened and CLOSED not in opened


def test_demo_open_makes_every_schedule_open(
    redis_url: str, r: redis.Redis, tmp_path: Path
) -> None:
    out = simulate(redis_url, tmp_path, "--open", "--at", "2026-12-06 03:00")
    assert "every schedule open" in out
    assert MENU in out and CLOSED not in out
    # Christmas Eve is a closed date of the demo: --open wins over it too.
    out = simulate(redis_url, tmp_path, "--open", "--at", "2026-12-24 11:00")
    assert MENU in out and "closed today for the holiday" not in out


def test_at_rejects_what_is_not_a_time(redis_url: str, r: redis.Redis, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--at", "next tuesday"], input="",
        env={"REDIS_URL": redis_url, "IVR_CALLFLOWS": str(DEMO),
             "IVR_DATA_DIR": str(tmp_path / "d")},
    )
    assert result.exit_code == 2
    assert "--at" in result.output and "2026-12-07 10:30" in result.output


def test_parse_at_is_in_the_given_zone() -> None:
    at = parse_at("2026-07-01 09:15", "America/New_York")
    assert at.utcoffset() == timedelta(hours=-4)
    assert parse_at("2026-07-01T09:15+02:00", "America/New_York").utcoffset() == timedelta(
        hours=2)
    assert parse_at("09:15", "UTC").time().hour == 9


HOLIDAY_FLOWS = {
    "main.yaml": """\
numbers: ["*"]
timezone: UTC
start: check
steps:
  check:
    hours: always
    open: is_open
    closed: is_closed
    holiday: is_holiday
  is_open:
    say: "Open in {{ now.year }}."
    next: bye
  is_closed:
    say: "Closed."
    next: bye
  is_holiday:
    say: "Holiday in {{ now.year }}."
    next: bye
  bye:
    hangup: "Bye."
""",
}


def holiday_folder(tmp_path: Path) -> Path:
    """Open all day every day, except that today (and its neighbours) are closed dates:
    a real call hears "holiday" whatever the hour this test runs."""
    folder = tmp_path / "callflows"
    folder.mkdir()
    for name, text in HOLIDAY_FLOWS.items():
        (folder / name).write_text(text)
    today = datetime.now(UTC).date()
    days = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))
    (folder / "hours.yaml").write_text(
        f'always:\n  timezone: UTC\n  open: {{daily: "00:00-24:00"}}\n  closed: [{days}]\n')
    return folder


def call(live: object, pretend: Pretend) -> list[str]:
    sim = live.sim  # type: ignore[attr-defined]
    sim.extra_headers = pretend.headers
    return list(sim.place_call("+15551230000", "+15005550006", Caller()).wait(20).said())


def test_only_a_simulated_server_honours_the_pretend_headers(
    live_factory: object, tmp_path: Path
) -> None:
    folder = holiday_folder(tmp_path)
    plain = live_factory(folder)  # type: ignore[operator]
    live = live_factory(folder)  # type: ignore[operator]
    install(live.app)  # what `ivr serve --simulated` and `ivr simulate` do
    pretend = Pretend(at=datetime(2030, 1, 7, 10, 0, tzinfo=UTC), all_open=True)
    # A server not started for simulation (real Twilio would never send these headers anyway).
    assert call(plain, pretend)[0] == f"Holiday in {datetime.now(UTC).year}."
    assert call(live, Pretend(at=datetime(2030, 1, 7, 10, 0, tzinfo=UTC))) == [
        "Open in 2030.", "Bye."]
    assert call(live, Pretend(all_open=True))[0] == f"Open in {datetime.now(UTC).year}."
    # Without the headers the real clock is back: nothing lingers in the worker's threads.
    assert call(live, Pretend())[0] == f"Holiday in {datetime.now(UTC).year}."
    for server in (plain, live):
        server.sim.assert_no_errors()  # type: ignore[attr-defined]
