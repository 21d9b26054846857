"""Who a request comes from, and whether a browser sent it on someone else's behalf.

One set of rules for every place that trusts "this machine" instead of a secret:
Twilio webhooks in dev mode (no `TWILIO_AUTH_TOKEN`), and the admin API and the
wallboard with no `IVR_ADMIN_TOKEN`.

- **Local client**: the peer address is loopback *and* no proxy header is present.
  Behind a reverse proxy or a tunnel on the same host (cloudflared, ngrok, nginx)
  every client looks like 127.0.0.1, so any `X-Forwarded-For`, `X-Real-IP` or
  `Forwarded` header means "not local", whatever it says.
- **Local host name**: the `Host` header names loopback (`localhost`, `127.x.x.x`,
  `::1`) or the host of `IVR_PUBLIC_URL`. A page on `rebind.attacker.example`
  whose DNS answer flips to 127.0.0.1 reaches us from a loopback peer, but with
  its own name in `Host` (DNS rebinding).
- **Cross-site**: a browser says where a request comes from (`Sec-Fetch-Site`,
  `Origin`); any answer but "this origin" (or "typed by the user") is another
  site's page making the user's browser post to us (CSRF).

Nothing here touches Redis: every check is a few header reads.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from flask import request

PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
LOOPBACK_NAMES = frozenset({"localhost"})
# Sec-Fetch-Site values a browser sends for our own pages or a URL the user typed.
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
# host[:port] as RFC 9110 allows it in Host: a name or IPv4, or [IPv6]; nothing else.
_HOST = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::[0-9]{1,5})?")


def is_loopback(address: str | None) -> bool:
    """True for a loopback IP address (127.0.0.0/8, ::1); False for names and junk."""
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def proxied() -> bool:
    """The request names a client other than its peer: a proxy or tunnel relayed it."""
    return any(request.headers.get(name) is not None for name in PROXY_HEADERS)


def local_client() -> bool:
    """The peer is this machine and nothing says it relays someone else."""
    return is_loopback(request.remote_addr) and not proxied()


def _hostname(netloc: str) -> str | None:
    """The host of a `host[:port]` (IPv6 in brackets), lower case; None when malformed
    (userinfo, a path, spaces: never what a browser sends in `Host`)."""
    match = _HOST.fullmatch(netloc.strip())
    if match is None:
        return None
    return (match["ip6"] or match["name"]).lower().rstrip(".")


def public_host(public_url: str | None) -> str | None:
    return _hostname(urlsplit(public_url).netloc) if public_url else None


def local_host_name(public_url: str | None) -> bool:
    """`Host` names loopback or the configured public host (DNS rebinding check)."""
    host = _hostname(request.host)
    if host is None:
        return False
    return host in LOOPBACK_NAMES or is_loopback(host) or host == public_host(public_url)


def cross_site(public_url: str | None) -> bool:
    """A browser says this request comes from another site's page.

    `Sec-Fetch-Site` (every current browser) must be `same-origin` or `none`;
    `Origin`, when present, must name this server (the `Host` it was sent to, or
    the public URL's host). Twilio and command-line clients send neither.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_ORIGIN_FETCH:
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return True  # "null" (sandboxed frames, file: pages) and anything odd
    ours = {request.host.lower()}
    if public_url:
        ours.add(urlsplit(public_url).netloc.lower())
    return parts.netloc.lower() not in ours
