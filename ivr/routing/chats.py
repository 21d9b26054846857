"""Text conversations with agents, routed like calls (the decisions: lua/chat.lua).

A texter who reaches a `queue` step of a queue with `chat: true` waits in one
line with every other waiting conversation (priority, then time in line), and
is offered to an agent with room: an agent holds up to the queue's
`chat_capacity` conversations beside at most one call, and has one text offer
ringing at a time. Every decision (enter, offer, accept, decline, expiry, a
message, done, transfer, the texter leaving, wrap-up) is one run of
`chat.lua`, so two workers never offer one conversation twice or an agent
past capacity.

Routing knows no SMS: each decision returns `Notice`s (an offer to announce,
a message to relay, a conversation closed) and hands them to the listeners
(`listen`), which is how ivr/flows/chat_relay.py texts people, from any worker
and from the timer thread alike.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ivr import keys
from ivr.routing.core import MISS_REST
from ivr.routing.env import Env
from ivr.routing.scripts import Scripts

log = logging.getLogger("ivr.routing.chats")

OPEN_STATES = ("waiting", "offered", "active")
TICK = 1.0  # seconds between the timer thread's dispatches
#: The desk's "wrap-up" for text: a conversation ended by its agent holds their slot until
#: they file the wrap-up or the queue's `wrap_up` seconds pass (`wrapend`).


class ChatError(Exception):
    """A chat decision refused; `status` is the HTTP answer the API gives."""

    status = 409


class ChatUnknown(ChatError):
    status = 404


class ChatRefused(ChatError):
    status = 409


class NotYours(ChatError):
    status = 403


@dataclass
class ChatRecord:
    """One conversation as chat.lua keeps it."""

    id: str
    queue: str
    texter: str  # the texter's address as Twilio sends it ("+1...", "whatsapp:+1...")
    service: str  # the number they texted
    channel: str  # "sms" or "whatsapp"
    priority: int
    state: str  # waiting, offered, active, wrap, ended
    entered_ms: int
    in_line_since_ms: int
    agent: str | None = None
    n: int | None = None  # the agent's number for it (#N)
    offered_to: str | None = None
    outcome: str | None = None  # answered, abandoned, overflowed, callback
    connected_ms: int | None = None
    first_reply_ms: int | None = None
    ended_ms: int | None = None
    agents: list[str] = field(default_factory=list)
    transfers: int = 0
    first: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    disposition: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChatRecord:
        offer = d.get("offer")
        agents = d.get("agents")
        context = d.get("context")
        return cls(
            id=d["id"], queue=d["q"], texter=d["from"], service=d["to"],
            channel=d.get("channel") or "sms", priority=int(d.get("p") or 0),
            state=d["state"], entered_ms=int(d["t0"]), in_line_since_ms=int(d.get("tq") or d["t0"]),
            agent=d.get("agent"), n=d.get("n"),
            offered_to=offer.get("agent") if isinstance(offer, dict) else None,
            outcome=d.get("outcome"), connected_ms=d.get("connected"),
            first_reply_ms=d.get("fr"), ended_ms=d.get("ended"),
            agents=list(agents) if isinstance(agents, list) else [],
            transfers=int(d.get("transfers") or 0), first=d.get("first") or "",
            context=context if isinstance(context, dict) else {},
            stopped=bool(d.get("stopped")), disposition=d.get("disposition"),
        )

    def to_json(self) -> dict[str, Any]:
        """The record as the API shows it."""
        return {
            "id": self.id, "queue": self.queue, "number": self.texter, "service": self.service,
            "channel": self.channel, "priority": self.priority, "state": self.state,
            "agent": self.agent, "n": self.n, "offered_to": self.offered_to,
            "outcome": self.outcome, "entered": self.entered_ms / 1000,
            "in_line_since": self.in_line_since_ms / 1000,
            "connected": self.connected_ms / 1000 if self.connected_ms else None,
            "first_reply": self.first_reply_ms / 1000 if self.first_reply_ms else None,
            "ended": self.ended_ms / 1000 if self.ended_ms else None,
            "agents": self.agents, "transfers": self.transfers, "first": self.first,
            "context": self.context, "stopped": self.stopped, "disposition": self.disposition,
        }

    def holder(self) -> str | None:
        """The agent this conversation is with now: offered to, talking with, wrapping up."""
        return self.offered_to if self.state == "offered" else self.agent


@dataclass
class Notice:
    """What a decision asks the relay to tell people (see chat.lua's notices)."""

    kind: str  # offer, withdrawn, joined, to_agent, to_texter, closed, transferred
    chat: ChatRecord
    agent: str | None = None
    n: int | None = None
    first: int = 0  # joined / to_agent: the transcript's messages [first, last] (1-based)
    last: int = 0
    why: str = ""
    to_queue: str = ""


@dataclass
class Decision:
    """One run of chat.lua: whether it applied (`why` not), the conversation as it left
    it, and, for an entry, the place in line."""

    ok: bool
    why: str
    chat: ChatRecord | None
    position: int = 0


@dataclass
class ChatEntry:
    """How entering the line went: `outcome` "waiting", "offered", "overflowed" or "open"
    (they already have a conversation open: `chat` is that one)."""

    chat: ChatRecord
    outcome: str
    position: int


Listener = Callable[[list[Notice]], None]
Turn = Callable[[str, str], AbstractContextManager[Any]]


def _no_turn(texter: str, service: str) -> AbstractContextManager[Any]:
    return nullcontext()


class Chats:
    """The chat decisions; one per worker, reached as `router.chats`."""

    def __init__(self, env: Env, scripts: Scripts, *, miss_rest: float = MISS_REST) -> None:
        self.env = env
        self.scripts = scripts
        self.miss_rest = miss_rest
        self.retention_days = 90  # set by create_app from IVR_RETENTION_DAYS
        self._listeners: list[Listener] = []
        self._last_tick = 0.0
        self._queue_args: tuple[str, dict[str, Any]] = ("", {})
        #: Waits for the texter's turn (the text engine's, ivr/flows/sms_turns.py) around an
        #: accept, so the messages relayed when the agent joins reach them before any the
        #: texter sends while the accept runs. Set by the relay; none by default.
        self.texter_turn: Turn = _no_turn

    def listen(self, listener: Listener) -> None:
        """Called with every decision's notices (the relay texts people from them)."""
        self._listeners.append(listener)

    # --- the decisions --------------------------------------------------------------

    def _queues(self) -> dict[str, Any]:
        """The queues' settings the decisions need, built once per call-flow version."""
        config = self.env.config()
        if self._queue_args[0] != config.version or not config.version:
            self._queue_args = (config.version, {
                name: {"cap": max(1, int(q.chat_capacity)), "ring": q.ring_timeout,
                       "wrap": q.wrap_up, "skills": list(q.skills), "strategy": q.strategy,
                       "rest": self.miss_rest, "maxwait": q.max_wait,
                       "escalate": [{"after": e.after, "skills": e.skills, "lvl": e.min_level}
                                    for e in q.escalate]}
                for name, q in config.queues.items()})
        return self._queue_args[1]

    def _run(self, op: str, chat: str | None = None, **fields: Any) -> Decision:
        """Run one decision, then hand its notices to the listeners."""
        # None is left out: Lua would see cjson.null, which is truthy there
        args = {k: v for k, v in {"op": op, "chat": chat, "queues": self._queues(),
                                  **fields}.items() if v is not None}
        messages = keys.chat_messages(chat or "none")
        raw = self.scripts.run("chat", args, scope="none",
                               extra_keys=[*keys.chat_keys(), messages])
        reply = json.loads(raw)
        record = ChatRecord.from_dict(reply["chat"]) if isinstance(reply["chat"], dict) else None
        known = {record.id: record} if record is not None else {}
        notices = [self._notice(n, known) for n in reply.get("notices") or []]
        if record is not None and record.state == "ended":
            self.env.db.expire(messages, self.retention_days * 86400)
        if notices:
            self._tell(notices)
        return Decision(bool(reply["ok"]), str(reply.get("why") or ""), record,
                        int(reply.get("position") or 0))

    def _notice(self, raw: dict[str, Any], known: dict[str, ChatRecord]) -> Notice:
        """A notice with its conversation (the decision's own record, or read for the
        others a dispatch offered)."""
        record = known.get(raw["chat"])
        if record is None:
            record = self.get(raw["chat"])
            if record is None:
                raise ChatUnknown(raw["chat"])
            known[record.id] = record
        return Notice(kind=raw["kind"], chat=record, agent=raw.get("agent"), n=raw.get("n"),
                      first=int(raw.get("from") or 0), last=int(raw.get("to") or 0),
                      why=str(raw.get("why") or ""), to_queue=str(raw.get("queue") or ""))

    def _tell(self, notices: list[Notice]) -> None:
        for listener in self._listeners:
            try:
                listener(notices)
            except Exception:  # noqa: BLE001 - a failed text must not undo a decision
                log.exception("chat notices %s not delivered", [n.kind for n in notices])

    def _must(self, op: str, chat: str, **fields: Any) -> ChatRecord:
        done = self._run(op, chat, **fields)
        record, why = done.chat, done.why
        if record is None or why == "unknown":
            raise ChatUnknown(chat)
        if not done.ok:
            if why == "not yours" or (fields.get("agent") and record.holder() != fields["agent"]):
                raise NotYours(why or chat)
            raise ChatRefused(why)
        return record

    def enter(self, texter: str, service: str, queue: str, *, priority: int = 0,
              skills: Iterable[str] = (), first: str = "", media: Iterable[dict[str, str]] = (),
              context: dict[str, Any] | None = None) -> ChatEntry:
        """The texter joins the line of `queue` (and may be offered at once)."""
        chat_id = "ch-" + secrets.token_hex(8)
        channel = "whatsapp" if texter.lower().startswith("whatsapp:") else "sms"
        now = self.env.now_ms()
        record = {"id": chat_id, "q": queue, "from": texter, "to": service, "channel": channel,
                  "p": priority, "t0": now, "skills": list(skills), "lvl": 1, "first": first,
                  "context": context or {}}
        msg = {"at": now, "by": "texter", "agent": None, "body": first, "media": list(media)}
        done = self._run("enter", chat_id, record=record, msg=msg)
        if done.chat is None:
            raise ChatRefused(done.why)
        if not done.ok:
            return ChatEntry(done.chat, "open", 0)
        if done.why == "overflowed":
            return ChatEntry(done.chat, "overflowed", 0)
        return ChatEntry(done.chat, done.chat.state, done.position)

    def dispatch(self) -> None:
        """Offer waiting conversations to agents with room (after a status change; the
        timer thread also calls it, so nothing waits on a missed trigger)."""
        if self.env.db.zcard(keys.acd("chatwait")):
            self._run("dispatch")

    def from_texter(self, chat_id: str, body: str,
                    media: Iterable[dict[str, str]] = ()) -> ChatRecord:
        msg = {"at": self.env.now_ms(), "by": "texter", "agent": None, "body": body,
               "media": list(media)}
        return self._must("texter", chat_id, msg=msg)

    def from_agent(self, agent_id: str, chat_id: str, body: str,
                   media: Iterable[dict[str, str]] = (), *, source: str = "desk") -> ChatRecord:
        msg = {"at": self.env.now_ms(), "by": "agent", "agent": agent_id, "body": body,
               "media": list(media), "source": source}
        return self._must("agent", chat_id, agent=agent_id, msg=msg)

    def accept(self, agent_id: str, chat_id: str) -> ChatRecord:
        chat = self.get(chat_id)
        if chat is None:
            raise ChatUnknown(chat_id)
        with self.texter_turn(chat.texter, chat.service):
            return self._must("accept", chat_id, agent=agent_id)

    def decline(self, agent_id: str, chat_id: str) -> ChatRecord:
        return self._must("decline", chat_id, agent=agent_id)

    def end(self, agent_id: str, chat_id: str) -> ChatRecord:
        """DONE: the texter is thanked, the agent wraps up."""
        return self._must("done", chat_id, agent=agent_id)

    def transfer(self, agent_id: str, chat_id: str, queue: str) -> ChatRecord:
        if queue not in self.env.config().queues:
            raise ChatRefused(f"no queue {queue!r}")
        return self._must("transfer", chat_id, agent=agent_id, to=queue)

    def wrapup(self, agent_id: str, chat_id: str, disposition: str | None = None) -> ChatRecord:
        return self._must("wrapup", chat_id, agent=agent_id, disposition=disposition)

    def leave(self, chat_id: str, why: str) -> ChatRecord | None:
        """The texter left: "stop" (opted out), "callback" (asked to be called), "quiet"."""
        done = self._run("leave", chat_id, why=why)
        return done.chat if done.ok else None

    def stop(self, texter: str) -> list[ChatRecord]:
        """An opt-out: every open conversation of that number ends at once."""
        bare = texter.lower().removeprefix("whatsapp:")
        ended = []
        for key, chat_id in self.env.db.hgetall(keys.acd("chatof")).items():
            if key.split("|", 1)[0].lower().removeprefix("whatsapp:") == bare:
                record = self.leave(chat_id, "stop")
                if record is not None:
                    ended.append(record)
        return ended

    def hand_back(self, agent_id: str) -> None:
        """An agent left the roster: their offer goes to the next agent, their
        conversations back in line in their queue (the texter is told of a transfer), their
        wrap-ups end."""
        for chat in self.of_agent(agent_id):
            try:
                if chat.state == "offered":
                    self.decline(agent_id, chat.id)
                elif chat.state == "active":
                    self.transfer(agent_id, chat.id, chat.queue)
                elif chat.state == "wrap":
                    self._run("wrapend", chat.id)
            except ChatError as exc:  # it moved on meanwhile
                log.info("agent %s removed: conversation %s: %s", agent_id, chat.id, exc)

    # --- timers (ivr/routing/timers.py) --------------------------------------------

    def tick(self) -> None:
        """On the timer thread, once a second: a dispatch (escalation thresholds passed,
        an agent whose status changed in a way that skipped `dispatch`)."""
        now = time.monotonic()
        if now - self._last_tick >= TICK:
            self._last_tick = now
            self.dispatch()

    def fire(self, kind: str, args: list[str]) -> None:
        if kind == "cring":
            self._run("expire", args[0], token=args[1])
        elif kind == "cquiet":
            self._run("leave", args[0], why="quiet")
        elif kind == "cwrap":
            self._run("wrapend", args[0])
        elif kind == "cforget":
            self.env.db.hdel(keys.acd("chats"), args[0])

    # --- reading --------------------------------------------------------------------

    def get(self, chat_id: str) -> ChatRecord | None:
        raw = self.env.db.hget(keys.acd("chats"), chat_id)
        return ChatRecord.from_dict(json.loads(raw)) if raw else None

    def open_of(self, texter: str, service: str) -> ChatRecord | None:
        """The texter's conversation still open (waiting, offered or with an agent)."""
        chat_id = self.env.db.hget(keys.acd("chatof"), f"{texter}|{service}")
        record = self.get(chat_id) if chat_id else None
        return record if record is not None and record.state in OPEN_STATES else None

    def of_agent(self, agent_id: str) -> list[ChatRecord]:
        """The agent's offer and conversations (active and in wrap-up), by #N."""
        raw = self.env.db.hget(keys.acd("chatload"), agent_id)
        load = json.loads(raw) if raw else {}
        ids = list((load.get("ids") or {}).values()) if isinstance(load.get("ids"), dict) else []
        if load.get("offer"):
            ids.append(load["offer"])
        records = [r for r in (self.get(i) for i in ids) if r is not None]
        return sorted(records, key=lambda r: (r.n is None, r.n or 0))

    def by_number(self, agent_id: str, n: int) -> ChatRecord | None:
        for record in self.of_agent(agent_id):
            if record.n == n and record.agent == agent_id:
                return record
        return None

    def transcript(self, chat_id: str, first: int = 1, last: int = -1) -> list[dict[str, Any]]:
        """Messages `first`..`last` (1-based, inclusive; -1 the end)."""
        raw = self.env.db.lrange(keys.chat_messages(chat_id), first - 1,
                                 last - 1 if last > 0 else -1)
        return [json.loads(m) for m in raw]

    def waiting_by_queue(self) -> dict[str, int]:
        """Conversations waiting for an agent, per queue (two round trips, for the
        wallboard's poll)."""
        ids = self.env.db.zrange(keys.acd("chatwait"), 0, -1)
        counts: dict[str, int] = {}
        for raw in self.env.db.hmget(keys.acd("chats"), ids) if ids else []:
            if raw:
                record = json.loads(raw)
                if record.get("state") == "waiting":
                    counts[record["q"]] = counts.get(record["q"], 0) + 1
        return counts

    def waiting(self) -> list[ChatRecord]:
        ids = self.env.db.zrange(keys.acd("chatwait"), 0, -1)
        return [r for r in (self.get(i) for i in ids) if r is not None]
