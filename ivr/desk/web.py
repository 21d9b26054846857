"""The desk's pages: `/desk`, sign-in by texted link or by PIN, sign-out, and the session
hook that the JSON API relies on.

Sessions: cookie `ivr_desk` (HttpOnly, SameSite=Strict, Path=/, Secure when
IVR_PUBLIC_URL is https), 12 hours or until sign-out (ivr/desk/sessions.py). For every
request under /desk and /api that carries it, `_load_session` reads the session and
checks that its agent is still on the roster (an agent removed from agents.yaml or by
the API loses every session at once); then it sets `g.desk_agent` for the API
(ivr/api/actor.py). A state-changing request (POST, PUT, PATCH, DELETE) must also carry
the session's CSRF token in the `X-CSRF-Token` header (the page has it, rendered by the
server; forms send it as the field `csrf`); without it the API answers 403.

Sign-in forms: the texted link's page (GET shows a button, and its script presses it,
so that a phone's link preview, which fetches the page, does not spend the link; POST
spends it), and the PIN form, which carries a form token that must equal a SameSite=Strict
cookie set with the form (double submit). Both refuse a browser that says the request
comes from another site (Origin, Sec-Fetch-Site).

Refusals of a texted link: a link that was never issued (forged, mistyped, or older
than a day) 403; a link already used, or older than 10 minutes, 410 Gone. Request
logs show at most the first six characters of a link's token.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from ivr import access
from ivr.api.auth import STATE_CHANGING, admin_allowed
from ivr.context import get_config, get_flows, get_redis, get_router
from ivr.desk import sessions
from ivr.desk.sessions import Session

log = logging.getLogger("ivr.desk")

bp = Blueprint("desk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/desk/static")

COOKIE = "ivr_desk"
FORM_COOKIE = "ivr_desk_form"
CSRF_HEADER = "X-CSRF-Token"
POLL_MS = 1000
LOGIN_PATH = "/desk/login/"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_LOGIN_IN_LOG = re.compile(r"(/desk/login/)([A-Za-z0-9_-]{0,6})[A-Za-z0-9_%-]*")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def _log_path(path: str) -> str:
    """A path as logs may show it (a sign-in link's token cut short)."""
    return _LOGIN_IN_LOG.sub(r"\1\2…", path)


def _desk_path(path: str) -> bool:
    return path == "/desk" or path.startswith("/desk/")


def _secure() -> bool:
    return (get_config().public_url or "").lower().startswith("https://")


# --- the session hook ------------------------------------------------------------------


@bp.before_app_request
def _load_session() -> Response | None:
    """Cookie -> `g.desk_session`; and `g.desk_agent` when the CSRF check passes too."""
    path = request.path
    if not (_desk_path(path) or path.startswith("/api/")):
        return None
    sid = request.cookies.get(COOKIE)
    if not sid or path.startswith("/desk/static/"):
        return None
    try:
        session = sessions.load_session(get_redis(), sid)
        if session is not None and get_router().agent(session.agent) is None:
            log.info("desk: agent %s is no longer on the roster: session closed", session.agent)
            sessions.close_session(get_redis(), session)
            session = None
    except redis.RedisError as exc:
        log.error("desk: session not read (Redis): %s", exc)
        return None
    if session is None:
        return None
    g.desk_session = session
    if request.method in STATE_CHANGING:
        given = request.headers.get(CSRF_HEADER)
        if given is None and _desk_path(path):
            given = request.form.get("csrf")
        if not session.csrf_matches(given):
            if path.startswith(LOGIN_PATH) or path == "/desk/signin":
                return None  # signing in again from a signed-in browser: no session needed
            log.warning("desk: %s %s for agent %s without the session's CSRF token",
                        request.method, _log_path(path), session.agent)
            if path.startswith("/api/") and not admin_allowed():
                response = jsonify(error=f"missing or wrong {CSRF_HEADER} header "
                                         "(reload /desk)")
                response.status_code = 403
                return response
            return None
    g.desk_agent = session.agent
    return None


# --- pages -----------------------------------------------------------------------------


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes Origin "null"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _signin_form(error: str | None = None, status: int = 200, agent_id: str = "") -> Response:
    form_token = secrets.token_urlsafe(24)
    response = _page("signin.html", status, error=error, form_token=form_token,
                     agent_id=agent_id)
    response.set_cookie(FORM_COOKIE, form_token, max_age=3600, httponly=True,
                        samesite="Strict", secure=_secure(), path="/desk")
    return response


def _refusal(status: int, title: str, text: str) -> Response:
    return _page("refused.html", status, title=title, text=text)


def _desk_context(agent_id: str, session: Session) -> dict[str, Any]:
    router = get_router()
    current = get_flows().current
    me = router.agent(agent_id) or {}
    config = current.agents.get(agent_id)
    role = getattr(config, "role", "agent") or "agent"
    skills = dict(me.get("skills") or {})
    queues = sorted(name for name, q in current.queues.items()
                    if role == "supervisor" or all(s in skills for s in q.skills))
    agents = [{"id": a["id"], "name": a["name"]} for a in router.agents()]
    return {
        "me": {"id": agent_id, "name": me.get("name") or agent_id, "role": role},
        "csrf": session.csrf,
        "breaks": list(getattr(current, "breaks", []) or []),
        "queues": queues,
        "all_queues": sorted(current.queues),
        "agents": agents,
        "poll_ms": POLL_MS,
    }


@bp.get("/desk")
def page() -> Response:
    agent_id = g.get("desk_agent")
    session = g.get("desk_session")
    if agent_id is None or session is None:
        return _signin_form()
    return _page("desk.html", **_desk_context(agent_id, session))


def _start_session(agent_id: str, how: str) -> BaseResponse:
    previous = g.get("desk_session")
    if previous is not None:  # signing in again in the same browser replaces its session
        sessions.close_session(get_redis(), previous)
    sid, _ = sessions.open_session(get_redis(), agent_id)
    log.info("desk: agent %s signed in (%s)", agent_id, how)
    response = redirect(url_for("desk.page"), code=303)
    response.set_cookie(COOKIE, sid, max_age=sessions.SESSION_SECONDS, httponly=True,
                        samesite="Strict", secure=_secure(), path="/")
    response.delete_cookie(FORM_COOKIE, path="/desk")
    response.headers["Cache-Control"] = "no-store"
    return response


def _cross_site() -> Response | None:
    if access.cross_site(get_config().public_url):
        log.warning("desk: cross-site %s %s refused", request.method, _log_path(request.path))
        return _refusal(403, "Refused", "This form must be sent from the desk's own page.")
    return None


@bp.post("/desk/signin")
def signin() -> BaseResponse:
    refused = _cross_site()
    if refused is not None:
        return refused
    form_token = request.form.get("form_token", "")
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not form_token or not secrets.compare_digest(form_token.encode(), cookie.encode()):
        return _signin_form("The form expired. Please try again.", 403)
    agent_id = request.form.get("agent", "").strip()
    pin = request.form.get("pin", "").strip()
    router = get_router()
    listed = router.agent(agent_id) if agent_id else None  # also reads agents.yaml in
    config = router.agent_config(agent_id) if listed is not None else None
    if config is None or not config.pin:
        # Unknown agents and agents without a PIN (they sign in by texting DESK) look alike.
        log.info("desk: PIN sign-in refused for unknown or PIN-less agent")
        return _signin_form("Wrong agent id or PIN.", 401, agent_id)
    verdict = router.check_pin(agent_id, pin)
    if verdict == "locked":
        log.warning("desk: PIN sign-in locked for agent %s", agent_id)
        return _signin_form("Too many wrong PINs: sign-in is locked for 15 minutes. "
                            "Text DESK from your phone instead.", 429, agent_id)
    if verdict != "ok":
        log.info("desk: wrong PIN for agent %s", agent_id)
        return _signin_form("Wrong agent id or PIN.", 401, agent_id)
    return _start_session(agent_id, "PIN")


@bp.post("/desk/signout")
def signout() -> BaseResponse:
    session = g.get("desk_session")
    if session is not None and g.get("desk_agent") is None:
        return _refusal(403, "Refused", "Sign out from the desk's own page.")
    if session is not None:
        sessions.close_session(get_redis(), session)
        log.info("desk: agent %s signed out", session.agent)
    response = redirect(url_for("desk.page"), code=303)
    response.delete_cookie(COOKIE, path="/", secure=_secure(), httponly=True, samesite="Strict")
    return response


def _link_refusal(verdict: str, token: str) -> Response:
    log.info("desk: sign-in link %s refused: %s", sessions.prefix(token), verdict)
    if verdict in ("used", "expired"):
        return _refusal(410, "This sign-in link has expired",
                        "Each link works once, within 10 minutes. Text DESK to the service "
                        "number from your phone for a new one.")
    return _refusal(403, "This is not a valid sign-in link",
                    "Text DESK to the service number from your phone for a sign-in link.")


@bp.get("/desk/login/<token>")
def login_link(token: str) -> Response:
    if not _TOKEN.fullmatch(token):
        return _link_refusal("unknown", token)
    verdict, agent_id = sessions.peek_link(get_redis(), token)
    if verdict != "ok" or agent_id is None:
        return _link_refusal(verdict, token)
    agent = get_router().agent(agent_id)
    if agent is None:
        return _link_refusal("unknown", token)
    return _page("link.html", name=agent["name"], action=LOGIN_PATH + token)


@bp.post("/desk/login/<token>")
def login_link_spend(token: str) -> BaseResponse:
    refused = _cross_site()
    if refused is not None:
        return refused
    if not _TOKEN.fullmatch(token):
        return _link_refusal("unknown", token)
    verdict, agent_id = sessions.spend_link(get_redis(), token)
    if verdict != "ok" or agent_id is None or get_router().agent(agent_id) is None:
        return _link_refusal(verdict if verdict != "ok" else "unknown", token)
    log.info("desk: sign-in link %s spent", sessions.prefix(token))
    return _start_session(agent_id, "texted link")


# --- texted links (ivr/webhooks/agent_line.py) -------------------------------------------


def sms_link(agent_id: str) -> str:
    """The text that answers DESK: a new one-time sign-in link."""
    router = get_router()
    token = sessions.issue_link(get_redis(), agent_id)
    log.info("desk: sign-in link %s texted to agent %s", sessions.prefix(token), agent_id)
    return (f"Your desk sign-in link (works once, for 10 minutes): "
            f"{router.url(LOGIN_PATH + token)}")


# --- logs ------------------------------------------------------------------------------


class RedactLoginLinks(logging.Filter):
    """Request logs (werkzeug's, gunicorn's access log) show a link's token cut short."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the logger's business
            return True
        if LOGIN_PATH in message:
            record.msg = _LOGIN_IN_LOG.sub(r"\1\2…", message)
            record.args = None
        return True


_REDACTOR = RedactLoginLinks()


def install(app: Flask) -> None:
    """Register the blueprint and the log filter (create_app calls this)."""
    app.register_blueprint(bp)
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


__all__ = ["bp", "install", "sms_link"]
