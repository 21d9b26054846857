"""The checked call-flow folder as plain data: what the loader builds and the engine reads.

Everything here has passed the checker, so the engine trusts types and names.
Prompts stay as written (a string, or a mapping language -> string); the
engine picks the language and renders the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

Prompt = str | dict[str, str]


@dataclass(frozen=True)
class Location:
    """Where a value was written: 1-based line and column, as editors count."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Step:
    name: str
    action: str  # one of ivr.flows.steps.ACTIONS
    value: Any  # the action key's value: prompt, queue name, number, ...
    settings: dict[str, Any]  # every other key of the step, as written
    location: Location


@dataclass
class OnError:
    say: Prompt = "Sorry, we are having trouble right now. Please call again later."
    dial: str | None = None


@dataclass
class Flow:
    name: str
    file: str
    start: str
    steps: dict[str, Step]
    numbers: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=lambda: ["voice"])
    language: str = "en-US"
    voice: str | None = None
    timezone: str = "UTC"
    vars: dict[str, Any] = field(default_factory=dict)
    help: Prompt | None = None
    on_error: OnError = field(default_factory=OnError)
    http_hosts: list[str] = field(default_factory=list)
    # {text: PROMPT, queue: QUEUE?} texted to a caller who hung up in a queue or
    # after hours (ivr/flows/texting.py); a reply of CALL asks for a callback from `queue`.
    missed_call: dict[str, Any] | None = None

    @property
    def is_default(self) -> bool:
        return "*" in self.numbers


@dataclass
class Schedule:
    name: str
    timezone: str
    open: dict[int, list[tuple[time, time]]]  # weekday (0 = Monday) -> ranges
    holidays: str | None = None  # "US" or "US-NY"
    closed: list[date] = field(default_factory=list)


@dataclass
class Announce:
    position: bool = True
    wait_time: bool = True
    every: int = 60


@dataclass
class Escalation:
    after: int
    skills: list[str] | None = None  # None: keep the queue's skills
    min_level: int = 1


@dataclass
class QueueConfig:
    name: str
    skills: list[str] = field(default_factory=list)
    strategy: str = "longest-idle"
    ring_timeout: int = 20
    max_wait: int = 600
    wrap_up: int = 30
    max_missed: int = 2
    hold_music: str | None = None
    announce: Announce = field(default_factory=Announce)
    callback: bool = False
    service_level: int = 20
    escalate: list[Escalation] = field(default_factory=list)
    timezone: str = "UTC"  # "since midnight" for the daily statistics
    short_abandon: int = 5  # seconds: callers who hang up sooner are short abandons, not abandons
    survey_by_text: str | None = None  # texted to the caller after an agent call (ivr/reports)
    # wallboard thresholds (ALERT_KEYS): the queue's card turns red past any of them
    alerts: dict[str, float] = field(default_factory=dict)
    script: str | None = None  # what the desk shows the agent: Markdown, a sandboxed template
    dispositions: list[str] = field(default_factory=list)  # wrap-up codes agents pick
    record: bool = False  # record agents' calls of this queue (ivr/routing/recording.py)
    record_notice: str | None = None  # said to the caller before a recorded call
    chat: bool = False  # texters in this queue talk to an agent by text (ivr/routing/chats.py)
    chat_capacity: int = 3  # text conversations an agent may hold at once (beside one call)


ALERT_KEYS = ("longest_wait", "waiting", "service_level", "abandon_rate")
ROLES = ("agent", "supervisor")
AGENTS_FILE_KEYS = ("breaks",)
"""Top-level keys of agents.yaml that are not agents (`breaks:` lists break reasons)."""
SCRIPT_NAMES = ("caller", "vars", "queue", "agent")
"""The names a queue's `script` template may use (the agent desk renders it per call)."""


@dataclass
class AgentConfig:
    id: str
    name: str
    phone: str
    skills: dict[str, int] = field(default_factory=dict)
    pin: str | None = None
    role: str = "agent"  # or "supervisor": may listen, whisper and barge


@dataclass
class Callflows:
    """One consistent version of the whole folder."""

    flows: dict[str, Flow]
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    agents: dict[str, AgentConfig] = field(default_factory=dict)
    hours: dict[str, Schedule] = field(default_factory=dict)
    breaks: list[str] = field(default_factory=list)  # agents.yaml `breaks:` reasons
    version: str = ""  # content hash; calls remember the version they started on

    def flow_for(self, to: str, channel: str = "voice") -> Flow | None:
        """The flow answering a dialed number on a channel, else the default flow."""
        default = None
        for flow in self.flows.values():
            if channel not in flow.channels:
                continue
            if to in flow.numbers:
                return flow
            if flow.is_default and default is None:
                default = flow
        return default

