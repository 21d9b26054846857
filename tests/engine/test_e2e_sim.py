"""End to end: the whole app over real HTTP, Twilio played by the simulator (signed webhooks,
TwiML followed verb by verb, REST API for texts), the real router and real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify

from ivr import keys
from ivr.flows import analytics, voicemail
from ivr.sim.harness import RunningServer, serve_wsgi
from ivr.sim.people import Caller, Hangup, Phone, Record, Silence, Speech

from .conftest import CALLER, MAIN_NUMBER, write_flows
from .test_voice import CLOSED, FILES, MAIN, OPEN, THANKSGIVING

Live = Any


@pytest.fixture()
def live(live_factory: Callable[..., Live], callflows_dir: Path) -> Callable[..., Live]:
    def start(files: dict[str, str] = FILES, now: datetime = OPEN) -> Live:
        write_flows(callflows_dir, files)
        recordings = callflows_dir.parent / "recordings"  # where live_factory serves prompts from
        recordings.mkdir(exist_ok=True)
        (recordings / "tone.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00")
        app = live_factory(callflows_dir)
        assert app.app.extensions["ivr.flows"].current.flows, "flows refused"
        app.app.extensions["ivr.engine"].clock = lambda: now
        return app

    return start


def call(lv: Live, inputs: list[Any], **caller: Any) -> Any:
    return lv.sim.place_call(CALLER, MAIN_NUMBER, Caller(inputs, **caller)).wait(20)


def test_menu_key_and_templates(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["2"])
    assert c.said() == [
        "Thanks for calling Acme.",
        "For sales press 1 or say sales. For support press 2.",
        "Support is here. You said 2.",
        "Thank you for calling. Goodbye.",
    ]
    assert c.status == "completed"
    lv.sim.assert_no_errors()


def test_retries_on_invalid_and_silence_then_fallback_voicemail(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["7", Silence(), "8", Record(12, "Call me back please.")])
    said = c.said()
    assert said[2] == "Sorry, that is not one of the choices."
    assert said[4] == "Sorry, I didn't catch that."
    assert said[6] == "Please leave a message after the tone."
    assert said[-1] == "Thank you for calling. Goodbye."
    assert lv.sim.wait_for(lambda: any(
        m.get("transcription") for m in voicemail.messages(lv.redis, "alice")), 5)
    (item,) = voicemail.messages(lv.redis, "alice")
    assert item["caller"] == CALLER and item["duration"] == 12
    assert item["transcription"] == "Call me back please."
    assert item["recording_url"].startswith(lv.sim.api_url)
    texts = lv.sim.inbox("+15005550101")
    assert len(texts) == 1 and texts[0].from_ == MAIN_NUMBER
    assert f"from {CALLER} (0:12)" in texts[0].body
    lv.sim.assert_no_errors()


def test_speech_answer(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, [Speech("I need help with my bike.")])
    assert c.said()[2] == "Support is here. You said I need help with my bike.."
    lv.sim.assert_no_errors()


def test_gather_pattern_branch_and_set(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["3", "99#", "12345"])
    assert c.said()[3:] == ["That is not a valid account number.",
                            "Please enter your five digit account number, then press pound.",
                            "Welcome back, 12345, gold member.",
                            "Thank you for calling. Goodbye."]
    lv.sim.assert_no_errors()


@pytest.mark.parametrize(("now", "heard"), [
    (OPEN, "For sales press 1 or say sales. For support press 2."),
    (CLOSED, "We are closed."),
    (THANKSGIVING, "Happy holidays! We are closed today."),
])
def test_hours_in_the_schedule_time_zone(live: Callable[..., Live], now: datetime,
                                         heard: str) -> None:
    lv = live(now=now)
    c = call(lv, [Hangup()])
    assert c.said()[1] == heard


def test_language_switch_with_spanish_speech(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["4", Speech("Ventas, por favor")])
    assert "Para ventas oprima uno o diga ventas." in c.said()
    says = c.events("say")
    spanish = [e for e in says if e[1] == "Para ventas oprima uno o diga ventas."][0]
    assert spanish[3] == "es-MX"
    # nobody is logged in to sales: the queue step overflows to the voicemail
    assert "Please leave a message after the tone." in c.said()
    lv.sim.assert_no_errors()


def test_queue_overflows_when_nobody_is_logged_in(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["1", Record(3)])
    assert c.said()[2:] == ["Please leave a message after the tone.",
                            "Thank you for calling. Goodbye."]
    assert len(voicemail.messages(lv.redis, "alice")) == 1
    lv.sim.assert_no_errors()


@pytest.mark.parametrize("behaviour", ["no-answer", "busy", "failed"])
def test_dial_not_answered(live: Callable[..., Live], behaviour: str) -> None:
    lv = live()
    lv.sim.phones["+15005550199"] = Phone(behaviour=behaviour)  # type: ignore[arg-type]
    c = call(lv, ["5", Hangup()])
    assert c.said()[2] == "Nobody answered."
    lv.sim.assert_no_errors()


def test_dial_answered_ends_the_call_without_a_drop(live: Callable[..., Live]) -> None:
    lv = live()
    lv.sim.phones["+15005550199"] = Phone(behaviour="answer", ring_delay=1, hangup_after=5)
    c = call(lv, ["5"])
    assert "Nobody answered." not in c.said()
    assert ("dial-result", "completed") in c.transcript
    assert c.transcript[-1] == ("hangup",)
    assert lv.sim.wait_for(lambda: c.status == "completed", 5)
    stats = analytics.step_stats(lv.redis, "main")
    assert stats["transfer"]["reached"] == 1 and stats["transfer"]["dropped"] == 0


def test_message_pause_and_play(live: Callable[..., Live]) -> None:
    lv = live()
    c = call(lv, ["6"])
    kinds = [e[0] for e in c.transcript]
    assert "pause" in kinds and "play" in kinds
    (text,) = lv.sim.inbox(CALLER)
    assert text.body == "Hi from Acme: your code is 42." and text.from_ == MAIN_NUMBER
    assert c.said()[-1] == "Thank you for calling. Goodbye."
    lv.sim.assert_no_errors()


def test_drop_off_counted_where_the_caller_hung_up(live: Callable[..., Live]) -> None:
    lv = live()
    call(lv, [Hangup()])
    call(lv, ["3", Hangup()])
    call(lv, ["2"])
    assert lv.sim.wait_for(
        lambda: lv.redis.zcard(keys.calls_active()) == 0, 5)
    stats = analytics.step_stats(lv.redis, "main")
    assert stats["welcome"] == {"reached": 3, "dropped": 0}
    assert stats["main_menu"] == {"reached": 3, "dropped": 1}
    assert stats["account"] == {"reached": 1, "dropped": 1}
    assert stats["goodbye"] == {"reached": 1, "dropped": 0}


def test_hot_reload_mid_call(live: Callable[..., Live], callflows_dir: Path) -> None:
    lv = live()
    registry = lv.app.extensions["ivr.flows"]
    old_version = registry.current.version

    def edit_then_press(kind: str, info: dict[str, str]) -> Any:
        if registry.current.version == old_version:
            (callflows_dir / "main.yaml").write_text(
                MAIN.replace("Support is here. You said {{ input }}.", "Support v2."))
            deadline = time.monotonic() + 3
            while registry.current.version == old_version and time.monotonic() < deadline:
                time.sleep(0.05)  # the registry's own poller picks it up
            assert registry.current.version != old_version
            return "2"
        return Hangup()

    first = lv.sim.place_call(CALLER, MAIN_NUMBER, Caller(live=edit_then_press)).wait(20)
    assert "Support is here. You said 2." in first.said()
    second = call(lv, ["2"])
    assert "Support v2." in second.said()
    lv.sim.assert_no_errors()


# --- the http step against a web service on loopback ----------------------------------


@pytest.fixture()
def crm() -> Iterator[RunningServer]:
    app = Flask("crm")

    @app.get("/ok")
    def ok() -> Any:
        return jsonify({"name": "Jane"})

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(2.5)
        return jsonify({"name": "Late"})

    @app.get("/error")
    def error() -> Any:
        return jsonify({}), 503

    server = serve_wsgi(app)
    yield server
    server.stop()


@pytest.mark.parametrize(("path", "heard"), [
    ("/ok", "Hello Jane."), ("/slow", "No luck."), ("/error", "No luck."),
])
def test_http_step(live: Callable[..., Live], crm: RunningServer, path: str,
                   heard: str) -> None:
    flow = f"""
numbers: ["*"]
http_hosts: [127.0.0.1]
start: lookup
steps:
  lookup:
    http: "http://127.0.0.1:{crm.port}{path}"
    timeout: 1
    into: crm
    next: hello
    error: sorry
  hello:
    hangup: "Hello {{{{ vars.crm.name }}}}."
  sorry:
    hangup: "No luck."
"""
    lv = live({"main.yaml": flow})
    c = call(lv, [])
    assert c.said() == [heard]
    lv.sim.assert_no_errors()


# --- the demo company ------------------------------------------------------------------


DEMO = Path(__file__).resolve().parents[2] / "callflows"


def test_demo_billing_gather_then_overflow_to_voicemail(live_factory: Callable[..., Live]) -> None:
    lv = live_factory(DEMO)
    lv.app.extensions["ivr.engine"].clock = lambda: OPEN
    c = call(lv, ["3", "12345678#", Record(4, "About my invoice")])
    said = c.said()
    assert said[0] == "Thanks for calling Acme Bikes."
    assert "Please enter your 8 digit account number, then press pound." in said
    assert "Please leave a message after the tone." in said
    assert lv.sim.wait_for(lambda: any(
        m.get("transcription") for m in voicemail.messages(lv.redis, "front_desk")), 5)
    lv.sim.assert_no_errors()


def test_demo_after_hours_in_spanish_and_english(live_factory: Callable[..., Live]) -> None:
    lv = live_factory(DEMO)
    lv.app.extensions["ivr.engine"].clock = lambda: CLOSED
    c = call(lv, [Hangup()])
    assert c.said()[1].startswith("We are closed. Our hours are Monday to Friday")


def test_queue_connected_then_next_after_the_agent_hangs_up(live: Callable[..., Live]) -> None:
    flows = dict(FILES)
    flows["main.yaml"] = MAIN.replace("    overflow: voicemail\n  support:",
                                      "    overflow: voicemail\n    next: goodbye\n  support:")
    lv = live(flows)
    lv.app.extensions["ivr.router"].set_agent_status("alice", "available", source="api")
    lv.sim.phones["+15005550101"] = Phone(inputs=["1"], ring_delay=1, hangup_after=5)
    c = call(lv, ["1"])
    kinds = [e[0] for e in c.transcript]
    assert "connected" in kinds
    assert c.said()[-1] == "Thank you for calling. Goodbye."
    assert kinds.index("connected") < len(kinds) - 2
    stats = analytics.step_stats(lv.redis, "main")
    assert stats["sales"] == {"reached": 1, "dropped": 0}
    assert stats["goodbye"] == {"reached": 1, "dropped": 0}
    lv.sim.assert_no_errors()


def test_concurrent_calls_keep_their_own_state(live: Callable[..., Live]) -> None:
    """Twenty callers at once, each on their own path; nothing leaks between calls."""
    lv = live()
    accounts = [f"{10000 + n}" for n in range(20)]
    handles = [lv.sim.place_call(f"+1415555{n:04d}", MAIN_NUMBER, Caller(["3", account]))
               for n, account in enumerate(accounts)]
    for n, handle in enumerate(handles):
        c = handle.wait(30)
        assert c.said()[-2] == f"Account {accounts[n]} noted.", c.said()
    stats = analytics.step_stats(lv.redis, "main")
    assert stats["account"]["reached"] == 20 and stats["regular"]["reached"] == 20
    assert lv.sim.wait_for(lambda: lv.redis.zcard(keys.calls_active()) == 0, 5)
    lv.sim.assert_no_errors()
