"""Supervision and recording over JSON (docs/routing.md, "Supervision" and "Recording
calls"): a supervisor listens, whispers or barges from their own phone; the agent or the
API pauses and resumes a call's recording.

Monitoring: only the admin token or a supervisor's desk session (an agent's session:
403; a supervisor's session joins its own supervisor only). The named supervisor must be
an agent with `role: supervisor` (422). Recording: like the call controls
(`require_call`: the agent of the call, a supervisor, the admin). 404 unknown call, 409
when the call is not connected (or nothing is recording / monitoring it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ivr.api.actor import Actor, actor, desk_allowed, require_call
from ivr.api.routes import api, router
from ivr.api.schemas import Open, Strict
from ivr.api.spec import ApiError
from ivr.context import get_flows
from ivr.routing.router import ControlRefused, NotRecording, NotSupervisor, UnknownCall

TAG = "supervision"


class MonitorBody(Strict):
    supervisor: Annotated[str, Field(min_length=1, max_length=80,
                                     description="the agent id of a supervisor")]
    mode: Literal["listen", "whisper", "barge"]


class MonitorDone(Open):
    sid: str
    supervisor: str
    mode: Literal["listen", "whisper", "barge"]
    result: Literal["started", "changed"]


class MonitorEnded(Open):
    sid: str
    result: Literal["ended"] = "ended"


class Supervisor(Open):
    id: str
    name: str


class LiveCall(Open):
    call: str = Field(description="the caller's CallSid")
    agent: str
    name: str
    queue: str | None = None
    from_: str | None = Field(None, alias="from", description="the caller's number")
    talk: float | None = Field(None, description="seconds since connected")
    monitor: dict[str, str] | None = Field(None, description="{supervisor, mode} on it now")


class RecordingBody(Strict):
    paused: bool


class RecordingDone(Open):
    sid: str
    paused: bool
    result: Literal["ok"] = "ok"


def _supervising(sid: str) -> Actor:
    """The admin or a supervisor's desk session (404 unknown call, 403 anyone else)."""
    who = require_call(sid)
    if not (who.admin or who.supervisor):
        raise ApiError(403, "only a supervisor may monitor calls")
    return who


@api.route("/calls/<sid>/monitor", "POST", summary="Listen, whisper or barge into a call",
           tag=TAG, body=MonitorBody, response=MonitorDone, errors=(403, 404, 409))
@desk_allowed
def monitor_call(sid: str, body: MonitorBody) -> Any:
    """Calls the supervisor's phone into the call's conference: `listen` (muted, hears
    both), `whisper` (only the agent hears them), `barge` (all three talk). While their leg
    lives, another POST changes the mode of the same leg (no new call)."""
    who = _supervising(sid)
    if who.supervisor and who.agent != body.supervisor:
        raise ApiError(403, "a desk session monitors as its own supervisor only")
    try:
        result = router().start_monitor(sid, body.supervisor, body.mode)
    except NotSupervisor as exc:
        raise ApiError(422, str(exc)) from exc
    except UnknownCall as exc:
        raise ApiError(404, f"no call {sid!r}") from exc
    except ControlRefused as exc:
        raise ApiError(409, str(exc) or "the call is not connected") from exc
    return {"sid": sid, "supervisor": body.supervisor, "mode": body.mode, "result": result}


@api.route("/calls/<sid>/monitor", "DELETE", summary="End a supervisor's monitoring",
           tag=TAG, response=MonitorEnded, errors=(403, 404, 409))
@desk_allowed
def end_monitor(sid: str) -> Any:
    """The supervisor's call is hung up; the caller and the agent go on."""
    _supervising(sid)
    if not router().stop_monitor(sid):
        raise ApiError(409, "nobody is monitoring this call")
    return {"sid": sid, "result": "ended"}


@api.route("/calls/<sid>/recording", "POST", summary="Pause or resume a call's recording",
           tag=TAG, body=RecordingBody, response=RecordingDone, errors=(403, 404, 409))
@desk_allowed
def pause_recording(sid: str, body: RecordingBody) -> Any:
    """`{"paused": true}` while a card number is read out; `false` records again. The
    paused span is left out of the recording."""
    require_call(sid)
    try:
        router().pause_recording(sid, body.paused)
    except NotRecording as exc:
        raise ApiError(409, "nothing is recording this call") from exc
    return {"sid": sid, "paused": body.paused, "result": "ok"}


@api.route("/supervisors", "GET", summary="The supervisors (role: supervisor)", tag=TAG,
           response=list[Supervisor])
@desk_allowed
def list_supervisors() -> Any:
    """Who may listen, whisper and barge: the wallboard's and the desk's picker."""
    agents = get_flows().current.agents
    return [{"id": a.id, "name": a.name} for a in agents.values() if a.role == "supervisor"]


@api.route("/supervision/calls", "GET", summary="Agent calls in progress, to monitor",
           tag=TAG, response=list[LiveCall], errors=(403,))
@desk_allowed
def live_calls() -> Any:
    """The calls agents are on now, with who monitors each: a supervisor's desk lists
    them (the admin token, or a supervisor's desk session; an agent's session: 403)."""
    who = actor()
    if not (who.admin or who.supervisor):
        raise ApiError(403, "only a supervisor may list the calls to monitor")
    _stats, agents, _waiting = router().live_view()
    out: list[dict[str, Any]] = []
    for a in agents:
        call = a.get("call")
        if a.get("state") != "on-call" or not isinstance(call, dict) or not call.get("id"):
            continue
        mon = router().monitor.current(str(call["id"]))
        out.append({"call": call["id"], "agent": a["id"], "name": a.get("name") or a["id"],
                    "queue": call.get("queue"), "from": call.get("from"),
                    "talk": call.get("talk"),
                    "monitor": {"supervisor": mon["sup"], "mode": mon["mode"]} if mon else None})
    return out
