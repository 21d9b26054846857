"""How many Redis round trips a webhook costs, counted at the client's socket.

A first webhook (a new call) is computed first and committed with its answer
in one script call; a continuation claims its delivery and reads the call's
state in one call, then commits: two. A duplicate costs one and changes nothing.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.connection
from flask import Flask
from twilio.request_validator import RequestValidator

from ivr import keys
from ivr.app import create_app

TOKEN = "round-trip-token"
BASE = "http://localhost"
BENCH_FLOWS = Path(__file__).resolve().parents[2] / "bench" / "callflows"


class Sent:
    """Every packed send to Redis (one per round trip: a pipeline is one), first word kept,
    from this thread only: the app's timer threads (router timers, the reports' fold) talk
    to Redis too, at moments of their own, and are not the webhook's round trips."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[str] = []
        real = redis.connection.AbstractConnection.send_packed_command
        mine = threading.get_ident()

        def spy(conn: Any, command: Any, check_health: bool = True) -> None:
            if threading.get_ident() == mine:
                first = command[0] if isinstance(command, list) else command
                self.commands.append(bytes(first).split(b"\r\n")[2].decode())
            real(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)

    def take(self) -> list[str]:
        out, self.commands = self.commands, []
        return out


@pytest.fixture()
def app(redis_url: str, r: redis.Redis) -> Iterator[Flask]:
    flask_app = create_app({"redis_url": redis_url, "callflows": BENCH_FLOWS,
                            "twilio_auth_token": TOKEN, "twilio_account_sid": "AC" + "1" * 32,
                            "twilio_api_url": "http://127.0.0.1:9", "public_url": BASE,
                            "reload_interval": 3600})
    yield flask_app
    for name in ("ivr.router", "ivr.flows"):  # their timer threads
        flask_app.extensions[name].stop()


def post(app: Flask, path: str, params: dict[str, str]) -> str:
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    resp = app.test_client().post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 200, resp.text
    return resp.text


def new_call() -> dict[str, str]:
    return {"CallSid": "CA" + uuid.uuid4().hex, "From": "+15005550100", "To": "+15005550006",
            "AccountSid": "AC" + "1" * 32, "CallStatus": "ringing"}


def gather_action(twiml: str) -> str:
    match = re.search(r'<Gather[^>]*action="([^"]+)"', twiml)
    assert match, twiml
    return match.group(1).replace("&amp;", "&").removeprefix(BASE)


def test_first_webhook_one_round_trip_gather_two_duplicate_one(
        app: Flask, r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    post(app, "/twilio/voice", new_call())  # warm: phone book, roster version
    sent = Sent(monkeypatch)

    def counted(path: str, params: dict[str, str]) -> tuple[str, list[str]]:
        sent.take()  # drop this test's own reads
        text = post(app, path, params)
        return text, sent.take()

    call = new_call()
    first, trips = counted("/twilio/voice", call)
    assert trips == ["EVALSHA"]  # claim + state + counters + answer, one script
    assert r.hget(keys.call(call["CallSid"]), "step") == "main_menu"
    assert r.zscore(keys.calls_active(), call["CallSid"]) is not None

    again, trips = counted("/twilio/voice", call)  # Twilio retried the first webhook
    assert trips == ["EVALSHA"]
    assert again == first

    action = gather_action(first)
    pressed = {**call, "Digits": "2", "CallStatus": "in-progress"}
    answer, trips = counted(action, pressed)
    assert trips == ["EVALSHA", "EVALSHA"]  # claim and read; commit
    assert "account number" in answer
    assert r.hget(keys.call(call["CallSid"]), "step") == "account"

    again, trips = counted(action, pressed)  # a duplicate Gather action
    assert (again, trips) == (answer, ["EVALSHA"])
    # A late duplicate of the first webhook must not take the call back to the menu.
    again, trips = counted("/twilio/voice", call)
    assert (again, trips) == (first, ["EVALSHA"])
    assert r.hget(keys.call(call["CallSid"]), "step") == "account"
    stats = r.hgetall(keys.step_stats("main"))
    assert stats["account:reached"] == "1"  # counted once for the call, not per delivery


def test_concurrent_first_deliveries_commit_once(app: Flask, r: redis.Redis) -> None:
    call = new_call()
    answers: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        text = post(app, "/twilio/voice", call)
        with lock:
            answers.append(text)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8 and len(set(answers)) == 1
    assert r.hget(keys.step_stats("main"), "welcome:reached") == "1"
    assert r.hget(keys.call(call["CallSid"]), "seq") == "1"
