"""`ivr check` and `ivr graph` (wired into ivr/cli.py by name)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ivr.flows.checker import check_folder
from ivr.flows.graph import GraphvizMissing, mermaid, svg
from ivr.flows.model import Callflows


def default_folder() -> Path:
    return Path(os.environ.get("IVR_CALLFLOWS") or "callflows")


def _recordings() -> Path | None:
    path = Path(os.environ.get("IVR_RECORDINGS") or "recordings")
    return path if path.is_dir() else None


def summary(callflows: Callflows, warnings: int = 0) -> str:
    """"2 flows, 35 steps, 4 queues, 5 agents, 1 schedule — OK" (ivr check, ivr serve)."""

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    steps = sum(len(f.steps) for f in callflows.flows.values())
    tail = f", {n(warnings, 'warning')}" if warnings else ""
    return (f"{n(len(callflows.flows), 'flow')}, {n(steps, 'step')}, "
            f"{n(len(callflows.queues), 'queue')}, {n(len(callflows.agents), 'agent')}, "
            f"{n(len(callflows.hours), 'schedule')} — OK{tail}")


def _note_other_folder(folder: Path) -> None:
    """Say so when the server running here (IVR_DATA_DIR) serves another folder."""
    from ivr.cli import folder_note
    from ivr.config import Config
    from ivr.store import ServerRecord

    note = folder_note(folder, ServerRecord.read(Config.from_env().data_dir))
    if note:
        click.echo(note, err=True)


def checked_callflows(folder: Path) -> Callflows:
    """The folder's call flows for a command that needs them whole: its errors printed and
    the command stopped (exit 1) when there are any."""
    callflows, problems = check_folder(folder)
    if callflows is None:
        for p in problems:
            if p.is_error:
                click.echo(str(p), err=True)
        raise click.ClickException(f"{folder} has errors; run `ivr check {folder}`")
    return callflows


@click.command("check")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
def check_command(folder: Path | None) -> None:
    """Validate every YAML file of the call-flow folder (default: $IVR_CALLFLOWS or ./callflows).

    Prints each problem as FILE:LINE:COL: message and exits 1 when there is any error.
    """
    folder = folder or default_folder()
    callflows, problems = check_folder(folder, recordings=_recordings())
    for p in problems:
        if p.is_error:
            click.echo(str(p))
        else:
            click.echo(f"{p.location}: warning: {p.message}")
    _note_other_folder(folder)
    if callflows is None:
        errors = sum(1 for p in problems if p.is_error)
        click.echo(f"{folder}: {errors} error{'s' if errors != 1 else ''}", err=True)
        raise SystemExit(1)
    click.echo(f"{folder}: {summary(callflows, len(problems))}")


@click.command("graph")
@click.argument("flow")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid",
              show_default=True, help="Mermaid text, or SVG drawn by Graphviz's dot.")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=None,
              help="Call-flow folder (default: $IVR_CALLFLOWS or ./callflows).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def graph_command(flow: str, fmt: str, folder: Path | None, output: Path | None) -> None:
    """Draw FLOW as a diagram: every step a node, every way out a labelled edge.

    FLOW is a flow's name (`main`) or its file (`main.yaml`, `callflows/main.yaml`).
    """
    as_path = Path(flow)
    if as_path.suffix in (".yaml", ".yml"):
        flow = as_path.stem
        if folder is None and as_path.parent != Path("."):
            folder = as_path.parent
    folder = folder or default_folder()
    _note_other_folder(folder)
    callflows = checked_callflows(folder)
    if flow not in callflows.flows:
        names = ", ".join(sorted(callflows.flows))
        raise click.ClickException(f"no flow '{flow}' in {folder} (flows: {names})")
    try:
        text = mermaid(callflows.flows[flow]) if fmt == "mermaid" else svg(callflows.flows[flow])
    except GraphvizMissing as exc:
        raise click.ClickException(str(exc)) from exc
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
