"""The `http` step: a flow calls a web service (a CRM lookup) while the caller waits.

Rules that keep a caller safe and the webhook inside Twilio's 15 s budget:
- only hosts named in the flow's `http_hosts` (checked again here, because the
  URL is a template and may render to another host than the checker saw);
- redirects are not followed (a redirect could leave the allowlist);
- one attempt, timeout = the step's `timeout`, at most 5 s (connect + read);
- the answer must be JSON when `into` wants it; anything else — timeout,
  connection error, HTTP status >= 400, bad JSON, a host not allowed — is the
  step's `error` way out, never an exception.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

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


_session = requests.Session()


class _TooLarge(Exception):
    pass


def _read_before(response: requests.Response, deadline: float, limit: float) -> bytes:
    """The body, read in chunks against one deadline for the whole exchange.

    requests' read timeout applies to each socket read, so a server dripping
    one byte a second could hold the caller far past it; we bound the total.
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


def host_allowed(url: str, allowed: list[str]) -> bool:
    """Exact host match (case-insensitive); the scheme must be http or https."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    return any(host == str(entry).lower() for entry in allowed)


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
    if not host_allowed(url, allowed_hosts):
        return HttpResult(False, error=f"host of {url!r} is not in the flow's http_hosts")
    limit = min(float(timeout or DEFAULT_TIMEOUT), MAX_TIMEOUT)
    deadline = time.monotonic() + limit
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
            if response.status_code >= 300:
                return HttpResult(False, status=response.status_code,
                                  error=f"HTTP {response.status_code}")
            body = _read_before(response, deadline, limit)
    except requests.Timeout:
        return HttpResult(False, error=f"timed out after {limit:g}s")
    except requests.RequestException as exc:
        return HttpResult(False, error=f"request failed: {type(exc).__name__}")
    except _TooLarge:
        return HttpResult(False, status=response.status_code, error="answer too large")
    if not want_json:
        return HttpResult(True, status=response.status_code)
    if not body.strip():
        return HttpResult(True, data=None, status=response.status_code)
    try:
        data = json.loads(body)  # detects UTF-8/16/32 as RFC 8259 says
    except (ValueError, LookupError):
        return HttpResult(False, status=response.status_code, error="answer is not JSON")
    return HttpResult(True, data=data, status=response.status_code)
