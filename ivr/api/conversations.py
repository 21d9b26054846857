"""Text conversations with agents, as the agent desk sees and works them (`/api/conversations`).

A texter who reaches a `chat: true` queue by SMS or WhatsApp waits for an agent, who is
offered the conversation on their phone and on the desk (docs/desk.md, "Text
conversations"). These endpoints are the desk's side of it: the agent's conversations
with their last message, one conversation with its transcript and the texter's context
(the steps they took, the flow's variables, the queue's script rendered for them), and
the agent's actions: accept or decline an offer, send a message, transfer to a queue,
end, wrap up. Every decision is the routing core's (`router.chats`, ivr/routing/chats.py);
this module checks who may ask and turns the core's refusals into HTTP answers:
`ChatUnknown` 404, `NotYours` 403, `ChatRefused` 409.

Who may: the admin (bearer token) on every conversation, acting for the conversation's
agent (or, for an offer, the agent it is offered to); a desk session on the
conversations offered to, held or once served by its own agent (reading) and acting as
that agent; a supervisor's desk session may also read any conversation. Anything else:
403.

Unlike on the agent's phone, where the service number stands between the two and
neither sees the other's number, the desk shows the texter's number, as it does a
caller's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from ivr.api import schemas as s
from ivr.api.actor import Actor, actor, desk_allowed
from ivr.api.calls import keep_wrapup, place_of, previous_contacts, render_script
from ivr.api.routes import api
from ivr.api.spec import ApiError
from ivr.context import get_flows, get_redis, get_router
from ivr.routing.chats import ChatRecord, ChatRefused, Chats, ChatUnknown, NotYours

TAG = "conversations"
MAX_TEXT = 1600  # characters: Twilio's limit for one message's body


# --- models -------------------------------------------------------------------------------


class ListQuery(s.Strict):
    agent: Annotated[str, Field(pattern=s.AGENT_ID)] | None = Field(
        None, description="whose conversations (the admin; a desk session: its own, the "
                          "default); the admin without it: every agent's")


class TextBody(s.Strict):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=r"\S",
                               description="1 to 1,600 characters, not only blanks")]


class TransferBody(s.Strict):
    to: Annotated[str, Field(min_length=7, max_length=80, pattern=r"^queue:[^\s]+$",
                             description='"queue:NAME": a queue with `chat: true`')]


class Message(BaseModel):
    at: float = Field(description="epoch seconds")
    by: Literal["texter", "agent", "system"]
    agent: str | None = Field(None, description="the agent who wrote it (by: agent)")
    name: str | None = Field(None, description="that agent's name")
    source: str | None = Field(None, description="where the agent wrote it: desk or phone")
    body: str
    media: list[dict[str, str]] = Field(default_factory=list,
                                        description="attachments: {url, type}")


class LastMessage(BaseModel):
    at: float
    by: str
    body: str


class Conversation(s.Open):
    id: str
    n: int | None = Field(None, description="the agent's number for it (#N on the phone)")
    queue: str
    state: Literal["waiting", "offered", "active", "wrap", "ended"]
    agent: str | None = Field(None, description="the agent holding it (active, wrap)")
    offered_to: str | None = Field(None, description="the agent it rings for (offered)")
    texter: str = Field(description="the texter's address as Twilio sends it "
                                    "(whatsapp:+1... on WhatsApp)")
    number: str = Field(description="the texter's number (E.164)")
    channel: Literal["sms", "whatsapp"]
    entered: float = Field(description="epoch seconds: when the texter joined the line")
    waited: float = Field(description="seconds from joining the line to an agent's accept "
                                      "(so far, while nobody has)")
    connected: float | None = None
    ended: float | None = None
    outcome: str | None = None
    stopped: bool = Field(False, description="the texter opted out (STOP): nothing more "
                                             "reaches them")
    first: str = Field("", description="the texter's first message")
    messages: int = Field(description="messages in the transcript")
    last: LastMessage | None = None


class ConversationDetail(Conversation):
    transcript: list[Message]
    name: str | None = Field(None, description="caller ID name, when Twilio sends it")
    place: str | None = None
    steps: list[s.TrailStep]
    vars: dict[str, Any]
    previous: list[s.PreviousContact] = Field(
        description="this number's contacts of the last 30 days, newest first")
    agents: list[str] = Field(description="the agents who served it, in order")
    transfers: int = 0
    script: str | None = None
    script_html: str | None = None
    dispositions: list[str]
    disposition: str | None = Field(None, description="the wrap-up's, once filed")
    queues: list[str] = Field(description="the queues it may be transferred to (the other "
                                          "queues with chat: true)")


class ActionResult(BaseModel):
    id: str
    action: Literal["accept", "decline", "message", "transfer", "end", "wrapup"]
    agent: str = Field(description="the agent it was done as")
    state: str = Field(description="the conversation's state after it")


# --- reading the core's records -----------------------------------------------------------


def chats() -> Chats:
    return get_router().chats


def _seconds(ms: int | float | None) -> float | None:
    return round(float(ms) / 1000.0, 3) if ms else None


def _message(entry: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    agent = entry.get("agent") or None
    return {"at": _seconds(entry.get("at")) or 0.0, "by": entry.get("by") or "system",
            "agent": agent, "name": names.get(agent) if agent else None,
            "source": entry.get("source") or None,
            "body": str(entry.get("body") or ""),
            "media": [{"url": str(m.get("url", "")), "type": str(m.get("type", ""))}
                      for m in entry.get("media") or [] if isinstance(m, dict)]}


def _summary(record: ChatRecord, transcript: list[dict[str, Any]], now: float) -> dict[str, Any]:
    entered = record.entered_ms / 1000.0
    connected = _seconds(record.connected_ms)
    last = transcript[-1] if transcript else None
    return {
        "id": record.id,
        "n": record.n,
        "queue": record.queue,
        "state": record.state,
        "agent": record.agent,
        "offered_to": record.offered_to if record.state == "offered" else None,
        "texter": record.texter,
        "number": record.texter.removeprefix("whatsapp:"),
        "channel": record.channel,
        "entered": entered,
        "waited": round(max(0.0, (connected or now) - entered), 1),
        "connected": connected,
        "ended": _seconds(record.ended_ms),
        "outcome": record.outcome,
        "stopped": record.stopped,
        "first": record.first,
        "messages": len(transcript),
        "last": {"at": _seconds(last.get("at")) or 0.0, "by": last.get("by") or "system",
                 "body": str(last.get("body") or "")} if last else None,
    }


def _steps(raw: Any) -> list[dict[str, str]]:
    """The texter's trail as the call context gives it: [{flow, step, input}]."""
    out = []
    for item in raw or []:
        if isinstance(item, dict):
            out.append({"flow": str(item.get("flow", "")), "step": str(item.get("step", "")),
                        "input": str(item.get("input") or "")})
        elif isinstance(item, (list, tuple)) and len(item) >= 2:
            out.append({"flow": str(item[0]), "step": str(item[1]),
                        "input": str(item[2] if len(item) > 2 and item[2] else "")})
        elif isinstance(item, str):
            flow, _, step = item.partition(".")
            out.append({"flow": flow, "step": step, "input": ""})
    return out


def _names() -> dict[str, str]:
    return {a["id"]: a.get("name") or a["id"] for a in get_router().agents()}


# --- who may ------------------------------------------------------------------------------


def _conversation(chat_id: str) -> ChatRecord:
    record = chats().get(chat_id)
    if record is None:
        raise ApiError(404, f"no conversation {chat_id!r}")
    return record


def _involves(record: ChatRecord, agent_id: str, *, reading: bool) -> bool:
    if agent_id in (record.agent, record.holder()):
        return True
    return reading and agent_id in record.agents


def require_conversation(chat_id: str, *,
                         reading: bool = False) -> tuple[Actor, ChatRecord]:
    """The actor and the record: 404 unknown, 403 another agent's conversation."""
    who = actor()
    record = _conversation(chat_id)
    if who.admin or (reading and who.supervisor):
        return who, record
    if _involves(record, who.agent or "", reading=reading):
        return who, record
    raise ApiError(403, "this conversation is not offered to or held by you")


def _acting_agent(who: Actor, record: ChatRecord, *, offer: bool) -> str:
    """The agent an action is done as: the desk's own; for the admin, the agent the
    conversation is offered to (accept, decline) or held by (409 when there is none)."""
    if who.agent is not None:
        return who.agent
    agent = (record.offered_to if record.state == "offered" else None) if offer \
        else record.agent
    if not agent:
        raise ApiError(409, "no agent is offered this conversation" if offer
                       else "no agent holds this conversation")
    return str(agent)


def _run(chat_id: str, action: str, do: Callable[[str], ChatRecord], *, offer: bool = False,
         check: Callable[[ChatRecord], None] | None = None) -> dict[str, Any]:
    """Who may (403, 404), `check` the body against the conversation (422), then the
    core's decision as the acting agent (its refusals: 403, 404, 409)."""
    who, record = require_conversation(chat_id)
    if check is not None:
        check(record)
    agent = _acting_agent(who, record, offer=offer)
    try:
        after = do(agent)
    except ChatUnknown as exc:
        raise ApiError(404, f"no conversation {chat_id!r}") from exc
    except NotYours as exc:
        raise ApiError(403, str(exc) or "this conversation is not yours") from exc
    except ChatRefused as exc:
        raise ApiError(409, str(exc) or "the conversation's state does not allow that "
                                        "now") from exc
    return {"id": chat_id, "action": action, "agent": agent, "state": after.state}


# --- reading ------------------------------------------------------------------------------


@api.route("/conversations", "GET", summary="An agent's text conversations: offered, "
           "active and in wrap-up", tag=TAG, query=ListQuery, response=list[Conversation],
           errors=(403, 404))
@desk_allowed
def list_conversations(query: ListQuery) -> Any:
    """Each with the agent's #N, the queue, the texter, the wait and the last message,
    by #N (an offer, which has none yet, first). A desk session reads its own agent's
    (`?agent=` another agent: 403); the admin names the agent, or reads every agent's."""
    who = actor()
    router = get_router()
    if who.agent is not None:
        if query.agent not in (None, who.agent):
            raise ApiError(403, "a desk session reads its own agent's conversations only")
        agents = [who.agent]
    elif query.agent is not None:
        if router.agent(query.agent) is None:
            raise ApiError(404, f"no agent {query.agent!r}")
        agents = [query.agent]
    else:
        agents = [a["id"] for a in router.agents()]
    now = router.clock()
    seen: set[str] = set()
    out = []
    for agent_id in agents:
        for record in chats().of_agent(agent_id):
            if record.id in seen:
                continue
            seen.add(record.id)
            out.append(_summary(record, chats().transcript(record.id), now))
    out.sort(key=lambda c: (c["n"] is not None, c["n"] or 0, c["entered"]))
    return out


@api.route("/conversations/<chat_id>", "GET", summary="One text conversation: transcript, "
           "the texter's context and the queue's script", tag=TAG,
           response=ConversationDetail, errors=(403, 404))
@desk_allowed
def get_conversation(chat_id: str) -> Any:
    """The transcript (oldest first: the texter's, the agents' and the service's messages,
    the agents' sent from the phone or the desk alike), the steps the texter took in the
    flow with what they answered, the flow's variables, the number's contacts of the last
    30 days, the queue's `script` rendered for this texter and its `dispositions`. A desk
    session reads the conversations offered to, held or once served by its agent (a
    supervisor's: any)."""
    _, record = require_conversation(chat_id, reading=True)
    router = get_router()
    now = router.clock()
    transcript = chats().transcript(chat_id)
    names = _names()
    out = _summary(record, transcript, now)
    context = record.context
    caller: dict[str, Any] = dict(context.get("caller") or {})
    variables: dict[str, Any] = dict(context.get("vars") or {})
    place = place_of(caller)
    agent_id = out["agent"] or out["offered_to"]
    config = router.queue_config(out["queue"])  # defaults for a queue removed since
    script_text, dispositions = config.script, list(config.dispositions)
    script, script_html = render_script(script_text, {
        "caller": {**caller, "number": out["number"], "place": place or ""},
        "vars": variables,
        "queue": out["queue"],
        "agent": {"id": agent_id or "", "name": names.get(agent_id or "", agent_id or "")},
    })
    out.update({
        "transcript": [_message(m, names) for m in transcript],
        "name": caller.get("name") or None,
        "place": place,
        "steps": _steps(context.get("steps")),
        "vars": variables,
        "previous": previous_contacts(out["number"], chat_id, now),
        "agents": list(record.agents),
        "transfers": record.transfers,
        "disposition": record.disposition,
        "script": script,
        "script_html": script_html,
        "dispositions": dispositions,
        "queues": sorted(name for name, q in get_flows().current.queues.items()
                         if q.chat and name != record.queue),
    })
    return out


# --- acting -------------------------------------------------------------------------------


@api.route("/conversations/<chat_id>/accept", "POST", summary="Accept a conversation "
           "offered to the agent", tag=TAG, response=ActionResult, errors=(403, 404, 409))
@desk_allowed
def accept_conversation(chat_id: str) -> Any:
    """As the agent's `A` on the phone: the texter is told the agent joined. 409 when it is
    no longer offered to them (taken, expired, ended)."""
    return _run(chat_id, "accept", lambda agent: chats().accept(agent, chat_id), offer=True)


@api.route("/conversations/<chat_id>/decline", "POST", summary="Decline a conversation "
           "offered to the agent", tag=TAG, response=ActionResult, errors=(403, 404, 409))
@desk_allowed
def decline_conversation(chat_id: str) -> Any:
    """As `D` on the phone: a missed offer (counts against the queue's `max_missed`); the
    texter goes back to the front of the line."""
    return _run(chat_id, "decline", lambda agent: chats().decline(agent, chat_id),
                offer=True)


@api.route("/conversations/<chat_id>/messages", "POST", summary="Send the texter a message",
           tag=TAG, body=TextBody, response=ActionResult, status=201,
           errors=(403, 404, 409))
@desk_allowed
def send_message(chat_id: str, body: TextBody) -> Any:
    """`{"text": "..."}`, 1 to 1,600 characters, sent from the service number (the texter
    never sees the agent's number). 409 unless the conversation is active with the agent."""
    text = body.text.strip()
    return _run(chat_id, "message",
                lambda agent: chats().from_agent(agent, chat_id, text)), 201


@api.route("/conversations/<chat_id>/transfer", "POST", summary="Transfer a conversation "
           "to a queue", tag=TAG, body=TransferBody, response=ActionResult,
           errors=(403, 404, 409, 422))
@desk_allowed
def transfer_conversation(chat_id: str, body: TransferBody) -> Any:
    """`{"to": "queue:NAME"}` (a queue with `chat: true`, 422 otherwise): the texter waits
    in that queue's line, keeping their wait; the agent's part ends."""
    queue = body.to.removeprefix("queue:")

    def chat_queue(_: ChatRecord) -> None:
        config = get_flows().current.queues.get(queue)
        if config is None:
            raise ApiError(422, f"to: no queue named {queue!r}")
        if not config.chat:
            raise ApiError(422, f"to: queue {queue!r} does not take text conversations "
                                "(chat: true)")

    return _run(chat_id, "transfer", lambda agent: chats().transfer(agent, chat_id, queue),
                check=chat_queue)


@api.route("/conversations/<chat_id>/end", "POST", summary="End a conversation (the "
           "agent's wrap-up follows)", tag=TAG, response=ActionResult,
           errors=(403, 404, 409))
@desk_allowed
def end_conversation(chat_id: str) -> Any:
    """As `DONE` on the phone: the texter is thanked (and sent the queue's survey, if any);
    the conversation stays in wrap-up until the agent's wrap-up or the queue's `wrap_up`
    seconds."""
    return _run(chat_id, "end", lambda agent: chats().end(agent, chat_id))


@api.route("/conversations/<chat_id>/wrapup", "POST", summary="A conversation's wrap-up: "
           "disposition and notes", tag=TAG, body=s.WrapupBody, response=ActionResult,
           errors=(403, 404, 409, 422))
@desk_allowed
def wrapup_conversation(chat_id: str, body: s.WrapupBody) -> Any:
    """`disposition` one of the queue's `dispositions` (any word, or null, when it has
    none), `notes` at most 2,000 characters. Ends the agent's wrap-up of it; 409 when the
    conversation is not in the agent's wrap-up (not ended yet, or wrapped up already)."""
    def listed(record: ChatRecord) -> None:
        config = get_flows().current.queues.get(record.queue)
        allowed = config.dispositions if config is not None else []
        if body.disposition is not None and allowed and body.disposition not in allowed:
            raise ApiError(422, f"disposition: {body.disposition!r} is not one of "
                                f"{', '.join(allowed)}")

    notes = body.notes or None
    done = _run(chat_id, "wrapup",
                lambda agent: chats().wrapup(agent, chat_id, body.disposition), check=listed)
    # kept where the contact records look for an agent's wrap-up, as for a call
    keep_wrapup(get_redis(), chat_id, {"disposition": body.disposition, "notes": notes,
                                        "agent": done["agent"], "at": time.time()})
    return done
