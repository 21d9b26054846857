"""The base URL a webhook reached us at, as `request.host_url` gives it (without its cost)."""

from __future__ import annotations

import pytest
from flask import Flask, request

from ivr.webhooks.common import _request_base


@pytest.mark.parametrize("host", [
    "127.0.0.1:8000", "ivr.example.com", "IVR.Example.COM", "[::1]:5000", "localhost",
    "xn--bcher-kva.example", "example.com:443", "a%41.example", "[FE80::1]:80", "",
])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_request_base_is_host_url_without_slash(host: str, scheme: str) -> None:
    app = Flask(__name__)
    environ = {"HTTP_HOST": host, "wsgi.url_scheme": scheme}
    with app.test_request_context("/twilio/voice", environ_overrides=environ):
        assert _request_base() == request.host_url.rstrip("/")
