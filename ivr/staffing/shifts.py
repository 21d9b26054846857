"""Agents' shifts for a what-if day: `shifts:` in agents.yaml (or the `--roster` file).

    alice:
      phone: "+15005550101"
      skills: {sales: 5}
      shifts: {mon-fri: "09:00-17:00", sat: ["10:00-13:00", "14:00-16:00"]}

Keys name days: `mon` … `sun`, ranges (`mon-fri`, `fri-mon`), lists
(`mon,wed,fri`) or `daily`. Values are one time range or a list of them; a range
whose end is not after its start runs past midnight (`22:00-06:00`). An agent
without `shifts:` is logged in all day. Times are local wall-clock times, the
same clock as the forecast's interval starts.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from ivr.flows.model import AgentConfig

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Span = tuple[datetime, datetime]


class RosterError(ValueError):
    """A roster or shift that cannot be read (the message names the agent)."""


def weekdays(spec: str) -> set[int]:
    """The weekdays (0 = Monday) a day spec names: `mon-fri`, `sat,sun`, `daily`."""
    out: set[int] = set()
    for part in str(spec).lower().replace(" ", "").split(","):
        if part in ("daily", "all", "*"):
            out |= set(range(7))
            continue
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise RosterError(f"unknown day {part!r} (use mon … sun, ranges such as "
                              "mon-fri, or daily)")
        a = DAYS.index(first)
        b = DAYS.index(last) if last else a
        out |= {(a + i) % 7 for i in range((b - a) % 7 + 1)}
    return out


def _clock(h: str, m: str, text: str) -> time | None:
    hours, minutes = int(h), int(m)
    if hours == 24 and minutes == 0:
        return None  # midnight at the end of the day
    if hours > 23 or minutes > 59:
        raise RosterError(f"{text!r} is not a time range such as 09:00-17:00")
    return time(hours, minutes)


def parse_ranges(value: Any) -> list[tuple[time, time | None]]:
    """"09:00-17:00" or a list of such ranges; an end of None means midnight (24:00)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        m = _RANGE.match(str(item))
        if not m:
            raise RosterError(f"{item!r} is not a time range such as \"09:00-17:00\"")
        start = _clock(m[1], m[2], str(item))
        if start is None:
            raise RosterError(f"{item!r}: a shift cannot start at 24:00")
        out.append((start, _clock(m[3], m[4], str(item))))
    return out


def spans(shifts: dict[str, Any], first: date, last: date) -> list[Span]:
    """The times an agent is on shift from `first` to `last` (a shift that began the day
    before and runs past midnight included), merged where they touch."""
    rules = [(weekdays(k), parse_ranges(v)) for k, v in shifts.items()]
    found: list[Span] = []
    day = first - timedelta(days=1)
    while day <= last:
        for days, ranges in rules:
            if day.weekday() not in days:
                continue
            for start, end in ranges:
                begin = datetime.combine(day, start)
                finish = datetime.combine(day + timedelta(days=1), time()) if end is None \
                    else datetime.combine(day, end)
                if finish <= begin:
                    finish += timedelta(days=1)
                found.append((begin, finish))
        day += timedelta(days=1)
    merged: list[Span] = []
    for begin, finish in sorted(found):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def read_roster(path: Path | str) -> tuple[dict[str, AgentConfig], dict[str, dict[str, Any]]]:
    """Agents and their `shifts:` (agents without shifts are left out of the second map)."""
    from ivr.flows.loader import build_agent  # (the checker imports this module)
    from ivr.flows.model import AGENTS_FILE_KEYS

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RosterError(f"{path}: {exc}") from None
    if not isinstance(raw, dict):
        raise RosterError(f"{path}: expected a mapping of agent ids to agents")
    agents: dict[str, AgentConfig] = {}
    shifts: dict[str, dict[str, Any]] = {}
    for agent_id, entry in raw.items():
        if agent_id in AGENTS_FILE_KEYS:  # `breaks:` and the like: not an agent
            continue
        if not isinstance(entry, dict) or "phone" not in entry:
            raise RosterError(f"{path}: agent {agent_id!r} needs at least a phone")
        agents[str(agent_id)] = build_agent(str(agent_id), entry)
        if entry.get("shifts") is not None:
            if not isinstance(entry["shifts"], dict):
                raise RosterError(f"{path}: {agent_id}: shifts must map days to times, "
                                  "such as {mon-fri: \"09:00-17:00\"}")
            try:
                for k, v in entry["shifts"].items():
                    weekdays(k), parse_ranges(v)
            except RosterError as exc:
                raise RosterError(f"{path}: {agent_id}: {exc}") from None
            shifts[str(agent_id)] = dict(entry["shifts"])
    return agents, shifts
