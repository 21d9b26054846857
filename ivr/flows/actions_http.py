"""The `http` step: a flow calls a web service (a CRM lookup) while the caller waits.

Rules that keep a caller safe and the webhook inside Twilio's 15 s budget:
- only hosts named in the flow's `http_hosts`. `url_problem` decides, at run
  time on the rendered URL (the URL is a template and may render to another
  host than the checker saw) and in the checker: the URL must be http(s) with
  a plain authority (a host name or IP, an optional port: no `user@`, no `\\`,
  nothing outside RFC 3986), and the host that urllib3 (which sends the
  request) reads from it must be the same and allowed. Parsers that disagree
  on where the host ends were how a flow reached 127.0.0.1 through
  `http://127.0.0.1:8731\\@crm.example/`;
- the address actually connected to is checked too, on every request: a
  loopback, private, link-local or otherwise non-public address is refused
  unless the flow names that address itself in `http_hosts` (`127.0.0.1`,
  `10.1.2.3`, or `localhost` for loopback), so an allowed name whose DNS
  points inside the network does not open it;
- the request goes straight to the host: proxies and .netrc credentials from
  the environment are not used (the checks above are about where it goes);
- redirects are not followed (a redirect could leave the allowlist);
- one attempt, and one deadline for all of it: connecting, the answer's
  headers and its body together take at most the step's `timeout` (at most
  5 s). A server that drips a byte at a time is cut off at the deadline (its
  socket is shut down), not when it has finished;
- the answer must be JSON when `into` wants it; anything else — timeout,
  connection error, HTTP status >= 300, bad JSON, a host not allowed — is the
  step's `error` way out, never an exception.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

log = logging.getLogger("ivr.flows.http")

MAX_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 3.0
MAX_BODY = 256 * 1024  # bytes of answer we accept into a call's variables


@dataclass
class HttpResult:
    ok: bool
    data: Any = None  # the decoded JSON answer (or the text when it is not JSON and not needed)
    status: int | None = None
    error: str = ""  # why it failed, for the log and `vars.<into>_error`


# --- which URLs a flow may call -------------------------------------------------------------

_SCHEME = re.compile(r"(?i)(https?)://")
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::([0-9]{1,5}))?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bare(host: str) -> str:
    """A host as compared: lower case, IPv6 without brackets."""
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def url_problem(url: str, allowed_hosts: Sequence[str]) -> str | None:
    """Why a flow may not call this URL, or None when it may.

    The same rule serves the checker (on the URL as written, when its host
    is plain text) and the run time (on the rendered URL, before connecting).
    """
    if not isinstance(url, str):
        return f"'{url}' is not an http(s) URL"
    if _CONTROL.search(url) or "\\" in url:
        return f"{url!r} has a control character or a '\\': write a plain http(s) URL"
    m = _SCHEME.match(url)
    if not m:
        return f"'{url}' is not an http(s) URL"
    rest = url[m.end():]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not authority:
        return f"'{url}' is not an http(s) URL"
    parts = _AUTHORITY.match(authority)
    if not parts or (parts.group(2) is not None and not 0 < int(parts.group(2)) < 65536):
        return (f"the host of '{url}' must be a plain host name or IP address with an "
                f"optional :port (no user@, no characters outside RFC 3986)")
    host = _bare(parts.group(1))
    try:  # the parser that will send the request must read the same host and port
        sent = parse_url(url)
    except LocationParseError:
        return f"'{url}' is not an http(s) URL"
    port = int(parts.group(2)) if parts.group(2) else None
    if sent.host is None or _bare(sent.host) != host or sent.port != port:
        return f"the host of '{url}' is ambiguous: write a plain http(s) URL"
    if not any(host == _bare(str(entry)) for entry in allowed_hosts):
        return f"host '{host}' is not in this flow's http_hosts"
    return None


def host_allowed(url: str, allowed: Sequence[str]) -> bool:
    """The URL is http(s) and its host is allowed (see `url_problem`)."""
    return url_problem(url, allowed) is None


# --- where a request actually connects, and its deadline ---------------------------------------


class _Refused(Exception):
    """The connection reached an address the flow did not allow."""


@dataclass
class _Call:
    """One http step's request: what it may connect to, and its deadline."""

    host: str
    explicit: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]
    loopback_named: bool
    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def address_problem(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{self.host} connected to an unknown address {address}"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_global or ip in self.explicit or (ip.is_loopback and self.loopback_named):
            return None
        kind = ("loopback" if ip.is_loopback else "link-local" if ip.is_link_local
                else "private" if ip.is_private else "non-public")
        return (f"{self.host} is at {ip}, a {kind} address: name {ip} in the flow's "
                f"http_hosts to allow it")

    def watch(self, sock: socket.socket) -> None:
        """Check the peer of a (new or reused) connection; shut it down at the deadline."""
        try:
            peer = sock.getpeername()[0]
        except OSError as exc:
            raise _Refused(f"{self.host}: no peer address ({exc})") from None
        problem = self.address_problem(str(peer))
        if problem:
            raise _Refused(problem)
        with self.lock:
            if self.expired:
                _shut(sock)
            self.sockets.append(sock)

    def expire(self) -> None:
        """The deadline: shut every socket of this request down, whatever it is waiting for."""
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the plain socket's, also under TLS: recv wakes up
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("ivr_http_call",
                                                                        default=None)


def _watch(sock: socket.socket | None) -> None:
    call = _current.get()
    if call is None:
        raise _Refused("outbound http outside an http step")
    if sock is not None:
        call.watch(sock)


class _GuardedConnection(HTTPConnection):
    """Checks the address of every new socket before a byte is sent, and again on reuse."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            _watch(sock)
        except _Refused:
            sock.close()
            raise
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept-alive connection: checked for this call too
            _watch(self.sock)
        super().request(*args, **kwargs)


class _GuardedTLSConnection(_GuardedConnection, HTTPSConnection):
    """The same checks under TLS (the address is checked before the handshake)."""


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedTLSConnection


class _GuardedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedPool,
                                                   "https": _GuardedTLSPool}


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc credentials from the environment
    session.mount("http://", _GuardedAdapter())
    session.mount("https://", _GuardedAdapter())
    return session


_session = _new_session()


class _TooLarge(Exception):
    pass


def _read_before(response: requests.Response, deadline: float, limit: float) -> bytes:
    """The body, read in chunks against one deadline for the whole exchange.

    requests' read timeout applies to each socket read, so a server dripping
    one byte a second could hold the caller far past it; the deadline's timer
    shuts the socket down, and we also check it between chunks.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        if time.monotonic() > deadline:
            raise requests.Timeout(f"answer not complete within {limit:g}s")
    return b"".join(chunks)


def _explicit_addresses(allowed: Sequence[str]) -> frozenset[Any]:
    out = set()
    for entry in allowed:
        try:
            out.add(ipaddress.ip_address(_bare(str(entry))))
        except ValueError:
            continue
    return frozenset(out)


def call_http(
    url: str,
    *,
    allowed_hosts: list[str],
    method: str = "GET",
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    want_json: bool = True,
) -> HttpResult:
    """One request to an allowed host; the outcome as an `HttpResult`."""
    problem = url_problem(url, allowed_hosts)
    if problem:
        return HttpResult(False, error=problem)
    limit = min(float(timeout or DEFAULT_TIMEOUT), MAX_TIMEOUT)
    deadline = time.monotonic() + limit
    call = _Call(host=_bare(parse_url(url).host or ""),
                 explicit=_explicit_addresses(allowed_hosts),
                 loopback_named=any(_bare(str(e)) == "localhost" for e in allowed_hosts))
    token = _current.set(call)
    timer = threading.Timer(limit, call.expire)
    timer.daemon = True
    timer.start()
    status: int | None = None
    try:
        response = _session.request(
            method.upper(),
            url,
            json=json_body,
            headers=headers or None,
            timeout=(limit, limit),
            allow_redirects=False,
            stream=True,
        )
        with response:
            status = response.status_code
            if status >= 300:
                return HttpResult(False, status=status, error=f"HTTP {status}")
            body = _read_before(response, deadline, limit)
    except _Refused as exc:
        return HttpResult(False, error=str(exc))
    except _TooLarge:
        return HttpResult(False, status=status, error="answer too large")
    except requests.RequestException as exc:
        if call.expired or isinstance(exc, requests.Timeout):
            return HttpResult(False, error=f"timed out after {limit:g}s")
        return HttpResult(False, error=f"request failed: {type(exc).__name__}")
    finally:
        timer.cancel()
        _current.reset(token)
    if call.expired:  # finished just as the deadline struck: the answer may be cut
        return HttpResult(False, error=f"timed out after {limit:g}s")
    if not want_json:
        return HttpResult(True, status=status)
    if not body.strip():
        return HttpResult(True, data=None, status=status)
    try:
        data = json.loads(body)  # detects UTF-8/16/32 as RFC 8259 says
    except (ValueError, LookupError):
        return HttpResult(False, status=status, error="answer is not JSON")
    return HttpResult(True, data=data, status=status)
