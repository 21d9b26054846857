"""The http step under attack: allowlist bypasses, dripping servers, control characters.

Real sockets on loopback: a listener that records every connection and byte
(so "no request arrived" is observed, not assumed), and a server that drips
its answer one byte at a time.
"""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response

from ivr.flows import actions_http
from ivr.flows.actions_http import call_http, url_problem
from ivr.sim.harness import serve_wsgi

from .conftest import VoiceApp

ALLOWED = "crm.acme-bikes.example"


@dataclass
class Listener:
    """A TCP server on loopback that answers nothing and remembers what reached it."""

    sock: socket.socket
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(0.3)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
            except OSError:
                pass
            finally:
                conn.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    lst = Listener(sock)
    thread = threading.Thread(target=lst.serve, daemon=True)
    thread.start()
    yield lst
    lst.stop.set()
    thread.join(2)
    sock.close()


def settle() -> None:
    time.sleep(0.25)  # anything sent has reached the listener by now


# --- 1. SSRF past the allowlist ------------------------------------------------------------


def test_backslash_userinfo_url_never_reaches_loopback(listener: Listener) -> None:
    """The audit's reproduction: urlsplit read the allowed name, urllib3 sent to 127.0.0.1."""
    url = f"http://127.0.0.1:{listener.port}\\@{ALLOWED}/../api/agents/mole"
    result = call_http(url, allowed_hosts=[ALLOWED], method="PUT",
                       json_body={"name": "Mole", "phone": "+15005550199"})
    settle()
    assert not result.ok
    assert listener.connections == 0 and bytes(listener.received) == b""


@pytest.mark.parametrize("template", [
    "http://127.0.0.1:{port}\\@crm.acme-bikes.example/x",
    "http://crm.acme-bikes.example@127.0.0.1:{port}/x",
    "http://crm.acme-bikes.example:x@127.0.0.1:{port}/x",
    "http://127.0.0.1:{port}#@crm.acme-bikes.example/x",
    "http://127.0.0.1:{port}?@crm.acme-bikes.example/x",
    "http://127.0.0.1:{port}\\\\crm.acme-bikes.example/x",
    "http://crm.acme-bikes.example%2F@127.0.0.1:{port}/x",
    "http://127.0.0.1%2F@crm.acme-bikes.example:{port}/x",
    "http://127.0.0.1:{port}\t@crm.acme-bikes.example/x",
    "http://[::ffff:127.0.0.1]:{port}/x",
    "http:\\\\127.0.0.1:{port}/x",
    "http://127.1:{port}/x",
    "http://2130706433:{port}/x",
])
def test_allowlist_bypasses_are_refused(listener: Listener, template: str) -> None:
    url = template.format(port=listener.port)
    assert url_problem(url, [ALLOWED]) is not None
    result = call_http(url, allowed_hosts=[ALLOWED], method="PUT", json_body={"a": 1})
    settle()
    assert not result.ok
    assert listener.connections == 0 and bytes(listener.received) == b""


def test_an_allowed_name_pointing_at_loopback_is_refused(
        listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS of an allowed name says 127.0.0.1: refused after connecting, before a byte is sent."""
    real = socket.getaddrinfo

    def fake_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == ALLOWED else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    url = f"http://{ALLOWED}:{listener.port}/api/agents/mole"
    result = call_http(url, allowed_hosts=[ALLOWED], method="PUT", json_body={"a": 1})
    settle()
    assert not result.ok and "127.0.0.1" in result.error and "loopback" in result.error
    assert bytes(listener.received) == b""
    # naming the address itself in http_hosts allows it
    result = call_http(url, allowed_hosts=[ALLOWED, "127.0.0.1"], method="PUT",
                       json_body={"a": 1}, timeout=0.5)
    settle()
    assert listener.received.startswith(b"PUT /api/agents/mole HTTP/1.1\r\n")


def test_private_and_link_local_addresses_need_naming() -> None:
    call = actions_http._Call(host=ALLOWED, explicit=frozenset(), loopback_named=False)
    for address in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "169.254.169.254",
                    "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "100.64.0.1"):
        assert call.address_problem(address) is not None, address
    assert call.address_problem("93.184.216.34") is None
    assert call.address_problem("2606:2800:220:1:248:1893:25c8:1946") is None
    named = actions_http._Call(host=ALLOWED,
                               explicit=actions_http._explicit_addresses(["10.1.2.3", "[::1]"]),
                               loopback_named=False)
    assert named.address_problem("10.1.2.3") is None and named.address_problem("::1") is None
    assert named.address_problem("10.1.2.4") is not None
    local = actions_http._Call(host="localhost", explicit=frozenset(), loopback_named=True)
    assert local.address_problem("127.0.0.1") is None
    assert local.address_problem("10.0.0.1") is not None


def test_url_problem_messages() -> None:
    hosts = ["crm.example.com", "127.0.0.1", "[::1]"]
    assert url_problem("https://crm.example.com/lookup?from=+1555 0100#x", hosts) is None
    assert url_problem("HTTPS://CRM.example.com:8443/x", hosts) is None
    assert url_problem("http://127.0.0.1:8000/x", hosts) is None
    assert url_problem("http://[::1]:8000/x", hosts) is None
    assert url_problem("ftp://crm.example.com/x", hosts) == \
        "'ftp://crm.example.com/x' is not an http(s) URL"
    assert url_problem("https://other.example.com/x", hosts) == \
        "host 'other.example.com' is not in this flow's http_hosts"
    assert url_problem("https://crm.example.com.evil.com/", hosts) == \
        "host 'crm.example.com.evil.com' is not in this flow's http_hosts"
    assert "user@" in (url_problem("https://me@crm.example.com/", hosts) or "")
    assert "'\\'" in (url_problem("https://crm.example.com\\@x/", hosts) or "")
    assert url_problem("https://crm.example.com:99999/", hosts) is not None
    assert url_problem("https:///x", hosts) is not None


def test_redirects_are_not_followed(listener: Listener) -> None:
    app = Flask("redirector")

    @app.get("/go")
    def go() -> Response:
        return Response("", status=302,
                        headers={"Location": f"http://127.0.0.1:{listener.port}/inside"})

    server = serve_wsgi(app, quiet=True)
    try:
        result = call_http(f"http://127.0.0.1:{server.port}/go",
                           allowed_hosts=["127.0.0.1"], timeout=1)
    finally:
        server.stop()
    settle()
    assert not result.ok and result.status == 302
    assert listener.connections == 0


def test_the_reproduction_through_a_call(voice_app: Callable[..., VoiceApp],
                                         listener: Listener) -> None:
    """The flow of the audit, loaded without the checker: the call is answered, 127.0.0.1 is not."""
    flow = f"""
numbers: ["*"]
http_hosts: [{ALLOWED}]
on_error: {{say: "Sorry, trouble."}}
steps:
  mole:
    http: 'http://127.0.0.1:{listener.port}\\@{ALLOWED}/../api/agents/mole'
    method: PUT
    json: {{name: Mole, phone: "+15005550199", skills: {{sales: 5}}}}
    next: done
    error: failed
  done:
    hangup: "Done."
  failed:
    hangup: "Could not."
"""
    va = voice_app({"main.yaml": flow}, check=False)
    phone = va.phone()
    phone.call()
    settle()
    assert listener.connections == 0 and bytes(listener.received) == b""
    assert phone.said() != "Done."


# --- 4. the timeout is a deadline ----------------------------------------------------------


@dataclass
class Dripper:
    """Answers every request one byte at a time: the headers, or a long body."""

    sock: socket.socket
    mode: str
    interval: float
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        body = b'{"name": "' + b"x" * 200 + b'"}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        started = time.monotonic()
        try:
            conn.settimeout(1)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            if self.mode == "body":
                conn.sendall(head)
            drip = head + body if self.mode == "headers" else body
            for byte in drip:
                # bounded: on a server without a deadline the test fails in ~7 s, not minutes
                if self.stop.is_set() or time.monotonic() - started > 7:
                    break
                conn.sendall(bytes([byte]))
                time.sleep(self.interval)
        except OSError:
            pass
        finally:
            conn.close()


@pytest.fixture()
def dripper(request: pytest.FixtureRequest) -> Iterator[Dripper]:
    mode, interval = request.param
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    d = Dripper(sock, mode, interval)
    thread = threading.Thread(target=d.serve, daemon=True)
    thread.start()
    yield d
    d.stop.set()
    thread.join(2)
    sock.close()


@pytest.mark.parametrize(("dripper", "timeout"), [
    (("headers", 0.5), 1.0), (("body", 0.5), 1.0), (("body", 1.8), 2.0),
], indirect=["dripper"], ids=["headers-0.5s", "body-0.5s", "body-1.8s"])
def test_a_dripping_server_is_cut_off_at_the_deadline(dripper: Dripper, timeout: float) -> None:
    started = time.monotonic()
    result = call_http(f"http://127.0.0.1:{dripper.port}/lookup", allowed_hosts=["127.0.0.1"],
                       timeout=timeout)
    elapsed = time.monotonic() - started
    assert not result.ok and result.error == f"timed out after {timeout:g}s"
    assert elapsed < timeout + 0.4


# --- 8. control characters never break TwiML ------------------------------------------------


def test_a_caller_name_with_control_characters_gives_well_formed_twiml(
        voice_app: Callable[..., VoiceApp]) -> None:
    flow = 'numbers: ["*"]\nsteps:\n  hello:\n    hangup: "Hello {{ caller.name }}."\n'
    va = voice_app({"main.yaml": flow})
    phone = va.phone(CallerName="Bob\x01\x1b\x7f")
    phone.call()  # parses the TwiML as XML
    ET.fromstring(phone.history[-1])
    assert phone.said() == "Hello Bob\x7f."


def test_an_http_answer_with_control_characters_gives_well_formed_twiml(
        voice_app: Callable[..., VoiceApp]) -> None:
    app = Flask("crm")

    @app.get("/lookup")
    def lookup() -> Response:
        return Response('{"name": "Ann\\u000bMarie\\u0000"}', mimetype="application/json")

    server = serve_wsgi(app, quiet=True)
    try:
        flow = f"""
numbers: ["*"]
http_hosts: [127.0.0.1]
steps:
  lookup:
    http: "http://127.0.0.1:{server.port}/lookup"
    into: crm
    timeout: 2
    next: hello
    error: sorry
  hello:
    hangup: "Hello {{{{ vars.crm.name }}}}."
  sorry:
    hangup: "No luck."
"""
        va = voice_app({"main.yaml": flow})
        phone = va.phone()
        phone.call()
    finally:
        server.stop()
    ET.fromstring(phone.history[-1])
    assert phone.said() == "Hello AnnMarie."


# --- "also seen": arithmetic in a template -----------------------------------------------


@pytest.mark.timeout(20)
def test_a_huge_power_of_the_callers_input_ends_quickly(
        voice_app: Callable[..., VoiceApp]) -> None:
    flow = """
numbers: ["*"]
on_error: {say: "Sorry, trouble."}
steps:
  ask:
    gather: "Your number?"
    into: n
    max_digits: 4
    next: power
  power:
    hangup: "{{ (input|int) ** 999999999 }}"
"""
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    started = time.monotonic()
    phone.press("7")
    assert time.monotonic() - started < 2
    ET.fromstring(phone.history[-1])
    assert phone.said() == "Sorry, trouble."
