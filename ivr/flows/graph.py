"""Diagrams of a flow: every step a node, every way out a labelled edge.

Mermaid text (rendered by GitHub, VS Code and the wallboard's mermaid.js) and
Graphviz DOT (turned into SVG by the `dot` program when it is installed; we
shell out to it rather than reimplement graph layout).
"""

from __future__ import annotations

import shutil
import subprocess

from ivr.flows.exits import ends_call_when_unset, exits, split_target
from ivr.flows.model import Flow, Step

END = "__end__"


def _describe(step: Step) -> str:
    """'name<br>action: value' with the value shortened, for a node label."""
    value = step.value
    if isinstance(value, dict):
        value = next(iter(value.values()), "")
    if isinstance(value, list):
        value = ", ".join(map(str, value)) if step.action == "dial" else \
            f"{len(value)} condition{'' if len(value) == 1 else 's'}"
    text = "" if value is None or value is True else str(value)
    text = " ".join(text.split())
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{step.action}: {text}" if text else step.action


def edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(from step, label, to) for every way out; labels to one target are merged.

    A target in another flow keeps its `FLOW.STEP` name; implicit endings (no
    `next`, a hangup) lead to END.
    """
    out: list[tuple[str, str, str]] = []
    for step in flow.steps.values():
        merged: dict[str, list[str]] = {}
        for label, target in exits(step):
            other, name = split_target(target, flow.name)
            node = name if other == flow.name else f"{other}.{name}"
            merged.setdefault(node, []).append(label)
        for unset in ends_call_when_unset(step):
            merged.setdefault(END, []).append("end" if unset == "hangup" else f"no {unset}")
        for node, labels in merged.items():
            out.append((step.name, " / ".join(labels), node))
    return out


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") \
        .replace("|", "#124;")


def mermaid(flow: Flow) -> str:
    """The flow as a Mermaid flowchart."""
    ids: dict[str, str] = {}

    def node_id(name: str) -> str:
        if name not in ids:
            ids[name] = f"n{len(ids)}"
        return ids[name]

    lines = ["flowchart TD"]
    for step in flow.steps.values():
        label = f"{_mermaid_text(step.name)}<br/>{_mermaid_text(_describe(step))}"
        opening, closing = ('(["', '"])') if step.name == flow.start else ('["', '"]')
        lines.append(f"    {node_id(step.name)}{opening}{label}{closing}")
    all_edges = edges(flow)
    for _, _, target in all_edges:
        if target not in flow.steps and target not in ids:
            if target == END:
                lines.append(f"    {node_id(END)}((hang up))")
            else:
                lines.append(f'    {node_id(target)}[/"{_mermaid_text(target)}"/]')
    for source, label, target in all_edges:
        lines.append(f'    {node_id(source)} -->|"{_mermaid_text(label)}"| {node_id(target)}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(flow: Flow) -> str:
    """The flow as a Graphviz digraph."""
    lines = [f'digraph "{_dot_text(flow.name)}" {{', "  rankdir=TB;",
             '  node [shape=box, style="rounded", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for step in flow.steps.values():
        extra = ", penwidth=2" if step.name == flow.start else ""
        lines.append(f'  "{_dot_text(step.name)}" [label="{_dot_text(step.name)}\\n'
                     f'{_dot_text(_describe(step))}"{extra}];')
    all_edges = edges(flow)
    for _, _, target in all_edges:
        if target == END:
            lines.append(f'  "{END}" [label="hang up", shape=circle];')
        elif target not in flow.steps:
            lines.append(f'  "{_dot_text(target)}" [shape=parallelogram];')
    for source, label, target in all_edges:
        lines.append(f'  "{_dot_text(source)}" -> "{_dot_text(target)}" '
                     f'[label="{_dot_text(label)}"];')
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"


class GraphvizMissing(RuntimeError):
    """The `dot` program of Graphviz is not installed."""


def svg(flow: Flow, *, timeout: float = 30.0) -> str:
    """SVG drawn by Graphviz's `dot`; raises GraphvizMissing when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            "SVG needs the 'dot' program of Graphviz (apt-get install graphviz, "
            "brew install graphviz); use --format mermaid without it")
    done = subprocess.run([exe, "-Tsvg"], input=dot(flow), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.strip()}")
    return done.stdout
