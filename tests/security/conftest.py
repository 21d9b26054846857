"""The real app (`create_app` on the demo call flows) on the real Redis of the `r` fixture.

Each security test drives it through Flask's test client the way an attacker would,
and checks what changed in Redis (`changes`), so "nothing written" is a real check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from twilio.request_validator import RequestValidator

DEMO = Path(__file__).resolve().parents[2] / "callflows"
TWILIO_TOKEN = "security-test-twilio-token"
SERVICE = "+15005550006"
ALICE = "+15005550101"
TEXTER = "+14155550100"
ACCOUNT_SID = "AC" + "6" * 32


@pytest.fixture()
def make_app(redis_url: str, r: redis.Redis) -> Iterator[Callable[..., Flask]]:
    from ivr.app import create_app

    built: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings: dict[str, Any] = {"redis_url": redis_url, "background": False,
                                    "callflows": DEMO, "recordings": DEMO.parent / "recordings"}
        settings.update(config)
        app = create_app(settings)
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["ivr.redis"].close()


def snapshot(r: redis.Redis) -> dict[str, Any]:
    """Every key with its value (dumped), to compare before and after a request."""
    return {key: r.dump(key) for key in r.scan_iter(count=1000)}


def sign(url: str, params: Any, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)
