"""`ivr report`: the interval reports of `GET /api/reports` in a terminal, as a table, CSV
or JSON (for a spreadsheet: `ivr report --interval day --from 2026-11-01 --format csv`).

It reads the same Redis as the server (the running `ivr serve` of IVR_DATA_DIR, or
REDIS_URL), folding in the events logged since the server's last fold first.
"""

from __future__ import annotations

import json

import click


@click.command("report")
@click.option("--queue", help="One queue (default: every queue).")
@click.option("--agent", help="The agent report of one agent, or * for every agent.")
@click.option("--from", "start", metavar="WHEN",
              help="Date, date-time (the queue's time zone) or epoch seconds; default today.")
@click.option("--to", "end", metavar="WHEN", help="End (a date includes that day); default "
                                                  "a day after --from.")
@click.option("--interval", type=click.Choice(["15", "30", "60", "day"]), default="60",
              show_default=True, help="Minutes per row, or a day.")
@click.option("--tz", help="Time zone of the rows (default: the queue's).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
def report_command(queue: str | None, agent: str | None, start: str | None, end: str | None,
                   interval: str, tz: str | None, fmt: str) -> None:
    """Interval reports per queue (offered, answered, service level, ...) or per agent."""
    from ivr.reports import Reporting
    from ivr.reports.query import QueryError, csv_text, run_report, table_text
    from ivr.routing.commands import command_app

    with command_app() as app:
        reporting: Reporting = app.extensions["ivr.reports"]
        callflows = app.extensions["ivr.flows"].current
        try:
            answer = run_report(reporting.reports, callflows, queue=queue, agent=agent,
                                start=start, end=end, interval=interval, tz=tz,
                                now=reporting.reports.clock())
        except QueryError as exc:
            raise click.UsageError(str(exc)) from None
        except LookupError as exc:
            known = ", ".join(sorted(callflows.queues)) or "none"
            raise click.ClickException(f"{exc.args[0]} (known: {known})") from None
    if fmt == "json":
        click.echo(json.dumps(answer, indent=2))
    elif fmt == "csv":
        click.echo(csv_text(answer["columns"], answer["rows"]), nl=False)
    else:
        click.echo(f"{answer['report']} report, {answer['from']} to {answer['to']} "
                   f"({answer['timezone']}), interval {interval}")
        click.echo(table_text(answer["columns"], answer["rows"]))
