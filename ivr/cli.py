"""The `ivr` command (click, Flask's own CLI toolkit).

Subcommands live next to the code they drive and are imported only when
used (click's documented lazy-group pattern), so `ivr check` does not pay for
the app and `ivr --help` answers at once. Commands print what they were asked
for and nothing else: INFO logs only with `ivr -v ...` (`ivr serve`, a server,
logs at INFO always).
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from ivr import paths
from ivr.config import Config

LAZY_COMMANDS = {
    "check": ("ivr.flows.commands", "check_command"),
    "graph": ("ivr.flows.commands", "graph_command"),
    "simulate": ("ivr.sim.interactive", "simulate_command"),
    "agents": ("ivr.routing.commands", "agents_command"),
    "staffing": ("ivr.staffing.commands", "staffing_command"),
    "report": ("ivr.reports.commands", "report_command"),
    "whatif": ("ivr.staffing.commands", "whatif_command"),
}

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
@click.option("-v", "--verbose", is_flag=True,
              help="Show INFO log lines too (ivr serve always does).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """ivr: a telephony IVR and call-routing server for Twilio."""
    server = ctx.invoked_subcommand == "serve"
    level = logging.INFO if verbose or server else logging.WARNING
    logging.basicConfig(level=level, format=LOG_FORMAT if server
                        else "%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    ctx.ensure_object(dict)["verbose"] = verbose


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn embedded in our process, so `ivr serve` owns its lifecycle."""

    def __init__(self, options: dict[str, Any], *, simulated: bool = False) -> None:
        self.options = options
        self.simulated = simulated
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The app of one worker. The master already printed the call flows' verdict, so
        each worker loads them without saying it again."""
        from ivr.app import create_app

        flows_log = logging.getLogger("ivr.flows")
        level = flows_log.level
        flows_log.setLevel(logging.CRITICAL)
        try:
            app = create_app()
        finally:
            flows_log.setLevel(level)
        if self.simulated:
            from ivr.sim.clock import install

            install(app)
        return app


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (taken, not allowed), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    with socket.socket(family, kind, proto) as s:
        # As gunicorn binds: a port left in TIME_WAIT by a stopped server is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is already in use (another ivr serve?); "
                        "stop it or choose another with --port")
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def _local_base(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _flows_verdict(config: Config) -> None:
    """Check the call-flow folder once, in the master, and say what the workers will serve."""
    from ivr.flows.checker import check_folder
    from ivr.flows.commands import summary

    folder = config.callflows.resolve()
    recordings = config.recordings if config.recordings.is_dir() else None
    callflows, problems = check_folder(config.callflows, recordings=recordings)
    for p in problems:
        click.echo(str(p) if p.is_error else f"{p.location}: warning: {p.message}", err=True)
    if callflows is None:
        errors = sum(1 for p in problems if p.is_error)
        click.secho(f"Call flows in {folder} refused ({errors} error{'s' * (errors != 1)}): "
                    "every call hears \"not in service\" until `ivr check` passes "
                    "(fixes are picked up without a restart).", fg="red", err=True)
    else:
        click.echo(f"Call flows loaded from {folder}: {summary(callflows, len(problems))}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.option("--simulated", is_flag=True,
              help="Twilio is `ivr simulate` (run it in another terminal): no real call or "
                   "text is placed, and the simulator's --at/--open are honoured.")
def serve(host: str, port: int, workers: int, threads: int, simulated: bool) -> None:
    """Start the server (and the embedded Redis when REDIS_URL is unset)."""
    from ivr.sim.harness import free_port
    from ivr.store import EmbeddedRedis, ServerRecord

    problem = port_problem(host, port)
    if problem:
        click.echo(f"ivr serve: {problem}", err=True)
        sys.exit(1)
    simulator_url = None
    if simulated:
        # The server's REST calls go to the port `ivr simulate` will serve; the simulator
        # signs nothing the server could check, so the server runs in dev mode (loopback).
        simulator_url = f"http://127.0.0.1:{free_port()}"
        os.environ["TWILIO_API_URL"] = simulator_url
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"):
            os.environ.pop(name, None)
    config = Config.from_env()
    embedded = None
    if not config.redis_url:
        embedded = EmbeddedRedis(config.data_dir)
        os.environ["REDIS_URL"] = embedded.start()
        click.echo(f"Embedded Redis: {os.environ['REDIS_URL']} (data in {embedded.data_dir})")
    _flows_verdict(config)
    metrics_dir = tempfile.mkdtemp(prefix="ivr-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    local = _local_base(host, port)
    base = config.public_url or local
    click.echo("\nPaste these into your Twilio number's configuration:")
    for label, path in paths.CONSOLE_FIELDS:
        click.echo(f"  {label:32} POST {base}{path}")
    if config.public_url:
        click.echo("  (from IVR_PUBLIC_URL)")
    elif not simulated:
        click.echo("  IVR_PUBLIC_URL is not set: Twilio cannot reach this address. Expose the\n"
                   "  server over HTTPS (a tunnel or your proxy), set IVR_PUBLIC_URL to that\n"
                   "  base URL, restart, and paste the URLs printed then.")
    who = "needs IVR_ADMIN_TOKEN" if config.admin_token else "this machine only"
    click.echo(f"\nWallboard: {local}{paths.WALLBOARD}  ({who})")
    if simulated:
        click.secho(
            "\n*** SIMULATED: no real call or text leaves this machine. This server's Twilio is\n"
            f"*** `ivr simulate` (it calls {simulator_url}): run `ivr simulate --open` in another\n"
            "*** terminal, with the same IVR_DATA_DIR, to call in and answer the agents' phones.\n",
            fg="yellow", bold=True, err=True,
        )
    else:
        click.echo("Try a call without a phone: ivr simulate --open  (another terminal; "
                   "--sms to text)")
    if config.dev_mode and not simulated:
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
        ServerRecord(
            pid=master, url=local, callflows=str(config.callflows.resolve()),
            recordings=str(config.recordings.resolve()), redis_url=os.environ["REDIS_URL"],
            simulated=simulated, simulator_url=simulator_url,
        ).write(config.data_dir)
    except OSError as exc:  # a read-only working directory with REDIS_URL set: serve anyway
        click.echo(f"note: cannot write {config.data_dir}/server.json ({exc.strerror}): "
                   "ivr agents and ivr simulate will not find this server", err=True)
    try:
        _Gunicorn(options, simulated=simulated).run()
    finally:
        # Forked workers unwind through here too when they exit: only the
        # master, once every worker is gone, may stop the shared server.
        if os.getpid() == master:
            ServerRecord.remove(config.data_dir, master)
            if embedded is not None:
                embedded.stop()
                click.echo("Embedded Redis stopped (data saved).")
            shutil.rmtree(metrics_dir, ignore_errors=True)


def folder_note(folder: Path, record: Any) -> str | None:
    """A line saying that the running server reads another call-flow folder, or None."""
    if record is None or Path(record.callflows) == folder.resolve():
        return None
    return (f"note: the server running at {record.url} reads call flows from "
            f"{record.callflows}, not {folder.resolve()}")


if __name__ == "__main__":
    sys.exit(main())
