"""Who may use the admin API and the wallboard's data (`IVR_ADMIN_TOKEN`).

- Token set: `Authorization: Bearer <token>`, compared with `hmac.compare_digest`
  (constant time). The token is never logged: failures log the client address only.
- Token unset: only local clients get in (`ivr.access.local_client`: a loopback peer
  and no proxy header, since behind a reverse proxy on the same host every client
  would otherwise look like 127.0.0.1), and only when they address this machine by
  name (`Host`: loopback or the public URL's host), so that a web page whose DNS name
  is rebound to 127.0.0.1 cannot read or change anything through the user's browser.
  That check (`host_refusal`) answers 403, apart from the 401 of a missing token.
  Changes also refuse what another site's page could make the browser send
  (`csrf_refusal`): a cross-site `Origin` or `Sec-Fetch-Site` (403), and any POST
  that is not `Content-Type: application/json` (415), since a form or a "simple"
  fetch can POST text/plain or form data without the browser asking us first.
  With a token set, the token is the defence: a browser never adds it by itself.
"""

from __future__ import annotations

import hmac
import logging

from flask import request

from ivr import access
from ivr.context import get_config

log = logging.getLogger("ivr.api")

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def admin_allowed() -> bool:
    """True when this request may read and change the admin data."""
    token = get_config().admin_token
    if token:
        given = bearer_token()
        if given is None:
            return False
        # Bytes, so that non-ASCII input cannot raise inside compare_digest.
        return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))
    return access.local_client()


def refusal_reason() -> str:
    """What a refused client is told (never echoes what they sent)."""
    if get_config().admin_token:
        return "missing or wrong admin token: send 'Authorization: Bearer <IVR_ADMIN_TOKEN>'"
    return "IVR_ADMIN_TOKEN is not set: the admin API answers loopback clients only"


def host_refusal() -> str | None:
    """Why a request without a token is addressed to the wrong name (None: it is not).

    With a token set the bearer token is the only rule: any Host may be used.
    """
    config = get_config()
    if config.admin_token or access.local_host_name(config.public_url):
        return None
    return ("IVR_ADMIN_TOKEN is not set: address this server as localhost or 127.0.0.1 "
            "(or IVR_PUBLIC_URL's host); Host names another site")


def csrf_refusal() -> tuple[int, str] | None:
    """(status, why) when a change without a token could come from another site's page."""
    config = get_config()
    if config.admin_token or request.method not in STATE_CHANGING:
        return None
    if access.cross_site(config.public_url):
        return 403, "cross-site request refused (Origin or Sec-Fetch-Site names another site)"
    if request.method == "POST" and request.mimetype != "application/json":
        return 415, ("IVR_ADMIN_TOKEN is not set: every POST must send "
                     "Content-Type: application/json, even without a body")
    return None
