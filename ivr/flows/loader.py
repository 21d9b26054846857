"""Build the model (model.py) from YAML the checker has passed.

The checker validated every type and name first, so these builders only
convert: the loader's located maps and lists (yamlsrc) become plain dicts and
lists, menu keys become strings, hours become `time` ranges. Call them only on
checked data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ivr.flows import hours as hours_mod
from ivr.flows.model import (
    ALERT_KEYS,
    AgentConfig,
    Announce,
    Callflows,
    Escalation,
    Flow,
    OnError,
    QueueConfig,
    Schedule,
    Step,
)


def plain(value: Any) -> Any:
    """Deep copy into plain dict/list/str (the loader's YamlMap/YamlList carry positions)."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str | int | float | bool) else str(k)): plain(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def build_schedule(name: str, raw: dict[str, Any]) -> Schedule:
    open_: dict[int, list[Any]] = {}
    for spec, ranges in (raw.get("open") or {}).items():
        for day in hours_mod.parse_days(str(spec)):
            open_.setdefault(day, []).extend(hours_mod.parse_ranges(ranges))
    for day in open_:
        open_[day].sort()
    closed: list[date] = []
    for d in raw.get("closed") or []:
        parsed = hours_mod.parse_date(d)
        if parsed is not None:
            closed.append(parsed)
    return Schedule(name=name, timezone=raw.get("timezone", "UTC"), open=open_,
                    holidays=raw.get("holidays"), closed=closed)


def build_queue(name: str, raw: dict[str, Any]) -> QueueConfig:
    announce_raw = raw.get("announce", True)
    if isinstance(announce_raw, bool):
        announce = Announce(position=announce_raw, wait_time=announce_raw)
    else:
        announce = Announce(**{k: announce_raw[k] for k in ("position", "wait_time", "every")
                               if k in announce_raw})
    escalate = [Escalation(after=e["after"], skills=e.get("skills"),
                           min_level=e.get("min_level", 1))
                for e in raw.get("escalate") or []]
    names = ("skills", "strategy", "ring_timeout", "max_wait", "wrap_up", "max_missed",
             "hold_music", "callback", "service_level", "timezone", "short_abandon",
             "survey_by_text", "script", "record", "record_notice", "chat", "chat_capacity")
    simple: dict[str, Any] = {k: raw[k] for k in names if k in raw}
    if raw.get("dispositions"):
        simple["dispositions"] = [str(d) for d in raw["dispositions"]]
    alerts = {k: v for k, v in (raw.get("alerts") or {}).items() if k in ALERT_KEYS}
    return QueueConfig(name=name, announce=announce, escalate=escalate, alerts=alerts, **simple)


def build_agent(agent_id: str, raw: dict[str, Any]) -> AgentConfig:
    return AgentConfig(id=agent_id, name=raw.get("name", agent_id), phone=raw["phone"],
                       skills=dict(raw.get("skills") or {}), pin=raw.get("pin"),
                       role=raw.get("role") or "agent")


def build_step(step: Step) -> Step:
    settings = plain(step.settings)
    if step.action == "menu" and isinstance(settings.get("options"), dict):
        settings["options"] = {str(k): v for k, v in settings["options"].items()}
    if step.action == "menu" and isinstance(settings.get("words"), dict):
        settings["words"] = {k: [str(w) for w in (v if isinstance(v, list) else [v])]
                             for k, v in settings["words"].items()}
    return Step(name=step.name, action=step.action, value=plain(step.value),
                settings=settings, location=step.location)


def build_flow(name: str, file: str, raw: dict[str, Any], steps: dict[str, Step],
               start: str) -> Flow:
    oe = raw.get("on_error") or {}
    on_error = OnError(**{k: oe[k] for k in ("say", "dial") if k in oe})
    optional = {k: raw[k] for k in ("numbers", "channels", "language", "voice", "timezone",
                                    "vars", "help", "http_hosts", "missed_call") if k in raw}
    return Flow(name=name, file=file, start=start,
                steps={n: build_step(s) for n, s in steps.items()},
                on_error=on_error, **optional)


def build_callflows(*, flows: dict[str, tuple[str, dict[str, Any], dict[str, Step], str]],
                    queues: dict[str, dict[str, Any]], agents: dict[str, dict[str, Any]],
                    hours: dict[str, dict[str, Any]], version: str,
                    breaks: list[str] | None = None) -> Callflows:
    """One Callflows from checked raw data; `flows` maps name -> (file, raw, steps, start)."""
    return Callflows(
        flows={n: build_flow(n, f, raw, steps, start) for n, (f, raw, steps, start)
               in flows.items()},
        queues={n: build_queue(n, q or {}) for n, q in queues.items()},
        agents={n: build_agent(n, a) for n, a in agents.items()},
        hours={n: build_schedule(n, h) for n, h in hours.items()},
        breaks=[str(b) for b in breaks or []],
        version=version,
    )
