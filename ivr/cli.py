"""The `ivr` command (click, Flask's own CLI toolkit).

Subcommands live next to the code they drive and are imported only when
used (click's documented lazy-group pattern), so `ivr check` does not pay for
gunicorn and `ivr --help` answers at once.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from ivr.config import Config

LAZY_COMMANDS = {
    "check": ("ivr.flows.commands", "check_command"),
    "graph": ("ivr.flows.commands", "graph_command"),
    "simulate": ("ivr.sim.interactive", "simulate_command"),
    "agents": ("ivr.routing.commands", "agents_command"),
    "staffing": ("ivr.staffing.commands", "staffing_command"),
}

WEBHOOKS = (
    ("Voice: a call comes in", "/twilio/voice"),
    ("Voice: primary handler fails", "/twilio/voice/fallback"),
    ("Voice: call status changes", "/twilio/voice/status"),
    ("Messaging: a message comes in", "/twilio/sms"),
)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="ivr")
def main() -> None:
    """ivr: a telephony IVR and call-routing server for Twilio."""


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn embedded in our process, so `ivr serve` owns its lifecycle."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from ivr.app import create_app

        return create_app()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Start the server (and the embedded Redis when REDIS_URL is unset)."""
    config = Config.from_env()
    embedded = None
    if not config.redis_url:
        from ivr.store import EmbeddedRedis

        embedded = EmbeddedRedis(config.data_dir)
        os.environ["REDIS_URL"] = embedded.start()
        click.echo(f"Embedded Redis: {os.environ['REDIS_URL']} (data in {embedded.data_dir})")
    metrics_dir = tempfile.mkdtemp(prefix="ivr-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    base = config.public_url or f"http://{host}:{port}"
    click.echo("Paste these into your Twilio number's configuration:")
    for label, path in WEBHOOKS:
        click.echo(f"  {label:32} POST {base}{path}")
    if config.dev_mode:
        click.secho(
            "\n*** DEV MODE: TWILIO_AUTH_TOKEN is not set. Webhook signatures are NOT checked;\n"
            "*** only requests from this machine (loopback) are accepted. Set TWILIO_AUTH_TOKEN\n"
            "*** before exposing this server to Twilio.\n",
            fg="red", bold=True, err=True,
        )
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        # gunicorn's control socket sits at one fixed path per user: two servers
        # on one machine would fight over it, and nothing here uses it.
        "control_socket_disable": True,
    }
    master = os.getpid()
    try:
        _Gunicorn(options).run()
    finally:
        # Forked workers unwind through here too when they exit: only the
        # master, once every worker is gone, may stop the shared server.
        if os.getpid() == master:
            if embedded is not None:
                embedded.stop()
                click.echo("Embedded Redis stopped (data saved).")
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
