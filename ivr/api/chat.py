"""`GET /api/chat/{room}` and `POST /api/chat/{room}`: the desk's team chat (ivr/desk/chat.py).

Registered on the admin API object (imported at the bottom of ivr/api/routes.py); a
desk session may use both, for the rooms that are its agent's (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ivr.api.actor import actor, desk_allowed
from ivr.api.routes import api
from ivr.api.spec import ApiError
from ivr.context import get_config, get_flows, get_redis, get_router
from ivr.desk import chat


class ChatQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: str | None = Field(None, description="a message id: only the messages after it "
                                                "(for polling)")


class ChatPost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(max_length=chat.TEXT_LIMIT)]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", serialize_by_alias=True, validate_by_name=True)
    id: str
    room: str
    from_: str = Field(alias="from")
    name: str
    to: str | None = None
    text: str
    kind: str
    call: str | None = None
    at: float


class ChatRead(BaseModel):
    room: str
    messages: list[ChatMessage]
    last: str | None = Field(None, description="the newest message's id: pass it as "
                                                "`after` next time")


def supervisor(agent_id: str) -> bool:
    config = get_flows().current.agents.get(agent_id)
    return getattr(config, "role", "agent") == "supervisor"


def resolve(room: str, reader: str | None) -> chat.Room:
    router = get_router()
    skills: dict[str, int] | None = None
    if reader is not None:
        me = router.agent(reader)
        if me is None:
            raise ApiError(401, "sign in at /desk")
        skills = dict(me.get("skills") or {})
    queues = {name: list(q.skills) for name, q in get_flows().current.queues.items()}
    try:
        return chat.resolve(room, reader=reader, supervisor=reader is not None
                            and supervisor(reader), reader_skills=skills, queues=queues,
                            agent_exists=lambda agent_id: router.agent(agent_id) is not None)
    except chat.ChatError as exc:
        raise ApiError(exc.status, exc.message) from exc


@api.route("/chat/<room>", "GET", summary="A chat room's messages, oldest first", tag="chat",
           query=ChatQuery, response=ChatRead, errors=(400, 403, 404))
@desk_allowed
def read_chat(room: str, query: ChatQuery) -> Any:
    """Rooms: `team`, `queue:NAME`, `agent:ID` (direct messages with agent ID; your own id:
    every direct message of yours, each with its room). The last 200 messages, or those
    after `?after=ID`."""
    who = actor()
    resolved = resolve(room, who.agent)
    try:
        after = chat.valid_after(query.after)
    except chat.ChatError as exc:
        raise ApiError(exc.status, exc.message) from exc
    messages = chat.read(get_redis(), resolved, after=after)
    return {"room": resolved.name, "messages": messages,
            "last": messages[-1]["id"] if messages else after}


@api.route("/chat/<room>", "POST", summary="Post a message in a chat room", tag="chat",
           body=ChatPost, response=ChatMessage, status=201, errors=(403, 404))
@desk_allowed
def post_chat(room: str, body: ChatPost) -> Any:
    """`{"text": "..."}`, 1 to 2000 characters (422 otherwise)."""
    who = actor()
    resolved = resolve(room, who.agent)
    if who.admin and room.startswith("agent:"):
        raise ApiError(403, "direct messages are between two agents; the admin posts in "
                            "team or queue rooms")
    sender = who.agent or "admin"
    name = "Admin"
    if who.agent is not None:
        me = get_router().agent(who.agent)
        name = str((me or {}).get("name") or who.agent)
    try:
        return chat.post(get_redis(), resolved.name, sender=sender, text=body.text, name=name,
                         retention_days=get_config().retention_days), 201
    except chat.ChatError as exc:
        raise ApiError(exc.status, exc.message) from exc
