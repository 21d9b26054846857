"""What a waiting caller hears: hold music (the queue's, or one documented default) and the
announcements in the voice and language of the caller's flow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.flows.model import Flow
from ivr.routing.hold import DEFAULT_HOLD_MUSIC
from ivr.routing.router import Router
from ivr.webhooks.queue import hold_twiml, whisper_text
from tests.routing.conftest import agents_of, enqueue, make_callflows
from tests.routing.test_matching import token_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "routing.md"


def with_flow(queues: dict[str, dict[str, Any]], r: Any, twilio: Any, clock: Any,
              **flow: Any) -> Router:
    callflows = make_callflows(queues, agents_of(1))
    callflows.flows["main"] = Flow(name="main", file="main.yaml", start="sales", steps={},
                                   **flow)
    return Router(r, lambda: callflows, twilio, public_url="http://ivr.test", clock=clock)


def test_a_queue_without_hold_music_plays_the_default(make_router, clock):
    router = make_router({"sales": {"max_wait": 0}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    clock.advance(100_000)
    twiml = str(hold_twiml(router, "CA1", 0))
    assert f"<Play>{DEFAULT_HOLD_MUSIC}</Play>" in twiml
    assert "<Pause" not in twiml
    assert DEFAULT_HOLD_MUSIC.startswith("http://com.twilio.music.")
    assert DEFAULT_HOLD_MUSIC in DOCS.read_text()  # named once, documented


def test_a_queue_with_hold_music_plays_its_own(make_router):
    router = make_router({"sales": {"max_wait": 0, "hold_music": "hold me.mp3"}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    assert "<Play>http://ivr.test/recordings/hold%20me.mp3</Play>" in \
        str(hold_twiml(router, "CA1", 0))


def test_near_max_wait_the_default_music_gives_way_to_pauses(make_router, clock):
    router = make_router({"sales": {"max_wait": 100}}, agents_of(1))
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    twiml = str(hold_twiml(router, "CA1", 0))
    assert "<Play" not in twiml and '<Pause length="20"' in twiml


def test_announcements_use_the_flow_voice_and_language(r, twilio, clock):
    router = with_flow({"sales": {"callback": True, "max_wait": 0}}, r, twilio, clock,
                       voice="Polly.Lupe", language="es-US")
    router.set_agent_status("a00", "break", source="test")
    enqueue(router, "CA1")
    twiml = str(hold_twiml(router, "CA1", 0))
    says = [part for part in twiml.split("<Say")[1:]]
    assert len(says) == 2  # place and wait, then the callback offer
    assert all(' voice="Polly.Lupe"' in s.split(">")[0] and ' language="es-US"'
               in s.split(">")[0] for s in says)


def test_the_whisper_is_the_agents_and_keeps_the_default_voice(r, twilio, clock):
    router = with_flow({"sales": {}}, r, twilio, clock, voice="Polly.Lupe", language="es-US")
    router.set_agent_status("a00", "available", source="test")
    enqueue(router, "CA1")
    live = router.offer(*token_of(twilio.placed[-1].url))
    assert live is not None
    assert whisper_text(router, live) == "Sales call, waited less than a minute. Press 1 to accept."
