"""A canned-TwiML Flask app served on loopback, and a TwilioSim pointed at it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from ivr.sim.harness import RunningServer, serve_wsgi
from ivr.sim.twilio import TwilioSim

from .canned import ACCOUNT_SID, AUTH_TOKEN


@dataclass
class Hit:
    path: str
    method: str
    params: dict[str, str]
    signature_ok: bool


@dataclass
class Canned:
    """A Flask app whose routes the test writes; it checks every signature and logs every hit."""

    app: Flask
    server: RunningServer
    routes: dict[str, tuple[tuple[str, ...], Callable[[dict[str, str]], Any]]] = field(
        default_factory=dict
    )
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url

    def twiml(self, path: str, methods: tuple[str, ...] = ("POST",)) -> Callable[..., Any]:
        """Decorator: the function returns a TwiML string (or (body, status))."""

        def wrap(fn: Callable[[dict[str, str]], Any]) -> Callable[..., Any]:
            self.routes[path] = (methods, fn)  # served by the catch-all view below
            return fn

        return wrap

    def hits_to(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]


@pytest.fixture()
def canned() -> Iterator[Canned]:
    app = Flask("canned")
    validator = RequestValidator(AUTH_TOKEN)
    holder: dict[str, Canned] = {}

    @app.before_request
    def log_hit() -> None:
        params = request.form.to_dict() if request.method == "POST" else {}
        ok = validator.validate(request.url, params, request.headers.get("X-Twilio-Signature", ""))
        c = holder["c"]
        with c.lock:
            c.hits.append(Hit(request.path, request.method,
                              params or request.args.to_dict(), bool(ok)))

    @app.route("/<path:p>", methods=["GET", "POST"])
    def dispatch(p: str) -> Any:
        route = holder["c"].routes.get("/" + p)
        if route is None and p.endswith(".mp3") and not p.startswith("missing"):
            return Response(b"ID3", mimetype="audio/mpeg")  # hold music and prompts
        if route is None or request.method not in route[0]:
            return Response("not found", status=404)
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        result = route[1](params)
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            return Response(result[0], status=result[1], mimetype="text/xml")
        return Response(result, mimetype="text/xml")

    server = serve_wsgi(app)
    c = Canned(app=app, server=server)
    holder["c"] = c
    c.routes["/twilio/voice/status"] = (("POST",), lambda p: "")  # tests may override it
    yield c
    server.stop()
    bad = [h for h in c.hits if not h.signature_ok]
    assert not bad, f"requests whose X-Twilio-Signature did not verify: {bad}"


@pytest.fixture()
def sim(canned: Canned) -> Iterator[TwilioSim]:
    s = TwilioSim(canned.url, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, time_scale=0.002)
    s.start()
    yield s
    s.stop()
