"""`ivr staffing`: how many agents one interval's calls need, and what they give;
`ivr whatif`: a forecast day simulated through the real routing.

`ivr staffing` is pure arithmetic: no Redis, no app, no logging. Erlang C, or
Erlang A when `--patience` says how long callers hold before giving up.
`ivr whatif` runs the router on a private embedded Redis (ivr/staffing/whatif.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from ivr.staffing.erlang import Staffing, required_agents


def _number(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a finite number")
    return value


def _at_least_zero(ctx: click.Context, param: click.Parameter, value: float) -> float:
    _number(ctx, param, value)
    if value < 0:
        raise click.BadParameter("must be zero or more")
    return value


def _optional_at_least_zero(ctx: click.Context, param: click.Parameter,
                   value: float | None) -> float | None:
    return None if value is None else _at_least_zero(ctx, param, value)


def _above_zero(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    _number(ctx, param, value)
    if value is not None and value <= 0:
        raise click.BadParameter("must be above zero")
    return value


def _level(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is None:
        return None
    _number(ctx, param, value)
    if 1 < value < 100:
        raise click.BadParameter(f"{value:g} is not a fraction: write {value / 100:g} "
                                 f"for {value:g} %")
    if value >= 1:
        raise click.BadParameter("no number of agents answers every caller within a "
                                 "target: give a fraction below 1, such as 0.8")
    if value <= 0:
        raise click.BadParameter("must be a fraction above 0, such as 0.8")
    return value


def _shrinkage(ctx: click.Context, param: click.Parameter, value: float) -> float:
    _number(ctx, param, value)
    if not 0 <= value < 1:
        raise click.BadParameter("must be a fraction from 0 up to (not including) 1, "
                                 "such as 0.3 for 30 %")
    return value


@click.command("staffing")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--history", is_flag=True,
              help="Agents needed per interval of a typical week, from the recorded calls.")
@click.option("--calls", type=float, default=None, callback=_optional_at_least_zero,
              help="Calls expected in the interval.")
@click.option("--interval", "interval_min", type=float, default=None, callback=_above_zero,
              metavar="MINUTES", help="Length of the interval, in minutes (30 for a half "
                                      "hour; with --history 15, 30 or 60, default 30).")
@click.option("--aht", type=float, default=None, callback=_above_zero, metavar="SECONDS",
              help="Average handle time per call (talk, hold and wrap-up), in seconds.")
@click.option("--target", type=float, default=None, callback=_optional_at_least_zero,
              metavar="SECONDS", help="Answer-time target, in seconds (20 for '80/20'; "
                                      "with --history default each queue's service_level).")
@click.option("--level", type=float, default=None, callback=_level, metavar="FRACTION",
              help="Share of calls to answer within the target (0.8 for '80/20'; with "
                   "--history default 0.8).")
@click.option("--shrinkage", type=float, default=0.0, show_default=True, callback=_shrinkage,
              metavar="F", help="Share of paid time agents are not on the phones "
                                "(breaks, training, absence): 0.3 for 30 %.")
@click.option("--patience", type=float, default=None, callback=_above_zero, metavar="SECONDS",
              help="Average time callers hold before giving up: uses Erlang A.")
@click.option("--queue", "queues", multiple=True, metavar="Q",
              help="With --history: this queue only (repeatable; default every queue).")
@click.option("--days", type=click.IntRange(1, 366), default=28, show_default=True,
              help="With --history: how many full days before today to average.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format (csv: with --history).")
def staffing_command(folder: Path | None, history: bool, calls: float | None,
                     interval_min: float | None, aht: float | None, target: float | None,
                     level: float | None, shrinkage: float, patience: float | None,
                     queues: tuple[str, ...], days: int, fmt: str) -> None:
    """The fewest agents that answer LEVEL of the calls within TARGET seconds.

    Erlang C (callers wait as long as it takes), or Erlang A with --patience
    (callers give up after PATIENCE seconds on average). Prints the agents
    needed, the service level, average speed of answer, occupancy and chance
    of waiting they give, and the agents to roster after shrinkage.

    With --history, the same per queue and interval of a typical week: calls
    and handle time of the last --days days from the interval reports (of the
    running server's Redis; FOLDER names the call flows, default the server's).

    Example: ivr staffing --calls 100 --interval 30 --aht 180 --target 20 --level 0.8
    """
    if history:
        _history(folder, interval_min, target, level, shrinkage, patience, queues, days, fmt)
        return
    missing = [f"'--{name}'" for name, v in (("calls", calls), ("interval", interval_min),
                                           ("aht", aht), ("target", target), ("level", level))
               if v is None]
    if missing:
        raise click.UsageError(f"Missing option {', '.join(missing)} (or use --history)")
    if folder is not None or queues:
        raise click.UsageError("a folder and --queue go with --history")
    if fmt == "csv":
        raise click.UsageError("--format csv goes with --history (use json)")
    assert calls is not None and interval_min is not None and aht is not None
    assert target is not None and level is not None
    try:
        result = required_agents(calls, interval_min * 60.0, aht, target, level,
                                 patience_s=patience, shrinkage=shrinkage)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps(_json_row(result), indent=2))
    else:
        click.echo(table(result))


def _history(folder: Path | None, interval_min: float | None, target: float | None,
             level: float | None, shrinkage: float, patience: float | None,
             queues: tuple[str, ...], days: int, fmt: str) -> None:
    """`ivr staffing --history`: the typical week of the server's interval reports."""
    from ivr.flows.commands import checked_callflows
    from ivr.reports import Reporting
    from ivr.routing.commands import command_app
    from ivr.staffing import history

    interval = 30 if interval_min is None else interval_min
    if interval not in history.INTERVALS:
        raise click.UsageError("with --history, --interval is 15, 30 or 60")
    targets = history.Targets(target_s=target, level=0.8 if level is None else level,
                              shrinkage=shrinkage, patience_s=patience)
    with command_app() as app:
        reporting: Reporting = app.extensions["ivr.reports"]
        callflows = app.extensions["ivr.flows"].current
        if folder is not None:
            callflows = checked_callflows(folder)
            reporting.reports.callflows = lambda: callflows  # its queues' zones and targets
        unknown = sorted(set(queues) - set(callflows.queues))
        if unknown:
            known = ", ".join(sorted(callflows.queues)) or "none"
            raise click.UsageError(f"no queue named {unknown[0]!r} (known: {known})")
        reporting.reports.fold()  # the calls of the last second count too
        cells = history.typical_week(reporting.reports, queues or sorted(callflows.queues),
                                     targets, days=days, interval_min=int(interval),
                                     now=reporting.reports.clock())
    model = "Erlang C" if patience is None else f"Erlang A (patience {_num(patience)} s)"
    aim = (f"{_pct(targets.level)} within " +
           ("each queue's service level" if target is None else f"{_num(target)} s"))
    title = (f"Typical week of the last {days} days, {int(interval)}-minute intervals, "
             f"{model}, {aim}, shrinkage {_pct(shrinkage)}")
    if fmt == "json":
        click.echo(json.dumps(history.as_json(cells, {"days": days, "interval": int(interval),
                                                      "title": title}), indent=2))
    elif fmt == "csv":
        click.echo(history.as_csv(cells), nl=False)
    else:
        click.echo(history.as_table(cells, title))


def _json_row(result: Staffing) -> dict[str, Any]:
    row = result.as_dict()
    # JSON has no infinity; only an unstable Erlang C result would carry one.
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def table(result: Staffing) -> str:
    """The answer as a planner reads it."""
    p = result.performance
    model = ("Erlang C" if result.patience_s is None
             else f"Erlang A, callers give up after {_num(result.patience_s)} s on average")
    lines = [
        f"{model}: {_num(result.calls)} calls in {_num(result.interval_s / 60)} min, "
        f"handle time {_num(result.aht_s)} s, "
        f"target {_pct(result.level)} answered within {_num(result.target_s)} s",
        "",
    ]
    rows: list[tuple[str, str, str]] = [
        ("traffic", f"{p.traffic:.2f}", "Erlangs (calls x handle time / interval)"),
        ("agents", str(p.agents), "the fewest that meet the target"),
        ("service level", f"{p.service_level:.3f}",
         f"{_pct(p.service_level)} of calls answered within {_num(result.target_s)} s"),
        ("average speed of answer", f"{p.asa_s:.1f} s", "mean wait of answered calls"),
        ("occupancy", f"{p.occupancy:.3f}", "share of agent time on calls"),
        ("chance of waiting", f"{p.p_wait:.3f}", "callers who find every agent busy"),
    ]
    if result.patience_s is not None:
        rows.append(("abandon share", f"{p.p_abandon:.3f}", "callers who give up"))
    rows.append(("rostered", str(result.rostered),
                 f"agents to schedule with {_pct(result.shrinkage)} shrinkage"))
    label = max(len(r[0]) for r in rows)
    value = max(len(r[1]) for r in rows)
    lines += [f"{name.ljust(label)}  {v.rjust(value)}  {note}" for name, v, note in rows]
    return "\n".join(lines)


def _num(value: float) -> str:
    """12, 12.5, 0.25: no trailing zeros."""
    return f"{value:.6g}"


def _pct(fraction: float) -> str:
    """0.8 → "80 %", 0.888 → "88.8 %"."""
    text = f"{fraction * 100:.1f}"
    return f"{text.removesuffix('.0')} %"


# --- ivr whatif ----------------------------------------------------------------------


def _fraction(ctx: click.Context, param: click.Parameter, value: float) -> float:
    _number(ctx, param, value)
    if not 0 <= value < 1:
        raise click.BadParameter("must be a fraction from 0 up to (not including) 1")
    return value


@click.command("whatif")
@click.argument("forecast", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Agents (agents.yaml format, with shifts:) instead of the folder's.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same numbers.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Write the output to FILE instead of the terminal.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also draw the day to FILE (.png or .svg; needs matplotlib).")
@click.option("--ring", type=float, default=4.0, show_default=True, callback=_at_least_zero,
              metavar="SECONDS", help="Mean seconds an agent's phone rings before they accept.")
@click.option("--miss", type=float, default=0.0, show_default=True, callback=_fraction,
              metavar="FRACTION", help="Share of offers agents let ring out (no-answer misses).")
@click.option("--callback-answer", type=float, default=0.8, show_default=True,
              callback=_fraction, metavar="FRACTION",
              help="Share of agents' dials to a callback customer that the customer answers.")
def whatif_command(forecast: Path, folder: Path | None, roster: Path | None, seed: int,
                   fmt: str, out: Path | None, chart: Path | None, ring: float,
                   miss: float, callback_answer: float) -> None:
    """Simulate FORECAST's day through the routing of the call-flow FOLDER.

    FORECAST is a CSV with the columns interval_start, queue, calls, aht[, patience]
    [, callback] (aht: talk seconds; the queue's wrap_up is added by the routing;
    callback: the share of those who would give up who ask for a callback instead, in
    queues with callback: true; the router offers it to an agent). Agents come
    from the folder's agents.yaml, or --roster, and follow their shifts:. Prints,
    per interval and queue, offered, answered, abandoned, service level, average
    speed of answer and occupancy beside what Erlang C (Erlang A with patience)
    predicts. Runs on a private Redis of its own; nothing of a server is touched.

    Example: ivr whatif docs/whatif-demo.csv --roster docs/whatif-roster.yaml callflows
    """
    import tempfile
    from dataclasses import replace

    from ivr.flows.commands import checked_callflows, default_folder
    from ivr.staffing import report
    from ivr.staffing.forecast import ForecastError, read_forecast
    from ivr.staffing.shifts import RosterError, read_roster
    from ivr.staffing.whatif import Options, WhatIf
    from ivr.store import EmbeddedRedis, connect

    folder = folder or default_folder()
    callflows = checked_callflows(folder)
    try:
        plan = read_forecast(forecast)
        agents, shifts = read_roster(roster or folder / "agents.yaml")
    except (ForecastError, RosterError) as exc:
        raise click.UsageError(str(exc)) from exc
    except FileNotFoundError as exc:
        raise click.UsageError(f"no roster: {exc.filename}") from exc
    version = f"{callflows.version}:{roster}" if roster else callflows.version
    callflows = replace(callflows, agents=agents, version=version)
    options = Options(seed=seed, ring_s=ring, miss=miss, callback_answer=callback_answer)
    with tempfile.TemporaryDirectory(prefix="ivr-whatif-") as tmp:
        server = EmbeddedRedis(tmp, persist=False)
        store = connect(server.start(), socket_timeout=60.0)
        try:
            cells = WhatIf(store, callflows, plan, shifts, options).run()
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        finally:
            store.close()
            server.stop()
    begin, end = plan.window
    title = (f"What-if {begin:%Y-%m-%d %H:%M}-{end:%H:%M} ({plan.interval_s // 60}-minute "
             f"intervals), seed {seed}, {sum(c.offered for c in cells)} calls")
    if fmt == "json":
        text = report.as_json(cells, {"title": title, "seed": seed,
                                      "interval_s": plan.interval_s})
    elif fmt == "csv":
        text = report.as_csv(cells)
    else:
        text = report.as_table(cells, title)
    if out is not None:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text.rstrip("\n"))
    if chart is not None:
        try:
            report.write_chart(cells, chart, title)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"wrote {chart}", err=True)
