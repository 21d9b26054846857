"""The agents' team chat: rooms in Redis streams (ivr/keys.py `chat_room`).

Rooms, as a reader names them:

- `team`: everyone.
- `queue:NAME`: one per queue. An agent may use the rooms of the queues they can take
  (they have every skill the queue asks for); supervisors and the admin every queue's.
- `agent:ID`: direct messages between the reader and agent ID. Both agents see the
  same conversation under the other's id: Alice reads and posts `agent:bob`, Bob
  reads and posts `agent:alice` (stored once, as `dm:alice|bob`, ids sorted). Reading
  `agent:` + one's own id gives one's inbox: every direct message to or from oneself,
  each tagged with its room (`agent:OTHER`), which is how the desk learns of new
  conversations with one poll. The admin reads any agent's inbox that way but posts
  no direct messages (they are between two agents).

Every room keeps its last ROOM_CAP messages, none older than IVR_RETENTION_DAYS
(trimmed at each post; a silent room expires after that time). `post` is the one way
in, for the API and for the server's own messages (help requests: kind "help" with
the call's sid, posted in `team`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import redis

from ivr import keys

ROOM_CAP = 500  # messages kept per room
READ_LIMIT = 200  # messages per read
TEXT_LIMIT = 2000  # characters per message
DEFAULT_RETENTION_DAYS = 90
KINDS = frozenset({"text", "help"})
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


class ChatError(Exception):
    """A refused read or post: `status` (400, 403, 404, 422) and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Room:
    """A room resolved for one reader: what it is called, where it is read from."""

    name: str  # as the reader names it: team, queue:NAME, agent:ID
    stream: str  # the stream read: team, queue:NAME, dm:A|B, inbox:ID
    viewer: str | None  # whose point of view direct messages are shown from


def dm_stream(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"dm:{first}|{second}"


def direct_room(sender: str, recipient: str) -> Room:
    return Room(f"agent:{recipient}", dm_stream(sender, recipient), sender)


def valid_after(after: str | None) -> str | None:
    if after is None or after == "":
        return None
    if not _STREAM_ID.fullmatch(after):
        raise ChatError(400, "after: a message id such as 1700000000000-0")
    return after


def _message(stream_id: str, fields: dict[str, str], viewer: str | None,
             room: str) -> dict[str, Any]:
    to = fields.get("to") or None
    sender = fields.get("from", "")
    if to is not None:  # a direct message: named by the other agent, seen from `viewer`
        other = to if viewer == sender else sender
        room = f"agent:{other}"
    return {
        "id": stream_id,
        "room": room,
        "from": sender,
        "name": fields.get("name") or sender,
        "to": to,
        "text": fields.get("text", ""),
        "kind": fields.get("kind", "text"),
        "call": fields.get("call") or None,
        "at": int(stream_id.split("-", 1)[0]) / 1000.0,
    }


def post(store: redis.Redis, room: str, *, sender: str, text: str, kind: str = "text",
         call: str | None = None, name: str | None = None,
         retention_days: int = DEFAULT_RETENTION_DAYS) -> dict[str, Any]:
    """Post a message in `room` (`team`, `queue:NAME`, or `agent:ID`: a direct message
    from `sender` to agent ID) and return it as readers see it (from the sender's side).

    Raises ChatError(422) for empty or too long text or an unknown kind. Who may post
    where is the caller's business (the API checks it with `resolve`)."""
    text = (text or "").strip()
    if not text:
        raise ChatError(422, "text: say something (empty message)")
    if len(text) > TEXT_LIMIT:
        raise ChatError(422, f"text: at most {TEXT_LIMIT} characters")
    if kind not in KINDS:
        raise ChatError(422, f"kind: one of {', '.join(sorted(KINDS))}")
    fields = {"from": sender, "name": name or sender, "text": text, "kind": kind,
              "call": call or ""}
    if room.startswith("agent:"):
        recipient = room.removeprefix("agent:")
        if not recipient or recipient == sender:
            raise ChatError(422, "a direct message needs another agent")
        fields["to"] = recipient
        streams: tuple[str, ...] = (dm_stream(sender, recipient), f"inbox:{sender}",
                                    f"inbox:{recipient}")
    else:
        streams = (room,)
    now_ms = int(time.time() * 1000)
    min_id = f"{max(0, now_ms - retention_days * 86400 * 1000)}-0"
    ttl = retention_days * 86400
    pipe = store.pipeline(transaction=True)
    for stream in streams:
        key = keys.chat_room(stream)
        pipe.xadd(key, fields, maxlen=ROOM_CAP, approximate=False)  # type: ignore[arg-type]
        pipe.xtrim(key, minid=min_id, approximate=False)
        pipe.expire(key, ttl)
    replies = pipe.execute()
    return _message(str(replies[0]), fields, sender, room)


def read(store: redis.Redis, room: Room, *, after: str | None = None,
         limit: int = READ_LIMIT) -> list[dict[str, Any]]:
    """The room's messages, oldest first: after `after` (a message id) or the last `limit`."""
    key = keys.chat_room(room.stream)
    rows: list[Any]
    if after:
        rows = list(store.xrange(key, min=f"({after}", max="+", count=limit) or [])
    else:
        rows = list(reversed(list(store.xrevrange(key, max="+", min="-", count=limit) or [])))
    return [_message(str(sid), {str(k): str(v) for k, v in (fields or {}).items()},
                     room.viewer, room.name) for sid, fields in rows]


def resolve(room: str, *, reader: str | None, supervisor: bool,
            reader_skills: dict[str, int] | None, queues: dict[str, list[str]],
            agent_exists: Any) -> Room:
    """The room `room` for `reader` (None: the admin), or ChatError 404 (no such room)
    or 403 (not theirs). `queues`: each queue's skills; `agent_exists(id) -> bool`."""
    if room == "team":
        return Room("team", "team", reader)
    kind, sep, name = room.partition(":")
    if not sep or not name:
        raise ChatError(404, f"no room {room!r}: team, queue:NAME or agent:ID")
    if kind == "queue":
        if name not in queues:
            raise ChatError(404, f"no queue {name!r}")
        if reader is None or supervisor:
            return Room(room, room, reader)
        skills = reader_skills or {}
        if not all(skill in skills for skill in queues[name]):
            raise ChatError(403, f"queue:{name} is for the agents who take its calls")
        return Room(room, room, reader)
    if kind == "agent":
        if not agent_exists(name):
            raise ChatError(404, f"no agent {name!r}")
        if reader is None or reader == name:
            return Room(room, f"inbox:{name}", name)  # the inbox: every direct message
        return direct_room(reader, name)
    raise ChatError(404, f"no room {room!r}: team, queue:NAME or agent:ID")
