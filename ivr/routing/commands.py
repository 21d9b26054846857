"""`ivr agents [list | set AGENT STATUS]`: see and change agents' availability from a shell.

It talks to the same Redis as the server through the same Router, so a change
here is at once what the server routes by, and an agent made available is
matched right away. When `ivr serve` runs with this IVR_DATA_DIR, the command
uses that server's Redis, call flows and (for `--simulated`) Twilio, and says
so if this shell's IVR_CALLFLOWS differs. With no server running it starts the
embedded Redis of IVR_DATA_DIR for itself alone and stops it when done.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask

    from ivr.routing.router import Router


@contextlib.contextmanager
def _router() -> Iterator[Router]:
    with command_app() as app:
        router: Router = app.extensions["ivr.router"]
        yield router


@contextlib.contextmanager
def command_app() -> Iterator[Flask]:
    """The app of a one-shot command, on the running server's Redis and call flows (see
    the module docstring), without its background threads."""
    from ivr.app import create_app
    from ivr.cli import folder_note
    from ivr.config import Config
    from ivr.store import ServerRecord, redis_for_command

    config = Config.from_env()
    server = ServerRecord.read(config.data_dir)
    overrides: dict[str, Any] = {"background": False}
    if server is not None:
        note = folder_note(config.callflows, server)
        if note:
            click.echo(f"{note}; using the server's", err=True)
        overrides.update(callflows=server.callflows, recordings=server.recordings)
        if server.simulated:
            # An agent made available may be offered a call now: ring it in `ivr simulate`.
            overrides.update(twilio_api_url=server.simulator_url, twilio_account_sid=None,
                             twilio_auth_token=None, public_url=None)
    redis_url = config.redis_url or (server.redis_url if server else None)
    with redis_for_command(redis_url, config.data_dir) as url:
        app = create_app(config.with_overrides({**overrides, "redis_url": url}))
        try:
            yield app
        finally:
            app.extensions["ivr.redis"].close()


def duration(seconds: float) -> str:
    """Time in state as an admin reads it: 45s, 3m 05s, 2h 10m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def table(agents: list[dict[str, Any]], now: float) -> str:
    header = ("AGENT", "NAME", "STATUS", "STATE", "IN STATE", "CALLS", "PHONE", "SOURCE")
    rows = [header] + [
        (a["id"], a["name"] or "", a["status"], a["state"], duration(now - a["since"]),
         str(a["calls_today"]), a["phone"] or "", a["source"] or "")
        for a in agents
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


@click.group("agents")
def agents_command() -> None:
    """Show and change agent availability."""


@agents_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_agents(as_json: bool) -> None:
    """Every agent with status, state and time in state."""
    with _router() as router:
        agents = router.agents()
    if as_json:
        click.echo(json.dumps(agents, indent=2))
    elif not agents:
        click.echo("No agents (add them to agents.yaml).")
    else:
        click.echo(table(agents, time.time()))


@agents_command.command("set")
@click.argument("agent")
@click.argument("status", type=click.Choice(["available", "break", "offline", "on", "off"],
                                              case_sensitive=False))
def set_agent(agent: str, status: str) -> None:
    """Set AGENT's status: available (on), break, offline (off)."""
    from ivr.routing.router import UnknownAgent

    wanted = {"on": "available", "off": "offline"}.get(status.lower(), status.lower())
    with _router() as router:
        try:
            row = router.set_agent_status(agent, wanted, source="cli")
        except UnknownAgent:
            known = ", ".join(a["id"] for a in router.agents()) or "none"
            raise click.ClickException(f"no agent {agent!r} (known: {known})") from None
    click.echo(f"{row['id']}: {row['status']} ({row['state']})")
