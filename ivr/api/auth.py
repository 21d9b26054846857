"""Who may use the admin API and the wallboard's data (product.md §1, `IVR_ADMIN_TOKEN`).

- Token set: `Authorization: Bearer <token>`, compared with `hmac.compare_digest`
  (constant time). The token is never logged: failures log the client address only.
- Token unset: only loopback clients get in, and only when no proxy header says the
  request came from elsewhere (behind a reverse proxy on the same host every client
  would otherwise look like 127.0.0.1).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import request

from ivr.context import get_config

log = logging.getLogger("ivr.api")

PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


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
    if any(request.headers.get(h) for h in PROXY_HEADERS):
        return False
    return _is_loopback(request.remote_addr)


def refusal_reason() -> str:
    """What a refused client is told (never echoes what they sent)."""
    if get_config().admin_token:
        return "missing or wrong admin token: send 'Authorization: Bearer <IVR_ADMIN_TOKEN>'"
    return "IVR_ADMIN_TOKEN is not set: the admin API answers loopback clients only"
