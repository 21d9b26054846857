"""The admin JSON API under `/api`: queues, agents, calls, voicemails, flows, events.

Every answer is JSON; every refusal is `{"error": "..."}` with 400, 401, 404, 409, 415
or 422 (503 when Redis is unreachable). The data comes from the router, the flow
registry and the engine's Redis records; this module adds no routing logic of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ivr import keys
from ivr.api import schemas as s
from ivr.api.actor import DESK_ENDPOINTS, desk_agent, desk_allowed, require_agent
from ivr.api.auth import admin_allowed, csrf_refusal, host_refusal, refusal_reason
from ivr.api.metrics import record_waiting, waiting_history
from ivr.api.spec import Api, ApiError
from ivr.context import get_flows, get_redis, get_router
from ivr.flows import analytics, graph, voicemail
from ivr.flows import state as state_mod
from ivr.flows.model import AgentConfig, Flow
from ivr.flows.yamlsrc import Problem

if TYPE_CHECKING:
    from ivr.routing.router import Router

log = logging.getLogger("ivr.api")

bp = Blueprint("api", __name__, url_prefix="/api")
api = Api(bp, prefix="/api", title="ivr admin API", version="1",
          description="Queues, agents, calls, voicemails, call flows and the queue event "
                      "log. Send `Authorization: Bearer <IVR_ADMIN_TOKEN>`.")

MAX_CALLS = 500
MAX_VOICEMAILS = 500


def router() -> Router:
    return get_router()


# --- access and errors ---------------------------------------------------------------


@bp.before_request
def _guard() -> Response | None:
    wrong_host = host_refusal()
    if wrong_host is not None:
        log.warning("admin API: refused %s %s from %s: Host %r", request.method, request.path,
                    request.remote_addr, request.host)
        response = jsonify(error=wrong_host)
        response.status_code = 403
        return response
    if request.endpoint == "api.openapi_document":
        return None
    if not admin_allowed() and desk_agent() is not None and request.endpoint in DESK_ENDPOINTS:
        return None  # a desk session: the view checks which agent and call (ivr/api/actor.py)
    if not admin_allowed():
        log.info("admin API: refused %s %s from %s", request.method, request.path,
                 request.remote_addr)
        response = jsonify(error=refusal_reason())
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="ivr"'
        return response
    forged = csrf_refusal()
    if forged is not None:
        status, why = forged
        log.warning("admin API: refused %s %s from %s: %s", request.method, request.path,
                    request.remote_addr, why)
        response = jsonify(error=why)
        response.status_code = status
        return response
    return None


def _json_error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return _json_error(exc.status, exc.message)


def _from_http(exc: HTTPException) -> Response:
    """JSON body, same status and headers (a 405 keeps its `Allow`, RFC 9110)."""
    response = jsonify(error=exc.description or exc.name)
    response.status_code = exc.code or 400
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _from_http(exc)


@bp.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> tuple[Response, int]:
    log.error("admin API: Redis unavailable: %s", exc)
    return _json_error(503, "live state unavailable (Redis does not answer)")


@bp.errorhandler(Exception)
def _fault(exc: Exception) -> tuple[Response, int]:
    log.exception("admin API: %s %s failed", request.method, request.path)
    return _json_error(500, "internal error (logged)")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unrouted(exc: HTTPException) -> Response | HTTPException:
    """URLs under /api that match no rule still answer JSON (routing happens app-wide)."""
    if request.path == "/api" or request.path.startswith("/api/"):
        return _from_http(exc)
    return exc


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document, generated from the route declarations (no token needed)."""
    return jsonify(api.openapi())


# --- queues ----------------------------------------------------------------------------


def _with_config(stats: dict[str, Any]) -> dict[str, Any]:
    config = router().queue_config(stats["queue"])
    return {**stats, "service_level_target": config.service_level,
            "max_wait": config.max_wait, "strategy": config.strategy,
            "skills": list(config.skills), "alerts": dict(config.alerts), "chat": config.chat}


def breached(q: dict[str, Any]) -> list[str]:
    """Which of the queue's alert thresholds its figures are past now (a ratio with no
    calls yet today is past none)."""
    limits = q.get("alerts") or {}
    out = [k for k in ("longest_wait", "waiting") if k in limits and q[k] >= limits[k]]
    if "service_level" in limits and q.get("service_level") is not None \
            and q["service_level"] < limits["service_level"]:
        out.append("service_level")
    if "abandon_rate" in limits and q.get("abandon_rate") is not None \
            and q["abandon_rate"] > limits["abandon_rate"]:
        out.append("abandon_rate")
    return out


def _with_today(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Since midnight, from the reports' day totals: ASA, AHT and abandon rate."""
    reporting = current_app.extensions.get("ivr.reports")
    if reporting is not None and rows:
        today = reporting.reports.today([q["queue"] for q in rows])
        for q in rows:
            figures = today.get(q["queue"], {})
            q.update({k: figures.get(k) for k in ("asa", "aht", "abandon_rate")})
    for q in rows:
        q["alerting"] = breached(q)
    if any(q.get("chat") for q in rows):  # texts with agents (docs/texting.md)
        texts = router().chats.waiting_by_queue()
        for q in rows:
            q["texts_waiting"] = texts.get(q["queue"], 0) if q.get("chat") else None
    return rows


def _all_queues(stats: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if stats is None:
        stats = router().all_queue_stats()
    record_waiting(get_redis(), stats)
    return _with_today([_with_config(q) for q in stats])


@api.route("/queues", "GET", summary="Every queue: live figures and today's statistics",
           tag="queues", response=list[s.QueueStats])
def list_queues() -> Any:
    """Live: waiting, longest wait, agents by status and state. Since midnight (queue time
    zone): offered, answered, abandoned, overflowed, service level, average wait and talk."""
    return _all_queues()


@api.route("/queues/<name>", "GET", summary="One queue", tag="queues",
           response=s.QueueStats, errors=(404,))
def get_queue(name: str) -> Any:
    if name not in router().layout.queues():
        raise ApiError(404, f"no queue named {name!r}")
    return _with_today([_with_config(router().queue_stats(name))])[0]


@api.route("/waiting", "GET", summary="Callers waiting now, best first in each queue",
           tag="queues", query=s.WaitingQuery, response=list[s.WaitingCaller])
def list_waiting(query: s.WaitingQuery) -> Any:
    rows = router().waiting()
    return [w for w in rows if query.queue is None or w["queue"] == query.queue]


@api.route("/history/waiting", "GET", summary="Callers waiting per queue over the last hour",
           tag="queues", query=s.HistoryQuery, response=dict[str, list[s.HistoryPoint]])
def history_waiting(query: s.HistoryQuery) -> Any:
    """Samples every 10 s, taken whenever /metrics, the wallboard or the sampler reads."""
    queues = [q["queue"] for q in _all_queues()]
    return waiting_history(get_redis(), queues, minutes=query.minutes)


# --- calls -----------------------------------------------------------------------------


def _calls_in_progress() -> list[dict[str, Any]]:
    store = get_redis()
    now = time.time()
    sids = state_mod.active_calls(store, limit=MAX_CALLS, now=now)
    pipe = store.pipeline(transaction=False)
    for sid, _ in sids:
        pipe.hgetall(keys.call(sid))
    out = []
    for (sid, started), raw in zip(sids, pipe.execute(), strict=True):
        state = state_mod.FlowState.from_fields(raw)
        if state is None or state.ended:
            continue
        out.append({
            "sid": sid, "flow": state.flow, "step": state.step,
            "from": state.call.get("from"), "to": state.call.get("to"),
            "channel": state.call.get("channel"), "language": state.language,
            "started": started, "duration": round(max(0.0, now - started), 1),
        })
    return out


@api.route("/calls", "GET", summary="Calls in progress in the flows", tag="calls",
           response=list[s.CallInProgress])
def list_calls() -> Any:
    """Where each caller is in the flows now (oldest call first)."""
    return _calls_in_progress()


# --- agents ----------------------------------------------------------------------------


def _find_agent(agent_id: str) -> dict[str, Any]:
    for agent in router().agents():
        if agent["id"] == agent_id:
            return agent
    raise ApiError(404, f"no agent {agent_id!r}")


def _check_phone_free(phone: str, agent_id: str) -> None:
    for agent in router().agents():
        if agent["phone"] == phone and agent["id"] != agent_id:
            raise ApiError(409, f"phone {phone} already belongs to agent {agent['id']!r}")


def _save_agent(agent_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    _check_phone_free(fields["phone"], agent_id)
    config = AgentConfig(id=agent_id, name=fields.get("name") or agent_id,
                         phone=fields["phone"], skills=dict(fields.get("skills") or {}),
                         pin=fields.get("pin") or None)
    return router().upsert_agent(config)


@api.route("/agents", "GET", summary="Every agent: status, state, time in state, calls today",
           tag="agents", response=list[s.Agent])
def list_agents() -> Any:
    """`source` says where the agent comes from: `yaml` (agents.yaml, the seed) or `api`."""
    return router().agents()


@api.route("/agents", "POST", summary="Add an agent", tag="agents", body=s.NewAgent,
           response=s.Agent, status=201, errors=(409,))
def add_agent(body: s.NewAgent) -> Any:
    """The agent persists in Redis (source `api`) and starts offline."""
    if any(a["id"] == body.id for a in router().agents()):
        raise ApiError(409, f"agent {body.id!r} exists; change it with PUT or PATCH")
    return _save_agent(body.id, body.model_dump())


@api.route("/agents/<agent_id>", "GET", summary="One agent", tag="agents", response=s.Agent,
           errors=(403, 404))
@desk_allowed
def get_agent(agent_id: str) -> Any:
    """A desk session may read its own agent only."""
    require_agent(agent_id)
    return _find_agent(agent_id)


@api.route("/agents/<agent_id>", "PUT", summary="Add or replace an agent", tag="agents",
           body=s.AgentFields, response=s.Agent, errors=(409,), also=(201,),
           path={"agent_id": {"type": "string", "pattern": s.AGENT_ID}})
def put_agent(agent_id: str, body: s.AgentFields) -> Any:
    """Status and state are kept; 201 when the agent is new. An API change wins over
    agents.yaml until the agent is removed."""
    try:
        s.NewAgent.model_validate({**body.model_dump(), "id": agent_id})
    except ValueError as exc:
        raise ApiError(422, f"agent id {agent_id!r}: letters, digits, _ . - only") from exc
    existed = any(a["id"] == agent_id for a in router().agents())
    saved = _save_agent(agent_id, body.model_dump())
    return saved, (200 if existed else 201)


@api.route("/agents/<agent_id>", "PATCH", summary="Change some of an agent's settings",
           tag="agents", body=s.AgentPatch, response=s.Agent, errors=(404, 409))
def patch_agent(agent_id: str, body: s.AgentPatch) -> Any:
    current = _find_agent(agent_id)
    # The PIN is not in the public record; the roster's own settings keep it.
    config = router().agent_config(agent_id)
    fields = {"name": current["name"], "phone": current["phone"],
              "skills": current["skills"], "pin": config.pin if config else None}
    fields.update(body.model_dump(exclude_unset=True))
    if not fields["phone"]:
        raise ApiError(422, "phone: an agent needs a phone")
    return _save_agent(agent_id, fields)


@api.route("/agents/<agent_id>", "DELETE", summary="Remove an agent", tag="agents",
           response=s.Removed, errors=(404,))
def delete_agent(agent_id: str) -> Any:
    """An agent on a call is logged out at once (`busy`) and removed when asked again."""
    from ivr.routing.router import UnknownAgent

    try:
        verdict = router().remove_agent(agent_id)
    except UnknownAgent as exc:
        raise ApiError(404, f"no agent {agent_id!r}") from exc
    return {"id": agent_id, "result": verdict}


@api.route("/agents/<agent_id>/status", "PUT", summary="Set an agent available, on break "
           "or offline", tag="agents", body=s.StatusChange, response=s.Agent,
           errors=(403, 404))
@desk_allowed
def set_status(agent_id: str, body: s.StatusChange) -> Any:
    """What the wallboard's buttons and the desk call; `available` offers a waiting caller
    at once. `reason` (with `break`): one of agents.yaml's `breaks:`, shown as
    `break_reason` until the agent leaves the break. A desk session sets its own agent's
    status only."""
    from ivr.routing.router import UnknownAgent

    who = require_agent(agent_id)
    try:
        return router().set_agent_status(agent_id, body.status,
                                         source="api" if who.admin else "desk",
                                         reason=body.reason)
    except UnknownAgent as exc:
        raise ApiError(404, f"no agent {agent_id!r}") from exc
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc


# --- voicemails ------------------------------------------------------------------------


def _voicemails(box: str | None = None) -> list[dict[str, Any]]:
    store = get_redis()
    names = [box] if box is not None else voicemail.boxes(store)
    items: list[dict[str, Any]] = []
    for name in names:
        items.extend(voicemail.messages(store, name))
    for item in items:
        item["heard"] = float(item["heard"]) if item.get("heard") else None
    items.sort(key=lambda v: v["time"], reverse=True)
    return items[:MAX_VOICEMAILS]


UNHEARD_TTL = 15.0  # seconds: counting reads every message, too much for every 2 s poll
UNHEARD = "ivr.api.unheard"  # app.extensions: (monotonic time, count) of the last count


def _unheard_count(*, fresh: bool = False) -> int:
    """Unheard voicemails, recounted at most every UNHEARD_TTL seconds per worker."""
    stamp, count = current_app.extensions.get(UNHEARD, (float("-inf"), 0))
    if fresh or time.monotonic() - stamp > UNHEARD_TTL:
        count = sum(1 for v in _voicemails() if v["heard"] is None)
        current_app.extensions[UNHEARD] = (time.monotonic(), count)
    return int(count)


@api.route("/voicemails", "GET", summary="Voicemails with their transcriptions, newest first",
           tag="voicemails", query=s.VoicemailQuery, response=list[s.Voicemail])
def list_voicemails(query: s.VoicemailQuery) -> Any:
    items = _voicemails(query.box)
    if query.box is None:
        current_app.extensions[UNHEARD] = (time.monotonic(),
                                           sum(1 for v in items if v["heard"] is None))
    return [v for v in items if not query.unheard or v["heard"] is None]


@api.route("/voicemails/<vm_id>/heard", "POST", summary="Mark a voicemail heard",
           tag="voicemails", response=s.Voicemail, errors=(404,))
def mark_heard(vm_id: str) -> Any:
    """Idempotent: the first time it was marked is kept."""
    store = get_redis()
    if not voicemail.mark_heard(store, vm_id):
        raise ApiError(404, f"no voicemail {vm_id!r}")
    item = voicemail.get(store, vm_id) or {}
    item["heard"] = float(item["heard"])
    _unheard_count(fresh=True)
    return item


# --- flows -----------------------------------------------------------------------------


def _problem(p: Problem) -> dict[str, str]:
    return {"location": str(p.location), "message": p.message, "severity": p.severity}


def _summary(flow: Flow) -> dict[str, Any]:
    return {"name": flow.name, "file": flow.file, "numbers": list(flow.numbers),
            "channels": list(flow.channels), "start": flow.start, "steps": len(flow.steps)}


@api.route("/flows", "GET", summary="The call flows being served, and the checker's verdict",
           tag="flows", response=s.FlowsStatus)
def list_flows() -> Any:
    """`ok` is false when the last change on disk was refused; `problems` say why
    (FILE:LINE:COL), and the previous version keeps serving."""
    registry = get_flows()
    current = registry.current
    problems = registry.problems
    return {"version": current.version, "ok": not any(p.is_error for p in problems),
            "problems": [_problem(p) for p in problems],
            "flows": [_summary(f) for f in current.flows.values()]}


@api.route("/reload", "POST", summary="Check the call-flow folder and load it now",
           tag="flows", response=s.ReloadResult)
def reload_flows() -> Any:
    """A folder with any error is refused as a whole (`ok` false); the last good one serves."""
    registry = get_flows()
    ok = registry.reload()
    return {"ok": ok, "version": registry.current.version,
            "problems": [_problem(p) for p in registry.problems]}


_svg_cache: OrderedDict[tuple[str, str], str | None] = OrderedDict()
_svg_lock = threading.Lock()


def _svg(version: str, flow: Flow) -> str | None:
    """Graphviz drawing of a flow, drawn once per flow version (None without Graphviz)."""
    key = (version, flow.name)
    with _svg_lock:
        if key in _svg_cache:
            return _svg_cache[key]
    try:
        drawing: str | None = graph.svg(flow, timeout=5.0)
    except graph.GraphvizMissing:
        drawing = None
    except Exception as exc:  # a drawing is a nicety: the step table still answers
        log.warning("diagram of flow %s: %s", flow.name, exc)
        return None
    with _svg_lock:
        _svg_cache[key] = drawing
        while len(_svg_cache) > 64:
            _svg_cache.popitem(last=False)
    return drawing


@api.route("/flows/<name>", "GET", summary="One flow: steps with callers reached and dropped, "
           "and its diagram", tag="flows", response=s.FlowDetail, errors=(404,))
def get_flow(name: str) -> Any:
    """`reached` counts callers (once per call); `dropped` counts those who hung up there."""
    current = get_flows().current
    flow = current.flows.get(name)
    if flow is None:
        raise ApiError(404, f"no flow named {name!r}")
    counts = analytics.step_stats(get_redis(), name)
    steps = [{"name": st.name, "action": st.action, "line": st.location.line,
              "reached": counts.get(st.name, {}).get("reached", 0),
              "dropped": counts.get(st.name, {}).get("dropped", 0)}
             for st in flow.steps.values()]
    return {**_summary(flow), "version": current.version, "step_list": steps,
            "mermaid": graph.mermaid(flow), "svg": _svg(current.version, flow)}


# --- events ----------------------------------------------------------------------------


@api.route("/events", "GET", summary="The queue event log, oldest first", tag="events",
           query=s.EventsQuery, response=list[s.Event])
def list_events(query: s.EventsQuery) -> Any:
    """enter, offer, connect, miss, abandon, overflow, callback, complete and status changes;
    filter by queue and by time (`since`, epoch seconds)."""
    since_ms = int(query.since * 1000) if query.since is not None else None
    return router().events(queue=query.queue, since_ms=since_ms, count=query.count)


# --- the wallboard's poll --------------------------------------------------------------


@api.route("/wallboard", "GET", summary="Everything the wallboard shows, in one read",
           tag="wallboard", response=s.Wallboard)
def wallboard() -> Any:
    """Queues, agents, waiting callers, calls in progress, unheard voicemails and the
    last hour of callers waiting; the wallboard page polls it every 2 s."""
    from ivr.api.calls import help_requests

    store = get_redis()
    stats, agents, waiting = router().live_view()
    queues = _all_queues(stats)
    helped = help_requests(store)
    notes = {h["call"]: h["note"] for h in helped}
    for agent in agents:
        call = agent.get("call")
        if isinstance(call, dict) and call.get("id") in notes:
            call["help"] = notes[call["id"]]
    return {
        "now": time.time(),
        "version": get_flows().current.version,
        "queues": queues,
        "agents": agents,
        "waiting": waiting,
        "calls_in_progress": state_mod.count_active_calls(store),
        "unheard_voicemails": _unheard_count(),
        "history": waiting_history(store, [q["queue"] for q in queues]),
        "help": helped,
    }


from ivr.api import calls as _calls  # noqa: E402,F401  (registers /api/calls/{sid}...)
from ivr.api import chat as _chat  # noqa: E402,F401 - registers /chat/<room> (the desk)
from ivr.api import control as _control  # noqa: E402,F401 - registers the call controls
from ivr.api import conversations as _conversations  # noqa: E402,F401 - texts with agents
from ivr.api import monitor as _monitor  # noqa: E402,F401 - supervision, recording pause
from ivr.api import recordings as _recordings  # noqa: E402,F401 - registers /recordings
