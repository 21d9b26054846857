"""A call as the agent desk sees it: its context, the agent's wrap-up, and asking for help.

`GET /api/calls/{sid}` gathers what the server knows about a customer's call into one
answer: the router's record (queue, wait, agent, state), the flow engine's state (caller
ID name and place, the steps taken with what the caller pressed or said, the flow's
variables), the number's contact records of the last 30 days, and the queue's `script`
rendered for this caller (in the templates' sandbox; Markdown to HTML with raw HTML
escaped). `POST .../wrapup` keeps a disposition and notes on the call's contact record
and ends the agent's wrap-up time (one routing decision, wrapup.lua); `POST .../help`
flags the call for supervisors (the wallboard shows it) until the call ends.

Who may: the admin, a supervisor's desk session, or the desk session of the agent the
call is offered to, connected with or wrapped up by (ivr/api/actor.py).

Wrap-up while the agent is still connected: the disposition and notes are kept (they
land on the record), the event is logged, and nothing ends: the agent's wrap-up starts
when the call does. After the wrap-up time is over (or ended), a wrap-up is 409: the
agent is no longer wrapping up this call.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from typing import Any

import jinja2
import redis
from markdown_it import MarkdownIt

from ivr import keys
from ivr.api import schemas as s
from ivr.api.actor import Actor, desk_allowed, require_call
from ivr.api.routes import api
from ivr.api.spec import ApiError
from ivr.context import get_config, get_redis, get_router
from ivr.desk import chat
from ivr.flows import templates
from ivr.flows.state import FlowState
from ivr.reports.contacts import Contact
from ivr.routing.layout import EVENTS_MAXLEN
from ivr.routing.records import CallerRecord

log = logging.getLogger("ivr.api")

PREVIOUS_DAYS = 30
MAX_PREVIOUS = 50  # previous contacts shown at most
HELP_TTL = 4 * 3600  # seconds a help request lasts when the call's end is never heard of
WRAPUP_TTL = 6 * 3600  # seconds a wrap-up waits for its contact record
WAITING = ("new", "waiting", "retry", "overflowing")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off: `<script>` in a script (or in a caller's name) is text.
    # markdown-it also refuses javascript:, vbscript: and data: links.
    return MarkdownIt("commonmark", {"html": False})


# --- the call's context -------------------------------------------------------------------


def _agent_of(caller: CallerRecord, who: Actor) -> tuple[str | None, dict[str, Any] | None]:
    """The agent working this call (or it is offered to), with their public record."""
    router = get_router()
    if caller.agent:
        return caller.agent, router.agent(caller.agent)
    candidates = [who.agent] if who.agent else []
    if not candidates:
        return next(((a["id"], a) for a in router.agents() if a.get("offer") == caller.id),
                    (None, None))
    agent = router.agent(candidates[0])
    if agent is not None and agent.get("offer") == caller.id:
        return agent["id"], agent
    return None, None


def _state(caller: CallerRecord, agent: dict[str, Any] | None, flow: FlowState | None) -> str:
    """offered, connected, wrap-up or ended as the router knows it (waiting: in line)."""
    if agent is not None:
        if agent.get("call") == caller.id:  # on the call, or wrapping it up
            return "connected" if agent.get("state") == "on-call" else "wrap-up"
        if agent.get("offer") == caller.id and agent.get("state") == "offered":
            return "offered"
    if caller.finished is not None or (flow is not None and flow.ended):
        return "ended"
    if caller.state in ("connected", "offered"):
        return caller.state
    return "waiting" if caller.state in WAITING else "ended"


def place_of(caller: dict[str, Any]) -> str | None:
    parts = [str(caller[k]) for k in ("city", "state", "country") if caller.get(k)]
    return ", ".join(parts) or None


def render_script(text: str | None, context: dict[str, Any]) -> tuple[str | None, str | None]:
    """(text, HTML) of a queue's script for one caller; a template that fails renders a
    plain message instead (the desk must still open). In the HTML, what the values
    inserted into the script say is shown as text, never as Markdown (a caller's name
    cannot make a link)."""
    if not text:
        return None, None
    try:
        rendered = templates.render(text, context)
        source = templates.render_markdown(text, context)
    except jinja2.TemplateError as exc:
        log.warning("queue script could not be rendered: %s", exc)
        rendered = f"(The script could not be shown: {exc.message or type(exc).__name__}.)"
        source = templates.markdown_literal(rendered)
    return rendered, _markdown().render(source)


def previous_contacts(number: str, sid: str, now: float) -> list[dict[str, Any]]:
    from ivr.context import get_reporting

    if not number:
        return []
    contacts = get_reporting().contacts.of_number(number, start=now - PREVIOUS_DAYS * 86_400,
                                                  limit=MAX_PREVIOUS + 1)
    out = []
    for c in contacts:
        if c.id == sid:
            continue
        out.append({"start": c.start, "queue": c.queue, "agents": list(c.agents),
                    "outcome": c.outcome, "disposition": c.disposition, "notes": c.notes})
        if len(out) >= MAX_PREVIOUS:
            break
    return out


def _json(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@api.route("/calls/<sid>", "GET", summary="A call's context, as the agent desk shows it",
           tag="calls", response=s.CallContext, errors=(403, 404))
@desk_allowed
def call_context(sid: str) -> Any:
    """The caller (number, name, place), the queue and wait, the steps taken with what the
    caller pressed or said, the flow's variables, the number's contacts of the last 30
    days (newest first), the queue's script rendered for this caller, the wrap-up so far
    and any help request. 403 for another agent's call (a supervisor sees every call)."""
    who = require_call(sid)
    router = get_router()
    caller = router.caller(sid)
    if caller is None:  # forgotten between the check and now
        raise ApiError(404, f"no call {sid!r}")
    store = get_redis()
    pipe = store.pipeline(transaction=False)
    pipe.hgetall(keys.call(sid))
    pipe.get(keys.call_wrapup(sid))
    pipe.get(keys.call_help(sid))
    pipe.get(keys.contact(sid))
    fields, wrapup_raw, help_raw, record_raw = pipe.execute()
    flow = FlowState.from_fields(fields)
    record = Contact.from_json(record_raw) if record_raw else None
    agent_id, agent = _agent_of(caller, who)
    now = router.clock()
    entered = caller.entered_ms / 1000.0
    waited = (caller.connected_ms / 1000.0 if caller.connected_ms else now) - entered
    info: dict[str, Any] = dict(flow.caller) if flow is not None else {}
    number = caller.number or info.get("number") or ""
    place = place_of(info)
    if flow is not None:
        steps = [{"flow": f, "step": st, "input": inp} for f, st, inp in flow.trail]
    elif record is not None:
        steps = [{"flow": m.partition(".")[0], "step": m.partition(".")[2], "input": ""}
                 for m in record.steps]
    else:
        steps = []
    config = router.queue_config(caller.queue)
    variables = dict(flow.vars) if flow is not None else {}
    script, script_html = render_script(config.script, {
        "caller": {**info, "number": number, "place": place or ""},
        "vars": variables,
        "queue": caller.queue,
        "agent": {"id": agent_id or "", "name": (agent or {}).get("name") or agent_id or ""},
    })
    wrapup = _json(wrapup_raw) or {}
    help_flag = _json(help_raw)
    return {
        "sid": sid,
        "state": _state(caller, agent, flow),
        "agent": agent_id,
        "queue": caller.queue,
        "waited": round(max(0.0, waited), 1),
        "number": number,
        "name": info.get("name") or None,
        "place": place,
        "steps": steps,
        "vars": variables,
        "previous": previous_contacts(number, sid, now),
        "script": script,
        "script_html": script_html,
        "dispositions": list(config.dispositions),
        "disposition": wrapup.get("disposition") or (record.disposition if record else None),
        "notes": wrapup.get("notes") or (record.notes if record else None),
        "help": {k: help_flag.get(k) for k in ("note", "at", "agent")} if help_flag else None,
        "held": caller.held,
        "consult": _consult(caller),
    }


def _consult(caller: CallerRecord) -> dict[str, Any] | None:
    """The consult (warm transfer) going on, as both desks show it: the consulting agent's
    (Complete, Three-way, Cancel) and the target's (who is asking them)."""
    x = caller.control
    if x.get("kind") != "consult":
        return None
    return {"to": str(x.get("to") or ""), "agent": x.get("agent") or None,
            "by": caller.agent, "three_way": x.get("st") == "three"}


# --- wrap-up ------------------------------------------------------------------------------


def keep_wrapup(store: redis.Redis, sid: str, wrapup: dict[str, Any]) -> None:
    """On the contact record now, or when it is written (ivr/reports/recorder.py reads the
    key when it writes the record, and again in the same round trip as the write)."""
    from ivr.context import get_reporting

    store.set(keys.call_wrapup(sid), json.dumps(wrapup), ex=WRAPUP_TTL)

    def given(c: Contact) -> None:
        c.disposition = wrapup.get("disposition") or None
        c.notes = wrapup.get("notes") or None

    get_reporting().contacts.update(sid, given)


@api.route("/calls/<sid>/wrapup", "POST", summary="The call's wrap-up: disposition and notes; "
           "ends the agent's wrap-up time", tag="calls", body=s.WrapupBody,
           response=s.WrapupResult, errors=(403, 404, 409))
@desk_allowed
def call_wrapup(sid: str, body: s.WrapupBody) -> Any:
    """`disposition` must be one of the queue's `dispositions` (when it has none: any
    word, or null); `notes` at most 2,000 characters. Kept on the call's contact record
    (when it is written later, it lands then). The agent's wrap-up time ends at once; a
    call still connected keeps going (the wrap-up is kept, nothing ends:
    `wrap_up_ended` false). A desk session wraps up its own agent's part (after a
    transfer, the agent who handed the call on); the admin, the call's current agent's.
    409 when that agent is neither on it nor wrapping it up (the wrap-up time is over, or
    no agent took the call)."""
    who = require_call(sid)
    router = get_router()
    caller = router.caller(sid)
    if caller is None:
        raise ApiError(404, f"no call {sid!r}")
    allowed = router.queue_config(caller.queue).dispositions
    if body.disposition is not None and allowed and body.disposition not in allowed:
        raise ApiError(422, f"disposition: {body.disposition!r} is not one of "
                            f"{', '.join(allowed)}")
    # A desk wraps up its own agent's part of the call: after a transfer (warm or cold)
    # the caller's agent is someone else, or nobody yet, while this agent wraps up.
    agent = caller.agent
    mine = who.agent
    if mine is not None and (not who.supervisor or _holds(router.agent(mine), sid)):
        agent = mine
    if agent is None:
        raise ApiError(409, "no agent has taken this call")
    verdict = router.wrapup(agent, sid, body.disposition)
    if verdict == "conflict":
        raise ApiError(409, f"agent {agent!r} is neither on this call nor wrapping it up")
    notes = body.notes or None
    keep_wrapup(get_redis(), sid, {"disposition": body.disposition, "notes": notes,
                                    "agent": agent, "at": time.time()})
    return {"sid": sid, "agent": agent, "disposition": body.disposition, "notes": notes,
            "wrap_up_ended": verdict != "connected"}


def _holds(agent: dict[str, Any] | None, sid: str) -> bool:
    """Whether an agent (their public record) is on or wrapping up this call."""
    return agent is not None and agent.get("call") == sid


# --- help ---------------------------------------------------------------------------------


@api.route("/calls/<sid>/help", "POST", summary="Ask for help on a call", tag="calls",
           body=s.HelpBody, response=s.HelpResult, errors=(403, 404, 409))
@desk_allowed
def call_help(sid: str, body: s.HelpBody) -> Any:
    """Flags the call for supervisors: the wallboard shows it with the note, and the
    call's context returns it, until the call ends (or after 4 hours). Asking again
    replaces the note. The request is also posted in the team chat room (kind `help`,
    with the call's sid), where supervisors' desks show it. 409 when the call is over."""
    who = require_call(sid)
    router = get_router()
    caller = router.caller(sid)
    if caller is None:
        raise ApiError(404, f"no call {sid!r}")
    store = get_redis()
    flow = FlowState.from_fields(store.hgetall(keys.call(sid)))  # type: ignore[arg-type]
    if caller.finished is not None or (flow is not None and flow.ended):
        raise ApiError(409, "this call is over")
    now = time.time()
    agent = who.agent or caller.agent
    flag = {"note": body.note, "at": now, "agent": agent}
    pipe = store.pipeline(transaction=False)
    pipe.set(keys.call_help(sid), json.dumps({**flag, "queue": caller.queue}), ex=HELP_TTL)
    pipe.zadd(keys.calls_helped(), {sid: now})
    pipe.xadd(keys.acd("events"), {"type": "help", "at": str(router.now_ms()),
                                   "queue": caller.queue, "call": sid, "agent": agent or "",
                                   "note": body.note},
              maxlen=EVENTS_MAXLEN, approximate=True)
    pipe.execute()
    # Supervisors see it in the desk: a help message in the team room, naming the call.
    who_name = agent or "admin"
    config = router.agent_config(agent) if agent else None
    chat.post(store, "team", sender=who_name, name=config.name if config else who_name,
              kind="help", call=sid,
              text=f"Help on a {caller.queue} call: {body.note}" if body.note
              else f"Help on a {caller.queue} call",
              retention_days=get_config().retention_days)
    return {"sid": sid, "help": flag}


def help_requests(store: redis.Redis, now: float | None = None) -> list[dict[str, Any]]:
    """The calls flagged for help now, oldest first (the wallboard's `help`): one round
    trip when none are, two otherwise."""
    now = time.time() if now is None else now
    pipe = store.pipeline(transaction=False)
    pipe.zremrangebyscore(keys.calls_helped(), "-inf", f"({now - HELP_TTL}")
    pipe.zrange(keys.calls_helped(), 0, -1)
    sids: list[str] = pipe.execute()[1]
    if not sids:
        return []
    out = []
    gone = []
    for sid, raw in zip(sids, store.mget([keys.call_help(x) for x in sids]), strict=True):
        flag = _json(raw)
        if flag is None:
            gone.append(sid)
            continue
        out.append({"call": sid, "agent": flag.get("agent"), "note": flag.get("note") or "",
                    "at": float(flag.get("at") or 0), "queue": flag.get("queue")})
    if gone:
        store.zrem(keys.calls_helped(), *gone)
    return out

