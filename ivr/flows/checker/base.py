"""What every part of the checker shares: the findings so far and what the folder holds.

One `Checker` (folder.py) is built per check; its parts (values, reserved
files, flows and steps, reachability) are mixins over this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.flows.model import Location, Step
from ivr.flows.yamlsrc import Problem


@dataclass
class Ref:
    """A way out to resolve once every flow's steps are known."""

    flow: str
    step: str
    label: str
    target: str
    location: Location


@dataclass
class FlowInfo:
    """One flow file as the checker reads it (the model is built only when all is well)."""

    name: str
    file: str
    raw: Any
    channels: list[str] = field(default_factory=lambda: ["voice"])
    numbers: list[str] = field(default_factory=list)
    http_hosts: list[str] = field(default_factory=list)
    start: str | None = None
    start_loc: Location | None = None
    steps: dict[str, Step] = field(default_factory=dict)


class CheckerBase:
    def __init__(self, folder_name: str, recordings: Path | None) -> None:
        self.folder = folder_name
        self.recordings = recordings
        self.problems: list[Problem] = []
        self.refs: list[Ref] = []
        self.flows: dict[str, FlowInfo] = {}
        self.queues: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}
        self.hours: dict[str, Any] = {}
        self.agent_skills: set[str] = set()
        self.breaks: list[str] = []  # agents.yaml `breaks:` (reasons, not an agent)
        self.vars_read: list[tuple[Location, str]] = []  # vars.NAME read by templates
        self.vars_set: set[str] = set()  # names flow vars, set, gather, http, survey give a value

    def error(self, loc: Location, msg: str) -> None:
        self.problems.append(Problem(loc, msg, "error"))

    def warn(self, loc: Location, msg: str) -> None:
        self.problems.append(Problem(loc, msg, "warning"))
