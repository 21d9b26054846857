"""A new call's delivery is claimed late (computed first, committed with its answer in one
script call), so a first turn with an effect outside its final writes must claim before
that effect: a retried first webhook then queues the caller once and texts them once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from ivr import keys
from tests.engine.conftest import MAIN_NUMBER, RestCapture, VoiceApp

QUEUES = """
sales:
  skills: [sales]
  max_wait: 300
"""
AGENTS = """
alice:
  name: Alice Jones
  phone: "+15005550101"
  skills: {sales: 5}
"""
STRAIGHT_TO_QUEUE = f"""
numbers: ["{MAIN_NUMBER}", "*"]
start: hello
steps:
  hello:
    message: "Thanks for calling: we will be with you shortly."
    next: sales
  sales:
    queue: sales
    overflow: bye
  bye:
    hangup: "Goodbye."
"""


def test_retried_first_webhook_queues_and_texts_once(
        voice_app: Callable[..., VoiceApp], rest: RestCapture, r: redis.Redis) -> None:
    va = voice_app({"main.yaml": STRAIGHT_TO_QUEUE, "queues.yaml": QUEUES,
                    "agents.yaml": AGENTS})
    phone = va.phone()
    first = phone.call()
    retried = phone.call()  # Twilio did not get the first answer and tries again
    assert phone.history[0] == phone.history[1]
    assert first.find("Enqueue") is not None and retried.find("Enqueue") is not None
    assert len(va.router.enqueued) == 1
    assert len(rest.messages) == 1
    assert r.hget(keys.call(phone.sid), "seq") == "1"


def test_new_call_without_effects_claims_nothing_before_its_commit(
        voice_app: Callable[..., VoiceApp], r: redis.Redis, monkeypatch: Any) -> None:
    """The commit is the claim: no SET NX goes out before the script for a plain menu."""
    va = voice_app({"main.yaml": f"""
numbers: ["{MAIN_NUMBER}", "*"]
start: menu
steps:
  menu:
    menu: "Press 1."
    options: {{1: bye}}
    fallback: bye
  bye:
    hangup: "Goodbye."
"""})
    import redis.connection

    sent: list[bytes] = []
    real = redis.connection.AbstractConnection.send_packed_command

    import threading

    mine = threading.get_ident()  # background threads (timers) are not the webhook's

    def spy(conn: Any, command: Any, check_health: bool = True) -> None:
        if threading.get_ident() == mine:
            first = command[0] if isinstance(command, list) else command
            sent.append(bytes(first).split(b"\r\n")[2])
        real(conn, command, check_health)

    va.phone(sid="CA" + "9" * 32).call()  # warm
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    va.phone().call()
    assert sent == [b"EVALSHA"]
