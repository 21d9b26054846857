"""Who is acting on an `/api` request: the admin, or an agent's desk session.

The admin bearer token (or, without one, a local client: `ivr.api.auth`) may act
on every agent and call. A desk session (`/desk`) may use only the endpoints marked
`desk_allowed`, and only on its own agent and on the calls offered to, connected with
or wrapped up by that agent (anything else: 403); a supervisor's desk session
(`role: supervisor` in agents.yaml) may read and act on any call. The desk sets
`flask.g.desk_agent` for a request that carries a valid session cookie and passes
its CSRF check; this module only reads it, so the API knows nothing of cookies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g

from ivr.api.auth import admin_allowed
from ivr.api.spec import ApiError
from ivr.context import get_flows, get_router

F = TypeVar("F", bound=Callable[..., Any])

#: Endpoint names (Flask's `request.endpoint`) a desk session may call.
DESK_ENDPOINTS: set[str] = set()


def desk_allowed(view: F) -> F:
    """Mark an API view as usable by a desk session (put it under `@api.route`)."""
    DESK_ENDPOINTS.add(f"api.{view.__name__}")
    return view


@dataclass(frozen=True)
class Actor:
    agent: str | None  # None: the admin
    role: str = "agent"  # the desk agent's role in agents.yaml: agent or supervisor

    @property
    def admin(self) -> bool:
        return self.agent is None

    @property
    def supervisor(self) -> bool:
        return self.agent is not None and self.role == "supervisor"


def desk_agent() -> str | None:
    """The agent of this request's desk session (set by the desk), if any."""
    value = g.get("desk_agent")
    return value if isinstance(value, str) and value else None


def current_actor() -> Actor | None:
    if admin_allowed():
        return Actor(None)
    agent = desk_agent()
    return Actor(agent, role_of(agent)) if agent else None


def role_of(agent_id: str) -> str:
    """An agent's role in agents.yaml (agents added through the API are agents)."""
    config = get_flows().current.agents.get(agent_id)
    return config.role if config is not None else "agent"


def actor() -> Actor:
    """The actor of a request that the API's guard let in."""
    who = current_actor()
    if who is None:
        raise ApiError(401, "sign in at /desk or send the admin token")
    return who


def require_agent(agent_id: str) -> Actor:
    """The admin, or the desk session of `agent_id` itself (403 for anyone else)."""
    who = actor()
    if not who.admin and who.agent != agent_id:
        raise ApiError(403, "a desk session acts on its own agent only")
    return who


def require_call(call_sid: str) -> Actor:
    """The admin, a supervisor's desk session, or the agent this call is offered to,
    connected with or wrapped up by.

    404 for a call the router never queued (or has forgotten); 403 for another agent's call.
    """
    who = actor()
    router = get_router()
    caller = router.caller(call_sid)
    if caller is None:
        raise ApiError(404, f"no call {call_sid!r}")
    if who.admin or who.supervisor:
        return who
    agent = router.agent(who.agent or "")
    if caller.agent == who.agent or (agent is not None and agent.get("offer") == call_sid):
        return who
    raise ApiError(403, "this call is not offered to or connected with you")
