"""TEMPORARY stand-in for ivr/routing/chats.py until the core lands on main (then deleted).

In memory, no Redis, no texts: just the Python API of the shared design, so that the
desk's API and page can be exercised before the merge."""

from __future__ import annotations

import sys
import time
import types
import uuid
from dataclasses import dataclass, field
from typing import Any


class ChatUnknown(Exception):
    pass


class ChatRefused(Exception):
    pass


class NotYours(Exception):
    pass


@dataclass
class ChatRecord:
    id: str
    q: str
    from_: str
    to: str
    t0: int
    state: str = "waiting"
    agent: str | None = None
    n: int | None = None
    offer: dict[str, Any] | None = None
    outcome: str | None = None
    connected: int | None = None
    ended: int | None = None
    agents: list[str] = field(default_factory=list)
    transfers: int = 0
    first: str = ""
    context: dict[str, Any] = field(default_factory=dict)


class StandIn:
    def __init__(self) -> None:
        self.chats: dict[str, ChatRecord] = {}
        self.msgs: dict[str, list[dict[str, Any]]] = {}

    @staticmethod
    def now() -> int:
        return int(time.time() * 1000)

    def enter(self, texter: str, service: str, queue: str, *, first: str = "",
              context: dict[str, Any] | None = None, **_: Any) -> ChatRecord:
        rec = ChatRecord(id="ch-" + uuid.uuid4().hex[:12], q=queue, from_=texter, to=service,
                         t0=self.now(), first=first, context=dict(context or {}))
        self.chats[rec.id] = rec
        self.msgs[rec.id] = [{"at": self.now(), "by": "texter", "agent": None, "body": first,
                              "media": []}]
        return rec

    def offer(self, chat_id: str, agent: str) -> None:
        rec = self.chats[chat_id]
        rec.state, rec.offer = "offered", {"agent": agent, "token": "t",
                                           "until": self.now() + 30000}

    def get(self, chat_id: str) -> ChatRecord | None:
        return self.chats.get(chat_id)

    def of_agent(self, agent_id: str) -> list[ChatRecord]:
        return [r for r in self.chats.values() if r.state in ("offered", "active", "wrap")
                and (r.agent == agent_id or (r.offer or {}).get("agent") == agent_id)]

    def transcript(self, chat_id: str) -> list[dict[str, Any]]:
        return list(self.msgs.get(chat_id, []))

    def _rec(self, chat_id: str) -> ChatRecord:
        rec = self.chats.get(chat_id)
        if rec is None:
            raise ChatUnknown(chat_id)
        return rec

    def accept(self, agent_id: str, chat_id: str) -> ChatRecord:
        rec = self._rec(chat_id)
        if rec.state != "offered" or (rec.offer or {}).get("agent") != agent_id:
            raise ChatRefused("not offered to you")
        used = {r.n for r in self.of_agent(agent_id) if r.agent == agent_id}
        rec.n = next(i for i in range(1, 10) if i not in used)
        rec.state, rec.agent, rec.offer, rec.connected = "active", agent_id, None, self.now()
        rec.agents.append(agent_id)
        self.msgs[chat_id].append({"at": self.now(), "by": "system", "agent": None,
                                   "body": f"{agent_id} has joined the conversation.",
                                   "media": []})
        return rec

    def decline(self, agent_id: str, chat_id: str) -> None:
        rec = self._rec(chat_id)
        if rec.state != "offered" or (rec.offer or {}).get("agent") != agent_id:
            raise ChatRefused("not offered to you")
        rec.state, rec.offer = "waiting", None

    def from_texter(self, chat_id: str, body: str, media: Any = ()) -> None:
        self.msgs[chat_id].append({"at": self.now(), "by": "texter", "agent": None,
                                   "body": body, "media": list(media)})

    def _mine(self, agent_id: str, chat_id: str, state: str) -> ChatRecord:
        rec = self._rec(chat_id)
        if rec.agent != agent_id:
            raise NotYours(chat_id)
        if rec.state != state:
            raise ChatRefused(f"the conversation is {rec.state}")
        return rec

    def from_agent(self, agent_id: str, chat_id: str, body: str, media: Any = ()) -> None:
        self._mine(agent_id, chat_id, "active")
        self.msgs[chat_id].append({"at": self.now(), "by": "agent", "agent": agent_id,
                                   "body": body, "media": list(media)})

    def end(self, agent_id: str, chat_id: str) -> None:
        rec = self._mine(agent_id, chat_id, "active")
        rec.state, rec.ended, rec.outcome = "wrap", self.now(), "answered"

    def transfer(self, agent_id: str, chat_id: str, queue: str) -> None:
        rec = self._mine(agent_id, chat_id, "active")
        rec.state, rec.agent, rec.n, rec.q = "waiting", None, None, queue
        rec.transfers += 1

    def wrapup(self, agent_id: str, chat_id: str, disposition: str | None,
               notes: str | None) -> None:
        rec = self._mine(agent_id, chat_id, "wrap")
        rec.state = "ended"


def install(router: Any) -> StandIn:
    """router.chats = a stand-in; `ivr.routing.chats` importable with the three errors."""
    module = types.ModuleType("ivr.routing.chats")
    module.ChatUnknown = ChatUnknown  # type: ignore[attr-defined]
    module.ChatRefused = ChatRefused  # type: ignore[attr-defined]
    module.NotYours = NotYours  # type: ignore[attr-defined]
    sys.modules.setdefault("ivr.routing.chats", module)
    standin = StandIn()
    router.chats = standin
    return standin
