"""Who may use the admin API and the wallboard's data (product.md §1, `IVR_ADMIN_TOKEN`).

- Token set: `Authorization: Bearer <token>`, compared with `hmac.compare_digest`
  (constant time). The token is never logged: failures log the client address only.
- Token unset: only local clients get in (`ivr.access.local_client`: a loopback peer
  and no proxy header, since behind a reverse proxy on the same host every client
  would otherwise look like 127.0.0.1), and only when they address this machine by
  name (`Host`: loopback or the public URL's host), so that a web page whose DNS name
  is rebound to 127.0.0.1 cannot read or change anything through the user's browser.
  That check (`host_refusal`) answers 403, apart from the 401 of a missing token.
"""

from __future__ import annotations

import hmac
import logging

from flask import request

from ivr import access
from ivr.context import get_config

log = logging.getLogger("ivr.api")


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
