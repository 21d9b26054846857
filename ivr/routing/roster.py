"""The roster: who the agents are, their status, and the phone book of their phones.

Agents come from agents.yaml (seeded again whenever its version changes) and
from the API (kept in Redis as `source: api`, which a YAML load leaves alone).
An agent removed while busy is logged out and marked gone; the decision that
ends their call, wrap-up or offer takes them off the roster (lib.lua drop()),
and from the moment of removal their phone is no longer an agent's phone.
Statuses (offline / available / break) are the agents' own; an agent who
becomes available is matched at once, so setting a status may ring a phone.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ivr import keys
from ivr.flows.model import AgentConfig
from ivr.routing.env import Env
from ivr.routing.layout import KeyLayout
from ivr.routing.records import STATUSES, AgentRecord, Offer
from ivr.routing.scripts import Scripts

PHONE_BOOK_SECONDS = 2.0  # how stale a worker's copy of the agents' phone book may be
PIN_WINDOW = 15 * 60  # seconds: wrong PINs counted within, and how long a lock lasts
PIN_MAX_WRONG = 5  # wrong PINs within PIN_WINDOW that lock an agent's PIN entry


class UnknownAgent(KeyError):
    """No agent with that id on the roster."""


class Roster:
    """The agents' records in Redis, kept in step with agents.yaml and the API."""

    def __init__(self, env: Env, layout: KeyLayout, scripts: Scripts,
                 place_offers: Callable[[list[Offer]], None]) -> None:
        self.env = env
        self.layout = layout
        self.scripts = scripts
        self.place_offers = place_offers
        self.version: str | None = None  # the agents.yaml version this worker applied
        self._lock = threading.Lock()
        self._phones: tuple[float, dict[str, str]] = (0.0, {})
        #: told the id of every agent taken off the roster (their text conversations go
        #: back in line: ivr/routing/chats.py)
        self.on_removed: list[Callable[[str], None]] = []

    # --- agents.yaml ---------------------------------------------------------------

    def sync(self) -> None:
        """Seed agents from agents.yaml when its version changed (API-made agents are kept)."""
        config = self.env.config()
        if self.version == config.version and config.version:
            return
        with self._lock:
            if self.version == config.version and config.version:
                return
            db = self.env.db
            if config.version and db.get(keys.acd("roster_version")) == config.version:
                self.version = config.version  # another worker applied this version
                return
            for agent in config.agents.values():
                self.upsert(agent, source="yaml", keep_api=True)
            listed = set(config.agents)
            for row in self.records():
                if row.source == "yaml" and row.id not in listed:
                    self.scripts.remove(row.id)
                    self.forget_phones()
                    self._removed(row.id)
            self.version = config.version
            if config.version:
                db.set(keys.acd("roster_version"), config.version)

    def forget_version(self) -> None:
        """Apply agents.yaml again at the next call, even if its version is the same."""
        self.version = None
        self.env.db.delete(keys.acd("roster_version"))

    # --- changes ----------------------------------------------------------------------

    def upsert(self, agent: AgentConfig, *, source: str, keep_api: bool) -> str:
        """Add or change one agent ("added", "updated", or "kept" for an API-made one)."""
        self.forget_phones()
        self.layout.register_skills(agent.skills)
        record = {
            "id": agent.id, "name": agent.name, "phone": agent.phone,
            "skills": dict(agent.skills), "pin": agent.pin or "", "source": source,
        }
        reply = self.scripts.upsert(record, keep_api=keep_api)
        self.place_offers(reply.offers)
        return reply.verdict

    def upsert_agent(self, agent: AgentConfig) -> dict[str, Any]:
        """Add or change an agent through the API; it persists in Redis, marked source=api."""
        self.sync()
        self.upsert(agent, source="api", keep_api=False)
        return self.public(self._required(agent.id))

    def remove_agent(self, agent_id: str) -> str:
        """Take an agent off the roster ("removed"), or log them out first when busy ("busy":
        they leave when their call, wrap-up or offer ends)."""
        self.sync()
        verdict = self.scripts.remove(agent_id)
        self.forget_phones()
        if verdict == "unknown":
            raise UnknownAgent(agent_id)
        self._removed(agent_id)
        return verdict

    def _removed(self, agent_id: str) -> None:
        for listener in self.on_removed:
            listener(agent_id)

    def set_status(self, agent_id: str, status: str, *, source: str,
                   reason: str | None = None) -> dict[str, Any]:
        """Set an agent's own status (offline / available / break); available matches at once.

        `reason`: why the break, one of agents.yaml's `breaks:` (ValueError otherwise; an
        unknown agent is UnknownAgent first); kept while on break, cleared when they leave
        it (a break without a reason has none; another status ignores it)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        self.sync()
        if reason:
            record = self.record(agent_id)
            if record is None or record.gone:
                raise UnknownAgent(agent_id)
            breaks = self.env.config().breaks
            if reason not in breaks:
                listed = ", ".join(breaks) if breaks else "none are listed in agents.yaml"
                raise ValueError(f"unknown break reason {reason!r}; expected one of {listed}")
        reply = self.scripts.set_status(agent_id, status, source,
                                        reason or "" if status == "break" else "")
        if reply.agent is None:
            raise UnknownAgent(agent_id)
        self.place_offers(reply.offers)
        return self.public(reply.agent)

    def wrapup(self, agent_id: str, call_sid: str, disposition: str | None) -> str:
        """The agent's wrap-up of a call given, one decision (wrapup.lua): "ended" (their
        wrap-up time is over; the next caller may ring them at once), "connected" (still on
        the call: nothing ends), "removed", or "conflict" (not on nor wrapping up it)."""
        verdict, offers = self.scripts.wrapup(agent_id, call_sid, disposition or "")
        self.place_offers(offers)
        return verdict

    # --- reading ----------------------------------------------------------------------

    def record(self, agent_id: str) -> AgentRecord | None:
        raw = self.env.db.hget(keys.acd("agents"), agent_id)
        return AgentRecord.from_json(raw) if raw else None

    def _required(self, agent_id: str) -> AgentRecord:
        record = self.record(agent_id)
        if record is None:
            raise UnknownAgent(agent_id)
        return record

    def records(self) -> list[AgentRecord]:
        return [AgentRecord.from_json(v) for v in self.env.db.hgetall(keys.acd("agents")).values()]

    def agents(self) -> list[dict[str, Any]]:
        """Every agent with status, state and time in state, by id."""
        self.sync()
        return self.listed(self.records())

    def listed(self, records: list[AgentRecord]) -> list[dict[str, Any]]:
        """Records already read, as `agents()` shows them."""
        return sorted((self.public(r) for r in records), key=lambda a: a["id"])

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        """One agent as `agents()` shows it, or None: never was, or removed (also while a
        removed agent's last call goes on: they may no longer act as an agent)."""
        self.sync()
        record = self.record(agent_id)
        return self.public(record) if record is not None and not record.gone else None

    def agent_config(self, agent_id: str) -> AgentConfig | None:
        """An agent's settings as the roster holds them (PIN included), for editing."""
        record = self.record(agent_id)
        if record is None:
            return None
        return AgentConfig(id=record.id, name=record.name, phone=record.phone,
                           skills=dict(record.skills), pin=record.pin or None)

    def public(self, row: AgentRecord) -> dict[str, Any]:
        """An agent as the API, the wallboard and `ivr agents` show it."""
        today = datetime.fromtimestamp(self.env.clock(), UTC).date().isoformat()
        fresh = row.day == today
        return {
            "id": row.id,
            "name": row.name,
            "phone": row.phone,
            "skills": row.skills,
            "status": row.status,
            "state": row.state,
            "since": max(row.status_since_ms, row.state_since_ms) / 1000.0,
            "status_since": row.status_since_ms / 1000.0,
            "state_since": row.state_since_ms / 1000.0,
            "calls_today": row.calls if fresh else 0,
            "talk_today": row.talk if fresh else 0,
            "missed_in_a_row": row.missed,
            "source": row.source,
            "offer": row.offer.call if row.offer is not None else None,
            "break_reason": row.break_reason or None if row.status == "break" else None,
            "call": row.offer.call if row.offer is not None
            and row.state in ("on-call", "wrap-up") else None,
        }

    # --- PINs --------------------------------------------------------------------------

    def check_pin(self, agent_id: str, pin: str) -> str:
        """One PIN try: "ok", "wrong", "locked" (PIN_MAX_WRONG wrong tries within PIN_WINDOW,
        across calls: refused unchecked until PIN_WINDOW after the last of them), or
        "unknown" (no such agent, or removed)."""
        record = self.record(agent_id)
        if record is None or record.gone:
            return "unknown"
        right = hmac.compare_digest(pin.encode(), record.pin.encode())
        return self.scripts.pin(agent_id, "right" if right else "wrong",
                                window_ms=PIN_WINDOW * 1000, max_wrong=PIN_MAX_WRONG).verdict

    def pin_locked(self, agent_id: str) -> bool:
        """Is this agent's PIN entry locked now (after too many wrong tries)?"""
        return self.scripts.pin(agent_id, "peek", window_ms=PIN_WINDOW * 1000,
                                max_wrong=PIN_MAX_WRONG).verdict == "locked"

    # --- the phone book -----------------------------------------------------------------

    def agent_by_phone(self, phone: str) -> str | None:
        """Which agent owns this phone (None: a customer, or an agent since removed).

        Every incoming call and text asks, so the phone book is read from Redis at
        most every PHONE_BOOK_SECONDS per worker (at once after this worker changed
        the roster): a customer's call costs no round trip, and an agent added
        through another worker is known within that time."""
        if not phone:
            return None
        self.sync()
        read_at, book = self._phones
        if time.monotonic() - read_at > PHONE_BOOK_SECONDS:
            book = self.env.db.hgetall(keys.acd("phones", "all"))
            self._phones = (time.monotonic(), book)
        found = book.get(phone.removeprefix("whatsapp:"))
        return str(found) if found else None

    def forget_phones(self) -> None:
        self._phones = (0.0, {})
