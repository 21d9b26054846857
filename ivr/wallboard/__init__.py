"""The live wallboard (`/wallboard`): one server-rendered page and a little vanilla JavaScript.

The page itself is a shell with no live data in it, so it is served to anyone; everything
it shows comes from the admin API (`/api/wallboard` and friends) with the bearer token,
which the page asks for once and keeps in the browser's localStorage. It polls every
2 s with fetch (EventSource cannot send an Authorization header, and a token in a URL
would end up in access logs). A kiosk screen may open `/wallboard#token=...`: the
fragment never reaches the server, and the page removes it from the address bar.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, make_response, render_template, request

from ivr.api.auth import host_refusal

log = logging.getLogger("ivr.wallboard")

bp = Blueprint("wallboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/wallboard/static")

POLL_SECONDS = 2.0
SLOW_POLL_SECONDS = 5.0  # flows and voicemails: several requests, change less often


@bp.before_request
def _guard() -> Response | None:
    """Without a token, the page (and its scripts) only for this machine's own names."""
    wrong_host = host_refusal()
    if wrong_host is None:
        return None
    log.warning("wallboard: refused %s from %s: Host %r", request.path, request.remote_addr,
                request.host)
    return Response(f"Forbidden: {wrong_host}\n", status=403, mimetype="text/plain")


@bp.get("/wallboard")
def page() -> Response:
    # ?tv=1: the wall-screen mode, the live parts only, laid out to fit one 1920x1080 screen
    tv = request.args.get("tv", "").lower() in ("1", "true", "yes", "on")
    response = make_response(render_template(
        "wallboard.html", poll_ms=int(POLL_SECONDS * 1000),
        slow_poll_ms=int(SLOW_POLL_SECONDS * 1000), tv=tv))
    # The shell is tiny; never cache it, so an upgrade's new JS is picked up at once.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


__all__ = ["bp"]
