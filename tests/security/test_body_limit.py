"""Any webhook body over 64 KB is answered 413 (TwiML), whether its length is announced
(Content-Length) or not (chunked): never cut at 64 KB and handled as if complete."""

from __future__ import annotations

import http.client
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask

from ivr.app import MAX_WEBHOOK_BYTES
from ivr.sim.harness import serve_wsgi
from tests.security.conftest import SERVICE, TEXTER, snapshot

SMS = {"MessageSid": "SM" + "4" * 32, "From": TEXTER, "To": SERVICE, "Body": "hello"}


def form_of_size(size: int, **params: str) -> bytes:
    """A valid form body of exactly `size` bytes (padded with a `Pad` parameter)."""
    head = urlencode({**SMS, **params}) + "&Pad="
    return (head + "x" * (size - len(head))).encode()


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


@pytest.fixture()
def app(make_app) -> Flask:
    return make_app(twilio_auth_token=None)


def _chunked(app: Flask, body: bytes):
    # What a WSGI server that handles chunked requests passes on (gunicorn, werkzeug).
    return app.test_client().post(
        "/twilio/sms", input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked",
                 "Content-Type": "application/x-www-form-urlencoded"},
        environ_overrides={"wsgi.input_terminated": True})


def test_chunked_body_over_the_limit_is_413(app: Flask, r: redis.Redis) -> None:
    before = snapshot(r)
    resp = _chunked(app, form_of_size(200 * 1024))
    assert resp.status_code == 413
    assert ET.fromstring(resp.data).tag == "Response"
    assert snapshot(r) == before


@pytest.mark.parametrize("size", [1024, MAX_WEBHOOK_BYTES])
def test_chunked_body_up_to_the_limit_is_handled(app: Flask, size: int) -> None:
    resp = _chunked(app, form_of_size(size))
    assert resp.status_code == 200
    assert ET.fromstring(resp.data).find("Message") is not None


def test_just_over_the_limit_is_413_either_way(app: Flask) -> None:
    body = form_of_size(MAX_WEBHOOK_BYTES + 1)
    assert _chunked(app, body).status_code == 413
    resp = app.test_client().post("/twilio/sms", data=body,
                                  content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413


def test_chunked_over_real_http(app: Flask, r: redis.Redis) -> None:
    server = serve_wsgi(app, quiet=True)
    try:
        before = snapshot(r)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/twilio/sms", body=chunks(form_of_size(200 * 1024)),
                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                     encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 413
        assert ET.fromstring(resp.read()).tag == "Response"
        conn.close()
        assert snapshot(r) == before
    finally:
        server.stop()
