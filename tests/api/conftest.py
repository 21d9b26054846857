"""An app with the admin API on the real Redis of the `r` fixture, and a small call-flow folder.

The folder has no http step (tests send traffic to loopback only) and one agent per
skill, so that tests can put a caller in a queue without anybody's phone ringing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

TOKEN = "wallboard-test-token"
SERVICE = "+15005550006"

MAIN = f"""
numbers: ["{SERVICE}", "*"]
start: welcome
steps:
  welcome:
    say: "Thanks for calling."
    next: menu
  menu:
    menu: "For sales press 1. To leave a message press 9."
    options: {{1: sales, 9: voicemail}}
    fallback: goodbye
  sales:
    queue: sales
    overflow: voicemail
  voicemail:
    record: "Leave a message after the tone."
    transcribe: true
    next: goodbye
  goodbye:
    hangup: "Goodbye."
"""

QUEUES = """
sales:
  skills: [sales]
  ring_timeout: 5
  max_wait: 600
  wrap_up: 0
  service_level: 20
support:
  skills: [support]
"""

AGENTS = """
alice:
  name: Alice Jones
  phone: "+15005550101"
  skills: {sales: 5}
  pin: "4321"
bob:
  name: Bob Smith
  phone: "+15005550102"
  skills: {support: 4}
  pin: "1234"
"""


def write_folder(folder: Path) -> Path:
    (folder / "main.yaml").write_text(MAIN)
    (folder / "queues.yaml").write_text(QUEUES)
    (folder / "agents.yaml").write_text(AGENTS)
    return folder


def wire(app: Flask) -> Flask:
    """Register the API, metrics and wallboard blueprints unless create_app has."""
    import ivr.api
    import ivr.api.metrics
    import ivr.wallboard

    if "api" not in app.blueprints:
        app.register_blueprint(ivr.api.bp)
    if "wallboard" not in app.blueprints:
        app.register_blueprint(ivr.wallboard.bp)
    ivr.api.metrics.install(app)
    return app


@pytest.fixture()
def make_app(redis_url: str, r: redis.Redis, callflows_dir: Path) -> Iterator[Callable[..., Flask]]:
    from ivr.app import create_app

    write_folder(callflows_dir)
    built: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings: dict[str, Any] = {
            "redis_url": redis_url, "background": False, "callflows": callflows_dir,
            "recordings": callflows_dir.parent / "recordings", "admin_token": TOKEN,
        }
        settings.update(config)
        app = wire(create_app(settings))
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["ivr.redis"].close()


@pytest.fixture()
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture()
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
