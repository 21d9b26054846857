"""The missed-call text: a flow's `missed_call` texts a caller who hung up while
waiting in a queue or who called after hours; a reply of CALL asks for a callback.
End to end through the simulator (calls, status callbacks, REST texts, SMS replies)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from ivr.flows.checker import check_texts
from ivr.sim.people import Caller, Phone
from tests.waiting import wait_until

from .conftest import ALICE, QUEUES, SERVICE, rest_to

Live = Any
OPEN = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 10:00 in New York
CLOSED = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # Tuesday 22:00 in New York
MISSED = "Sorry we missed you at Acme. Reply CALL and we'll ring you back."
CALLER = "+14155550177"


def at(lv: Live, now: datetime) -> Live:
    lv.app.extensions["ivr.engine"].clock = lambda: now
    return lv


def test_after_hours_caller_gets_the_text_and_call_asks_for_a_callback(
        live: Callable[..., Live]) -> None:
    lv = at(live(), CLOSED)
    sim = lv.sim
    call = sim.place_call(CALLER, SERVICE, Caller()).wait(20)
    assert call.said() == ["We are closed."]
    wait_until(lambda: rest_to(lv, CALLER), 5)
    [text] = rest_to(lv, CALLER)
    assert (text.from_, text.body) == (SERVICE, MISSED)
    # The reply CALL (any case, punctuation ignored) joins the flow's queue as a callback.
    reply = sim.send_sms(CALLER, SERVICE, "Call!")
    assert reply == [f"Thank you. You are number 1 in line for a call back; we will call you "
                     f"at {CALLER} as soon as someone is free."]
    waiting = lv.app.extensions["ivr.router"].waiting()
    assert [(w["kind"], w["queue"], w["from"]) for w in waiting] == [
        ("callback", "sales", CALLER)]
    # The offer is used up: a second CALL is an ordinary text (the sms flow starts).
    assert sim.send_sms(CALLER, SERVICE, "call")[0].startswith("Hi ")
    sim.assert_no_errors()


def test_caller_who_hangs_up_in_the_queue_gets_the_text(live: Callable[..., Live]) -> None:
    lv = at(live(), OPEN)
    sim = lv.sim
    sim.phones[ALICE] = Phone(behaviour="no-answer")
    assert "available" in sim.send_sms(ALICE, SERVICE, "ON")[0]
    sim.place_call(CALLER, SERVICE, Caller(hangup_after=3)).wait(20)
    wait_until(lambda: rest_to(lv, CALLER), 5)
    assert [m.body for m in rest_to(lv, CALLER)] == [MISSED]
    stats = lv.app.extensions["ivr.router"].queue_stats("sales")
    assert stats["abandoned"] == 1
    sim.assert_no_errors()


def test_connected_or_overflowed_callers_get_no_text(live: Callable[..., Live]) -> None:
    lv = at(live(), OPEN)
    sim = lv.sim
    # Nobody logged in: an overflow, not a hang-up in the queue.
    c = sim.place_call(CALLER, SERVICE, Caller()).wait(20)
    assert c.said() == ["Sorry, nobody is free."]
    # Connected to Alice, then the caller hangs up while talking.
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=50)
    sim.send_sms(ALICE, SERVICE, "ON")
    talker = "+14155550178"
    sim.place_call(talker, SERVICE, Caller(talk_for=2)).wait(20)
    wait_until(lambda: lv.app.extensions["ivr.router"].queue_stats("sales")["answered"] == 1)
    sim.wait_idle(20)
    assert rest_to(lv, CALLER) == [] and rest_to(lv, talker) == []


def test_opted_out_caller_gets_no_missed_call_text(live: Callable[..., Live]) -> None:
    lv = at(live(), CLOSED)
    sim = lv.sim
    assert "unsubscribed" in sim.send_sms(CALLER, SERVICE, "STOP")[0]
    sim.place_call(CALLER, SERVICE, Caller()).wait(20)
    texting = lv.app.extensions["ivr.texting"]
    # The hook ran (the call's state says after hours) but send_text refused the number.
    wait_until(lambda: lv.redis.exists("ivr:sms:missed-sent:" + sim.calls_to(SERVICE)[0].sid))
    assert rest_to(lv, CALLER) == []
    assert sim.send_sms(CALLER, SERVICE, "CALL") == []
    assert lv.app.extensions["ivr.router"].waiting() == []
    _ = texting


def test_status_delivered_twice_texts_once(live: Callable[..., Live]) -> None:
    lv = at(live(), CLOSED)
    sim = lv.sim
    call = sim.place_call(CALLER, SERVICE, Caller()).wait(20)
    wait_until(lambda: rest_to(lv, CALLER), 5)
    params = MultiDict({"CallSid": call.sid, "CallStatus": "completed", "From": CALLER,
                        "To": SERVICE, "CallDuration": "7"})
    assert lv.app.extensions["ivr.texting"].after_call(params) is False
    assert len(rest_to(lv, CALLER)) == 1


def test_checker_accepts_missed_call_and_refuses_mistakes() -> None:
    flow = ("numbers: ['*']\nmissed_call: {mc}\nsteps:\n  a:\n    hangup: true\n")
    ok, problems = check_texts({"queues.yaml": QUEUES,
                                "main.yaml": flow.format(mc="{text: 'Missed you', queue: sales}")})
    assert ok is not None and not [p for p in problems if p.is_error]
    assert ok.flows["main"].missed_call == {"text": "Missed you", "queue": "sales"}
    cases = {
        "{text: 'x', queue: sals}": "unknown queue 'sals' (did you mean 'sales'?)",
        "{txt: 'x'}": "unknown key 'txt' in missed_call (did you mean 'text'?)",
        "{queue: sales}": "missed_call needs a 'text'",
        "'x'": "'missed_call' must be a mapping",
        "{text: '{{ vars.a'}": "",
    }
    for mc, wanted in cases.items():
        cf, problems = check_texts({"queues.yaml": QUEUES, "main.yaml": flow.format(mc=mc)})
        messages = [f"{p.location}: {p.message}" for p in problems if p.is_error]
        assert cf is None and messages, mc
        assert any(wanted in m and m.startswith("callflows/main.yaml:2:") for m in messages), \
            messages


def test_schema_knows_missed_call() -> None:
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    import ivr.flows

    schema = json.loads((Path(ivr.flows.__file__).parent / "callflows.schema.json").read_text())
    validator = Draft202012Validator(schema)
    flow = {"numbers": ["*"], "steps": {"a": {"hangup": True}}}
    assert not list(validator.iter_errors({**flow, "missed_call": {"text": "Hi", "queue": "s"}}))
    assert list(validator.iter_errors({**flow, "missed_call": {"txt": "Hi"}}))
    assert list(validator.iter_errors({**flow, "missed_call": "Hi"}))
