"""The http step against a real web service on loopback: success, timeout, HTTP error, bad JSON."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request

from ivr.flows.actions_http import call_http, host_allowed
from ivr.sim.harness import RunningServer, serve_wsgi

from .conftest import CALLER, VoiceApp


class Crm:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.server: RunningServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port


@pytest.fixture()
def crm() -> Iterator[Crm]:
    app = Flask("crm")
    state = Crm()

    @app.route("/lookup", methods=["GET", "POST"])
    def lookup() -> Any:
        state.seen.append({"method": request.method, "json": request.get_json(silent=True),
                           "auth": request.headers.get("Authorization"),
                           "args": request.args.to_dict()})
        return jsonify({"name": "Jane", "vip": True, "balance": 12.5})

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(3)
        return jsonify({"late": True})

    @app.get("/broken")
    def broken() -> Any:
        return jsonify({"error": "boom"}), 500

    @app.get("/html")
    def html() -> Response:
        return Response("<html>not json</html>", mimetype="text/html")

    @app.get("/elsewhere")
    def elsewhere() -> Response:
        return Response("", status=302, headers={"Location": "http://example.com/"})

    state.server = serve_wsgi(app)
    yield state
    state.server.stop()


def flow(port: int, path: str, extra: str = "") -> str:
    return f"""
numbers: ["*"]
http_hosts: [127.0.0.1]
on_error: {{say: "Sorry, trouble."}}
start: lookup
steps:
  lookup:
    http: "http://127.0.0.1:{port}{path}"
    into: crm
    timeout: 1
{extra}    next: known
    error: unknown
  known:
    hangup: "Hello {{{{ vars.crm.name }}}}, VIP {{{{ vars.crm.vip }}}}, \\
      balance {{{{ vars.crm.balance }}}}."
  unknown:
    hangup: "We could not find your account."
"""


def test_http_success_fills_vars(voice_app: Callable[..., VoiceApp], crm: Crm) -> None:
    extra = """    method: POST
    json: {caller: "{{ caller.number }}", source: ivr}
    headers: {Authorization: "Bearer {{ call.sid }}"}
"""
    va = voice_app({"main.yaml": flow(crm.port, "/lookup", extra)})
    phone = va.phone()
    phone.call()
    assert phone.said() == "Hello Jane, VIP True, balance 12.5."
    assert crm.seen == [{"method": "POST", "json": {"caller": CALLER, "source": "ivr"},
                         "auth": f"Bearer {phone.sid}", "args": {}}]


def test_http_url_template_and_get(voice_app: Callable[..., VoiceApp], crm: Crm) -> None:
    va = voice_app({"main.yaml": flow(crm.port, "/lookup?from={{ caller.number | urlencode }}")})
    phone = va.phone()
    phone.call()
    assert phone.said().startswith("Hello Jane")
    assert crm.seen[0]["method"] == "GET" and crm.seen[0]["args"] == {"from": CALLER}


@pytest.mark.parametrize("path", ["/slow", "/broken", "/html", "/elsewhere", "/missing"])
def test_http_failures_take_the_error_way(voice_app: Callable[..., VoiceApp], crm: Crm,
                                          path: str) -> None:
    va = voice_app({"main.yaml": flow(crm.port, path)})
    phone = va.phone()
    started = time.monotonic()
    phone.call()
    assert time.monotonic() - started < 2.5  # timeout: 1 s, not the service's 3 s
    assert phone.said() == "We could not find your account."


def test_http_failure_without_error_way_hears_on_error(voice_app: Callable[..., VoiceApp],
                                                       crm: Crm) -> None:
    text = flow(crm.port, "/broken").replace("    error: unknown\n", "")
    text = text.replace("  unknown:\n    hangup: \"We could not find your account.\"\n", "")
    va = voice_app({"main.yaml": text})
    phone = va.phone()
    phone.call()
    assert phone.said() == "Sorry, trouble."


def test_host_allowlist_is_checked_at_run_time(crm: Crm) -> None:
    url = f"http://127.0.0.1:{crm.port}/lookup"
    result = call_http(url, allowed_hosts=["crm.example.com"])
    assert not result.ok and "http_hosts" in result.error
    assert crm.seen == []
    assert call_http(url, allowed_hosts=["127.0.0.1"]).data["name"] == "Jane"
    assert not host_allowed("file:///etc/passwd", ["127.0.0.1"])
    assert not host_allowed("http://127.0.0.1.evil.com/", ["127.0.0.1"])
    assert host_allowed("https://CRM.example.com/x", ["crm.example.com"])


def test_timeout_is_capped_at_five_seconds(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    import ivr.flows.actions_http as mod

    def fake_request(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["timeout"])
        raise mod.requests.Timeout()

    monkeypatch.setattr(mod._session, "request", fake_request)
    result = call_http("http://127.0.0.1/x", allowed_hosts=["127.0.0.1"], timeout=60)
    assert not result.ok and seen == [(5.0, 5.0)]
