"""The channel-neutral runner and the call state, without any web layer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import redis

from ivr import keys
from ivr.flows import analytics, state
from ivr.flows.actions_http import HttpResult
from ivr.flows.runner import (
    Ask,
    Failed,
    Hangup,
    Queue,
    Record,
    Runner,
    SendText,
    Speak,
    normalize_words,
)
from ivr.flows.state import FlowState

from .conftest import load_flows

FLOW = """
numbers: ["*"]
channels: [voice, sms]
language: en-US
vars: {company: Acme, count: 0}
http_hosts: [crm.example.com]
start: hello
steps:
  hello:
    say: "Hi from {{ vars.company }}."
    next: lookup
  lookup:
    http: "https://crm.example.com/who?n={{ call.from | urlencode }}"
    into: crm
    next: known
    error: menu
  known:
    set: {name: "{{ vars.crm.name }}"}
    next: menu
  menu:
    menu: "Press 1 or say sales."
    options: {1: sales, 2: text_me}
    words: {sales: [sales, "buy now"]}
    attempts: 2
    fallback: bye
  sales:
    queue: sales
    overflow: bye
  text_me:
    message: "Your link: https://acme.example/{{ vars.name }}"
    next: bye
  bye:
    hangup: "Bye {{ vars.name }}."
"""
QUEUES = "sales: {skills: []}\n"


def runner_for(tmp: Path, http: Any = None, channel: str = "voice") -> Runner:
    callflows = load_flows(tmp, {"main.yaml": FLOW, "queues.yaml": QUEUES})
    return Runner(callflows, channel=channel,
                  clock=lambda: datetime.fromisoformat("2026-11-24T15:00:00+00:00"),
                  http=http or (lambda url, **kw: HttpResult(True, {"name": "Jane"})))


def new(runner: Runner) -> FlowState:
    flow = runner.callflows.flows["main"]
    return runner.new_state(flow, sid="CA1", from_="+14155550100", to="+15005550006")


def test_walks_to_the_first_input_step(callflows_dir: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def http(url: str, **kw: Any) -> HttpResult:
        calls.append((url, kw))
        return HttpResult(True, {"name": "Jane"})

    runner = runner_for(callflows_dir, http)
    st = new(runner)
    turn = runner.start(st)
    assert turn.outputs == [Speak("Hi from Acme.", None, "en-US")]
    assert isinstance(turn.end, Ask) and turn.end.kind == "menu"
    assert turn.end.input == "both" and turn.end.hints == ["sales", "buy now"]
    assert turn.end.prompt == [Speak("Press 1 or say sales.", None, "en-US")]
    assert st.step == "menu" and st.vars["name"] == "Jane"
    assert turn.reached == [("main", s) for s in ("hello", "lookup", "known", "menu")]
    assert calls[0][0] == "https://crm.example.com/who?n=%2B14155550100"
    assert calls[0][1]["allowed_hosts"] == ["crm.example.com"]


def test_http_error_takes_error_way(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir, lambda url, **kw: HttpResult(False, error="HTTP 500"))
    st = new(runner)
    turn = runner.start(st)
    assert st.step == "menu" and "name" not in st.vars
    assert ("main", "known") not in turn.reached


def test_menu_answers(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir)
    st = new(runner)
    runner.start(st)
    turn = runner.answer(st, speech="I want to Buy  Now!")
    assert isinstance(turn.end, Queue) and turn.end.queue == "sales" and st.step == "sales"
    st2 = new(runner)
    runner.start(st2)
    turn = runner.answer(st2, digits="2")
    assert turn.outputs == [SendText("Your link: https://acme.example/Jane"),
                            Speak("Bye Jane.", None, "en-US")]
    assert isinstance(turn.end, Hangup) and st2.ended == "hangup"


def test_retry_then_fallback_counts_attempts(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir)
    st = new(runner)
    runner.start(st)
    turn = runner.answer(st, digits="9")
    assert isinstance(turn.end, Ask) and st.attempts == 1
    assert turn.end.prompt[0] == Speak("Sorry, that is not one of the choices.", None, "en-US")
    turn = runner.answer(st)  # silence, second and last attempt
    assert st.step == "bye" and isinstance(turn.end, Hangup)


def test_queue_outcomes(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir)
    st = new(runner)
    runner.start(st)
    runner.answer(st, digits="1")
    turn = runner.after(st, "overflow")
    assert st.step == "bye" and turn.outputs[-1].text == "Bye Jane."  # type: ignore[union-attr]
    st = new(runner)
    runner.start(st)
    runner.answer(st, digits="1")
    turn = runner.after(st, "connected")
    assert isinstance(turn.end, Hangup) and st.ended == "connected"


def test_runaway_loop_is_stopped(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir)
    runner.max_steps = 2
    st = new(runner)
    turn = runner.start(st)  # hello -> lookup -> known: three steps
    assert isinstance(turn.end, Failed) and turn.end.reason == "runaway loop"
    assert st.ended == "error"


def test_missing_target_fails_cleanly(callflows_dir: Path) -> None:
    runner = runner_for(callflows_dir)
    st = new(runner)
    turn = runner.run(st, "nowhere.step")
    assert isinstance(turn.end, Failed)


def test_record_default_box_is_the_flow(callflows_dir: Path) -> None:
    text = FLOW.replace('message: "Your link', 'record: "Leave a message. Your link')
    text = text.replace("channels: [voice, sms]", "channels: [voice]")
    callflows = load_flows(callflows_dir, {"main.yaml": text, "queues.yaml": QUEUES})
    runner = Runner(callflows, http=lambda url, **kw: HttpResult(True, {"name": "Jo"}))
    st = new(runner)
    runner.start(st)
    turn = runner.answer(st, digits="2")
    assert isinstance(turn.end, Record) and turn.end.box == "main"
    assert turn.end.max_length == 120 and not turn.end.transcribe


def test_normalize_words() -> None:
    assert normalize_words("  Sales, PLEASE!! ") == "sales please"
    assert normalize_words("Straße") == "strasse"
    assert normalize_words("¿Ventas?") == "ventas"
    assert normalize_words("") == ""


def test_state_round_trip_in_redis(r: redis.Redis) -> None:
    st = FlowState(flow="main", version="v1", step="menu", language="es-MX",
                   vars={"n": 1, "crm": {"name": "José", "tags": ["a"]}}, attempts=2, seq=7,
                   input="12", caller={"number": "+1", "name": "Zoë"},
                   call={"sid": "CA1"}, seen=["main.menu"])
    pipe = r.pipeline()
    state.save(pipe, keys.call("CA1"), st, ttl=100)
    pipe.execute()
    loaded = state.load(r, keys.call("CA1"))
    assert loaded == st
    assert 0 < r.ttl(keys.call("CA1")) <= 100
    assert state.load(r, keys.call("nope")) is None
    r.hset(keys.call("bad"), mapping={"flow": "x", "step": "y", "vars": "{not json"})
    assert state.load(r, keys.call("bad")) is None


def test_step_stats_reader(r: redis.Redis) -> None:
    pipe = r.pipeline()
    analytics.StepStats.count_reached(pipe, [("main", "menu"), ("main", "menu"),
                                             ("main", "a:b")])
    pipe.execute()
    stats = analytics.StepStats(r)
    r.hset(keys.call("CA1"), "flow", "main")
    assert stats.count_dropped(keys.call("CA1"), "main", "menu")
    assert not stats.count_dropped(keys.call("CA1"), "main", "menu")
    assert analytics.step_stats(r, "main") == {
        "menu": {"reached": 2, "dropped": 1}, "a:b": {"reached": 1, "dropped": 0}}
    assert analytics.step_stats(r, "other") == {}
