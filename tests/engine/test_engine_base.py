"""What the voice and the text engine share (ivr/flows/engine_base.py), driven without any
web layer: plain mappings in, the caller's pipeline for the final writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from ivr import keys
from ivr.config import Config
from ivr.flows.engine import VoiceEngine
from ivr.flows.engine_base import FINAL_STATUSES, caller_from, is_final
from ivr.flows.registry import FlowRegistry
from ivr.flows.texting import TextEngine
from ivr.twilio_client import make_twilio_client

from .conftest import CALLER, MAIN_NUMBER, DeskRouter, RestCapture, VoiceApp, load_flows

VOICE = """
numbers: ["*"]
channels: [voice]
steps:
  hello:
    say: "Hello {{ caller.number }} {{ caller.name }}."
    next: menu
  menu:
    menu: "Press 1."
    options: {1: bye}
  bye:
    hangup: "Bye."
"""

TEXT = """
numbers: ["*"]
channels: [sms]
steps:
  menu:
    menu: "Reply 1 or 2."
    options: {1: one, 2: two}
  one:
    hangup: "One."
  two:
    hangup: "Two."
"""


def test_caller_from_is_one_rule_for_calls_and_texts() -> None:
    call = {"From": "+14155550100", "CallerName": "JANE DOE", "FromCity": "SAN FRANCISCO",
            "FromCountry": "US", "FromZip": ""}
    assert caller_from(call) == {"number": "+14155550100", "name": "JANE DOE",
                                 "city": "SAN FRANCISCO", "country": "US"}
    text = {"From": "whatsapp:+14155550100", "ProfileName": "Jane", "FromState": "CA"}
    assert caller_from(text) == {"number": "+14155550100", "name": "Jane", "state": "CA"}
    assert caller_from({}) == {"number": ""}


def test_a_whatsapp_call_gets_the_bare_number_and_profile_name(
        voice_app: Callable[..., VoiceApp]) -> None:
    """The two copies had drifted: on a call, caller.number kept `whatsapp:` and a
    WhatsApp profile name was lost; now a call and a text see the same caller."""
    va = voice_app({"main.yaml": VOICE})
    phone = va.phone(from_="whatsapp:+14155550100", ProfileName="Jane")
    phone.call()
    assert phone.said() == "Hello +14155550100 Jane. | Press 1."


def test_final_statuses() -> None:
    assert FINAL_STATUSES == ("completed", "busy", "failed", "no-answer", "canceled")
    assert is_final({"CallStatus": "no-answer"}) and not is_final({"CallStatus": "ringing"})
    assert not is_final({})


@pytest.fixture()
def engines(redis_url: str, r: redis.Redis, callflows_dir: Path,
            rest: RestCapture) -> Iterator[Callable[[dict[str, str]], tuple[Any, Any]]]:
    made: list[FlowRegistry] = []

    def build(files: dict[str, str]) -> tuple[VoiceEngine, TextEngine]:
        load_flows(callflows_dir, files)
        cfg = Config(redis_url=redis_url, callflows=callflows_dir, background=False,
                     twilio_api_url=rest.url)
        flows = FlowRegistry(callflows_dir, interval=0.05)
        made.append(flows)
        twilio = make_twilio_client(cfg)
        router = DeskRouter()
        return (VoiceEngine(r, flows, twilio, router, cfg),
                TextEngine(r, flows, twilio, router, cfg))  # type: ignore[arg-type]

    yield build
    for flows in made:
        flows.stop()


def test_final_writes_go_on_the_pipeline_the_web_layer_passes(
        engines: Callable[[dict[str, str]], tuple[VoiceEngine, TextEngine]],
        r: redis.Redis) -> None:
    voice, _ = engines({"main.yaml": VOICE})
    params = {"CallSid": "CA1", "From": CALLER, "To": MAIN_NUMBER}  # a plain mapping
    pipe = r.pipeline(transaction=False)
    voice.incoming(params, writes=pipe)
    assert not r.exists(keys.call("CA1"))  # queued, not written: the caller executes it
    assert len(pipe) > 0
    pipe.execute()
    assert r.hget(keys.call("CA1"), "step") == "menu"
    assert r.zscore(keys.calls_active(), "CA1") is not None
    voice.incoming({**params, "CallSid": "CA2"})  # no pipeline: the engine writes itself
    assert r.hget(keys.call("CA2"), "step") == "menu"


def test_both_engines_log_a_conversation_moving_to_the_current_version(
        engines: Callable[[dict[str, str]], tuple[VoiceEngine, TextEngine]],
        r: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    voice, text = engines({"main.yaml": VOICE, "text.yaml": TEXT})
    voice.incoming({"CallSid": "CA1", "From": CALLER, "To": MAIN_NUMBER})
    r.hset(keys.call("CA1"), "version", "forgotten")
    text.incoming({"From": CALLER, "To": MAIN_NUMBER, "Body": "hi"})
    r.hset(keys.conversation(CALLER, MAIN_NUMBER), "version", "forgotten")
    current = voice.flows.current.version
    with caplog.at_level(logging.INFO, logger="ivr.flows.engine"):
        voice.resume({"CallSid": "CA1", "kind": "menu", "at": "menu", "seq": "1",
                      "Digits": "1"})
        reply = text.incoming({"From": CALLER, "To": MAIN_NUMBER, "Body": "2"})
    assert str(reply).count("Two.") == 1
    assert f"voice in main.menu moves from version forgotten to {current}" in caplog.text
    assert f"sms in text.menu moves from version forgotten to {current}" in caplog.text


class RoundTrips:
    """Counts what goes to Redis: each packed send is one round trip (a pipeline is one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import redis.connection

        self.count = 0
        real = redis.connection.AbstractConnection.send_packed_command

        import threading

        mine = threading.get_ident()  # background threads (timers) are not the webhook's

        def counted(conn: Any, command: Any, check_health: bool = True) -> None:
            if threading.get_ident() == mine:
                self.count += 1
            real(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def test_the_engine_adds_no_round_trip_to_the_webhooks_pipeline(
        engines: Callable[[dict[str, str]], tuple[VoiceEngine, TextEngine]],
        r: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new call costs the engine no round trip of its own and a resumed call one (the
    state read): every write rides on the web layer's pipeline."""
    voice, _ = engines({"main.yaml": VOICE})
    voice.incoming({"CallSid": "CA0", "From": CALLER, "To": MAIN_NUMBER})  # scripts loaded
    trips = RoundTrips(monkeypatch)
    pipe = r.pipeline(transaction=False)
    voice.incoming({"CallSid": "CA1", "From": CALLER, "To": MAIN_NUMBER}, writes=pipe)
    assert trips.count == 0
    pipe.execute()
    assert trips.count == 1
    pipe = r.pipeline(transaction=False)
    voice.resume({"CallSid": "CA1", "kind": "menu", "at": "menu", "seq": "1", "Digits": "1"},
                 writes=pipe)
    assert trips.count == 2  # HGETALL of the call's state
    pipe.execute()
    assert r.hget(keys.call("CA1"), "ended") == "hangup"
