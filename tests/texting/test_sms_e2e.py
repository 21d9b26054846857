"""Texting end to end: the app over real HTTP, Twilio played by the simulator (signed SMS
webhooks, <Message> replies, the REST API for texts), real Redis and the real router."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ivr import keys
from ivr.sim.people import Phone
from tests.waiting import wait_until

from .conftest import ALICE, OTHER, SERVICE, TEXTER, rest_to

Live = Any


def test_multi_turn_menu_with_typed_words_and_digits(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    first = sim.send_sms(TEXTER, SERVICE, "hello")
    assert first == [f"Hi {TEXTER}, this is Acme.\nReply 1 or ORDER for orders, 2 or SUPPORT "
                     "for a call back, 3 to tell the team."]
    # A word, any case, with punctuation and spacing around it.
    assert sim.send_sms(TEXTER, SERVICE, "  Orders!! ") == ["What is your 6-digit order number?"]
    # Typed with spaces and a dash: still six digits.
    assert sim.send_sms(TEXTER, SERVICE, "123-456") == ["Order 123456 ships tomorrow.",
                                                        "Bye from Acme!"]
    # The conversation ended: a new message starts the flow again; a digit picks the option.
    assert sim.send_sms(TEXTER, SERVICE, "hi again")[0].startswith("Hi ")
    assert sim.send_sms(TEXTER, SERVICE, "3.") == ["We told the team.\nBye from Acme!"]
    told = rest_to(lv, OTHER)
    assert [m.body for m in told] == [f"Texter {TEXTER} wants a word."]
    assert told[0].from_ == SERVICE
    sim.assert_no_errors()


def test_menu_invalid_answers_then_fallback(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hello")
    assert sim.send_sms(TEXTER, SERVICE, "9") == [
        "Sorry, reply 1, 2 or 3.\nReply 1 or ORDER for orders, 2 or SUPPORT for a call back, "
        "3 to tell the team."]
    assert sim.send_sms(TEXTER, SERVICE, "pizza")[0].startswith("Sorry, reply 1, 2 or 3.")
    assert sim.send_sms(TEXTER, SERVICE, "nothing") == ["Bye from Acme!"]  # 3rd try: fallback
    assert not lv.redis.exists(keys.conversation(TEXTER, SERVICE))


def test_gather_pattern_validation_and_retries(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    sim.send_sms(TEXTER, SERVICE, "1")
    assert sim.send_sms(TEXTER, SERVICE, "12345") == [
        "That is not an order number.\nWhat is your 6-digit order number?"]
    assert sim.send_sms(TEXTER, SERVICE, "abcdef")[0].startswith("That is not an order number.")
    assert sim.send_sms(TEXTER, SERVICE, "654321#") == ["Order 654321 ships tomorrow.",
                                                        "Bye from Acme!"]
    # Three bad answers in a row take the fallback.
    sim.send_sms(TEXTER, SERVICE, "hi")
    sim.send_sms(TEXTER, SERVICE, "order")
    sim.send_sms(TEXTER, SERVICE, "1")
    sim.send_sms(TEXTER, SERVICE, "2")
    assert sim.send_sms(TEXTER, SERVICE, "3") == ["Bye from Acme!"]
    sim.assert_no_errors()


def test_conversation_expires_after_quiet(live: Callable[..., Live]) -> None:
    lv = live(sms_conversation_ttl=1)
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    assert sim.send_sms(TEXTER, SERVICE, "1") == ["What is your 6-digit order number?"]
    assert 0 < lv.redis.ttl(keys.conversation(TEXTER, SERVICE)) <= 1
    wait_until(lambda: not lv.redis.exists(keys.conversation(TEXTER, SERVICE)), 5)
    # The order number comes too late: the flow starts over instead of taking it.
    assert sim.send_sms(TEXTER, SERVICE, "123456")[0].startswith(f"Hi {TEXTER}")


def test_whatsapp_keeps_prefix_both_ways(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    wa_from, wa_to = "whatsapp:" + TEXTER, "whatsapp:" + SERVICE
    # The flow lists only the bare number: it is found without the prefix.
    replies = sim.send_sms(wa_from, wa_to, "hello")
    assert replies[0].startswith(f"Hi {TEXTER}, this is Acme.")
    got = sim.inbox(wa_from)
    assert got and all(m.from_ == wa_to for m in got)
    # A REST-sent text to a WhatsApp texter keeps the prefix on both sides.
    from ivr.flows.optout import send_text
    assert send_text(lv.redis, lv.app.extensions["ivr.twilio"], to=wa_from, from_=SERVICE,
                     body="Your bike is ready 🚲")
    sent = rest_to(lv, wa_from)
    assert [(m.from_, m.body) for m in sent] == [(wa_to, "Your bike is ready 🚲")]
    # WhatsApp and SMS are separate conversations of the same person.
    assert sim.send_sms(wa_from, wa_to, "2")[0].startswith("Would you like a call back")
    assert sim.send_sms(TEXTER, SERVICE, "hello")[0].startswith("Hi ")
    sim.assert_no_errors()


def test_mms_media_reaches_templates_and_empty_body_works(live: Callable[..., Live]) -> None:
    lv = live()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    replies = lv.sim.send_sms(TEXTER, SERVICE, "", media=[(url, "image/jpeg")])
    assert replies == [f"Thanks for the 1 picture(s): {url} (image/jpeg)\nBye from Acme!"]
    lv.sim.assert_no_errors()


def test_long_bodies_emoji_and_markup_are_safe(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    weird = ("<Response><Dial>+15550000000</Dial></Response> & ünïcödé 👍🏽 \u200b" * 25)[:1600]
    replies = sim.send_sms(TEXTER, SERVICE, weird)
    assert replies[0].startswith("Sorry, reply 1, 2 or 3.")
    # Control characters cannot go into XML; they are dropped, the texter still gets answers.
    assert sim.send_sms(TEXTER, SERVICE, "o\x01rder\x1f") == [
        "What is your 6-digit order number?"]
    sim.assert_no_errors()


def test_stop_then_nothing_is_sent_start_opts_back_in(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    stop = sim.send_sms(TEXTER, SERVICE, " Stop! ")
    assert len(stop) == 1 and "unsubscribed" in stop[0]
    # Confirmed once only; further messages (even menu answers) get nothing and run nothing.
    assert sim.send_sms(TEXTER, SERVICE, "STOP") == []
    assert sim.send_sms(TEXTER, SERVICE, "1") == []
    assert sim.send_sms(TEXTER, SERVICE, "hello") == []
    assert sim.send_sms(TEXTER, SERVICE, "HELP") == []
    # Every way the server texts refuses that number: a flow's message step ...
    other = "+14155550111"
    sim.send_sms(other, SERVICE, "hi")
    # ... the guarded send function the engine, voicemail and router use ...
    from ivr.flows.optout import is_opted_out, send_text
    twilio = lv.app.extensions["ivr.twilio"]
    assert is_opted_out(lv.redis, TEXTER) and is_opted_out(lv.redis, "whatsapp:" + TEXTER)
    assert send_text(lv.redis, twilio, to=TEXTER, from_=SERVICE, body="promo") is False
    assert send_text(lv.redis, twilio, to="whatsapp:" + TEXTER, from_=SERVICE,
                     body="promo") is False
    assert send_text(lv.redis, twilio, to=other, from_=SERVICE, body="for you") is True
    # ... checked on the simulator's own record: no REST message to that number at all,
    # and no reply after the single confirmation.
    assert rest_to(lv, TEXTER) == []
    assert rest_to(lv, "whatsapp:" + TEXTER) == []
    inbox = sim.inbox(TEXTER)
    assert inbox[-1].body == stop[0]
    # START opts back in; the flow runs again.
    assert "subscribed again" in sim.send_sms(TEXTER, SERVICE, "start")[0]
    assert sim.send_sms(TEXTER, SERVICE, "hi")[0].startswith("Hi ")
    assert send_text(lv.redis, twilio, to=TEXTER, from_=SERVICE, body="welcome back")
    sim.assert_no_errors()


def test_yes_opts_back_in_only_an_opted_out_sender(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "unsubscribe")
    assert "subscribed again" in sim.send_sms(TEXTER, SERVICE, "YES")[0]
    # Opted in, YES is an ordinary answer (here: the start of a conversation).
    assert sim.send_sms(TEXTER, SERVICE, "yes")[0].startswith("Hi ")


def test_help_and_info_get_the_flow_help(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    help_text = "Acme by text: reply MENU to start over, STOP to opt out."
    assert sim.send_sms(TEXTER, SERVICE, "HELP") == [help_text]
    sim.send_sms(TEXTER, SERVICE, "hi")
    assert sim.send_sms(TEXTER, SERVICE, "info.") == [help_text]
    # The conversation still waits at its menu.
    assert sim.send_sms(TEXTER, SERVICE, "1") == ["What is your 6-digit order number?"]


def test_flood_is_throttled_with_one_slow_down(live: Callable[..., Live]) -> None:
    lv = live(sms_rate_limit=5)
    sim = lv.sim
    answers = [sim.send_sms(TEXTER, SERVICE, "9") for _ in range(9)]
    assert all(a for a in answers[:5])  # the first five run the flow
    slow = [a for a in answers[5:] if a]
    assert slow == [["You are sending messages too quickly. Please wait a minute and try again."]]
    # The flow did not run for the throttled ones: the menu took only the first answers.
    state = lv.redis.hgetall(keys.conversation(TEXTER, SERVICE))
    assert state == {} or state["step"] == "main_menu"
    # STOP is honoured even while throttled; someone else is not throttled.
    assert "unsubscribed" in sim.send_sms(TEXTER, SERVICE, "STOP")[0]
    assert sim.send_sms("+14155550122", SERVICE, "hi")[0].startswith("Hi ")


def test_concurrent_messages_from_one_sender_take_turns(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    results: list[list[str]] = []
    lock = threading.Lock()

    def send(body: str) -> None:
        got = sim.send_sms(TEXTER, SERVICE, body)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=send, args=(b,)) for b in ("1", "246810")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    # Whichever came first, each message was one turn on top of the other's state:
    # "1" then "246810" orders; "246810" (invalid at the menu) then "1" asks for the number.
    flat = sorted(tuple(r) for r in results)
    order_first = sorted([("What is your 6-digit order number?",),
                          ("Order 246810 ships tomorrow.", "Bye from Acme!")])
    invalid_first = sorted([
        ("Sorry, reply 1, 2 or 3.\nReply 1 or ORDER for orders, 2 or SUPPORT for a call back, "
         "3 to tell the team.",),
        ("What is your 6-digit order number?",)])
    assert flat in (order_first, invalid_first), flat
    sim.assert_no_errors()


def test_sms_callback_reaches_agent_then_texter(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.phones[ALICE] = Phone(inputs=["1"], hangup_after=5)
    sim.phones[TEXTER] = Phone(hangup_after=2)
    sim.send_sms(TEXTER, SERVICE, "hi")
    offer = sim.send_sms(TEXTER, SERVICE, "support please")
    assert offer == [f"Would you like a call back from our support team? Reply YES and we will "
                     f"call you at {TEXTER} as soon as someone is free, or NO."]
    placed = sim.send_sms(TEXTER, SERVICE, "Yes!")
    assert placed == [f"Thank you. You are number 1 in line for a call back; we will call you "
                      f"at {TEXTER} as soon as someone is free."]
    router = lv.app.extensions["ivr.router"]
    assert [w["kind"] for w in router.waiting()] == ["callback"]
    # Alice logs in by text; her phone rings, she accepts, and the texter's phone rings.
    assert "available" in sim.send_sms(ALICE, SERVICE, "ON")[0]
    wait_until(lambda: sim.record.calls_to(TEXTER)
               and sim.record.calls_to(TEXTER)[0].status == "completed", 20)
    agent_leg = sim.record.calls_to(ALICE)[0]
    assert any("callback for" in s for s in sim.call(agent_leg.sid).said())
    back = sim.record.calls_to(TEXTER)[0]
    assert back.from_ == SERVICE and agent_leg.sid in back.bridged_to
    # The conversation is over: the next text starts the flow again.
    assert sim.send_sms(TEXTER, SERVICE, "hello")[0].startswith("Hi ")
    sim.assert_no_errors()


def test_declining_the_call_back_goes_on(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    sim.send_sms(TEXTER, SERVICE, "2")
    assert sim.send_sms(TEXTER, SERVICE, "what?") == ["Please reply YES for a call back, or NO."]
    assert sim.send_sms(TEXTER, SERVICE, "no thanks") == ["Bye from Acme!"]
    assert lv.app.extensions["ivr.router"].waiting() == []


def test_a_flow_is_needed(live: Callable[..., Live]) -> None:
    lv = live()
    assert lv.sim.send_sms(TEXTER, "+15005550009", "hi") == [
        "Sorry, this number does not take text messages."]
    _ = time


COUNTER_FLOW = f"""
numbers: ["{SERVICE}"]
channels: [sms]
start: ask
steps:
  ask:
    gather: "Say anything."
    input: speech
    into: last
    attempts: 2
    next: count
    fallback: done
  count:
    set: {{n: "{{{{ (vars.n | default(0) | int) + 1 }}}}"}}
    next: tell
  tell:
    say: "Message {{{{ vars.n }}}}: {{{{ vars.last }}}}"
    next: ask
  done:
    hangup: "Done."
"""


def test_many_concurrent_messages_no_lost_or_doubled_step(live: Callable[..., Live]) -> None:
    from .conftest import FILES

    lv = live({**FILES, "text.yaml": COUNTER_FLOW})
    sim = lv.sim
    assert sim.send_sms(TEXTER, SERVICE, "start") == ["Say anything."]
    results: list[str] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        got = sim.send_sms(TEXTER, SERVICE, f"m{i}")
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Each message was exactly one turn: the counts are 1..8, each once, and every
    # message's own text appears in exactly one answer.
    counts = sorted(int(r.split(":")[0].removeprefix("Message ")) for r in results)
    assert counts == list(range(1, 9)), results
    assert sorted(r.split(": ")[1].split("\n")[0] for r in results) == sorted(
        f"m{i}" for i in range(8))
    sim.assert_no_errors()


def test_menu_starts_over(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    assert sim.send_sms(TEXTER, SERVICE, "1") == ["What is your 6-digit order number?"]
    assert sim.send_sms(TEXTER, SERVICE, "Menu")[0].startswith(f"Hi {TEXTER}, this is Acme.")
    assert sim.send_sms(TEXTER, SERVICE, "2")[0].startswith("Would you like a call back")


def test_echoed_text_is_escaped_not_interpreted(live: Callable[..., Live]) -> None:
    from .conftest import FILES

    lv = live({**FILES, "text.yaml": COUNTER_FLOW})
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "start")
    markup = '</Message><Redirect>http://evil.example/</Redirect><Message>& "quotes" 👍🏽'
    replies = sim.send_sms(TEXTER, SERVICE, markup)
    assert replies == [f"Message 1: {markup}\nSay anything."]
    # The raw answer carried it as text: one <Message>, no <Redirect> verb.
    answer = [x for x in sim.record.exchanges if x.params.get("Body") == markup][-1].body
    assert answer.count("<Message>") == 1 and "<Redirect>" not in answer
    sim.assert_no_errors()


def test_a_redelivered_message_is_one_turn(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    sim.send_sms(TEXTER, SERVICE, "hi")
    params = {"MessageSid": "SM" + "7" * 32, "AccountSid": sim.account_sid, "From": TEXTER,
              "To": SERVICE, "Body": "1", "NumMedia": "0", "ApiVersion": "2010-04-01"}
    first = sim.http(None, sim.sms_url, "POST", params)
    again = sim.http(None, sim.sms_url, "POST", params)  # Twilio retrying the same delivery
    assert first.body == again.body and "What is your 6-digit order number?" in first.body
    state = lv.redis.hgetall(keys.conversation(TEXTER, SERVICE))
    assert state["step"] == "order" and state["attempts"] == "0"
    # The next (new) message is the answer to the gather, not to the menu.
    assert sim.send_sms(TEXTER, SERVICE, "1")[0].startswith("That is not an order number.")


def test_messages_sent_in_a_quick_row_are_handled_in_that_order(
        live: Callable[..., Live]) -> None:
    from .conftest import FILES

    lv = live({**FILES, "text.yaml": COUNTER_FLOW})
    sim = lv.sim
    engine = lv.app.extensions["ivr.texting"]
    sim.send_sms(TEXTER, SERVICE, "start")
    real_turn = engine._turn

    def slow_turn(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.08)  # a turn that takes a while (an http step), so the others queue up
        real_turn(*args, **kwargs)

    engine._turn = slow_turn
    results: dict[int, list[str]] = {}
    threads = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: results.__setitem__(
            i, sim.send_sms(TEXTER, SERVICE, f"m{i}")))
        threads.append(t)
        t.start()
        # Sent one after the other, faster than they are answered: the next one leaves once
        # the server has given this one its ticket (its place in the conversation), so the
        # order they arrive in is the order they were sent, however loaded the machine.
        wait_until(lambda i=i: int(lv.redis.hget(keys.conversation_turns(TEXTER, SERVICE),
                                                 "next") or 0) >= i + 2, 10)
    for t in threads:
        t.join(30)
    assert [results[i][0].split("\n")[0] for i in range(5)] == [
        f"Message {i + 1}: m{i}" for i in range(5)]


def test_throttle_lifts_after_the_window(live: Callable[..., Live]) -> None:
    lv = live(sms_rate_limit=2, sms_rate_window=1)
    sim = lv.sim
    assert sim.send_sms(TEXTER, SERVICE, "hi")
    assert sim.send_sms(TEXTER, SERVICE, "9")
    assert sim.send_sms(TEXTER, SERVICE, "9")[0].startswith("You are sending messages too")
    assert sim.send_sms(TEXTER, SERVICE, "1") == []
    wait_until(lambda: not lv.redis.exists(keys.sms_rate(TEXTER)), 5)
    # A new minute: the conversation goes on where it was (the menu, one invalid answer).
    assert sim.send_sms(TEXTER, SERVICE, "1") == ["What is your 6-digit order number?"]


BROKEN_FLOW = f"""
numbers: ["{SERVICE}"]
channels: [sms]
on_error:
  say: "Sorry, we're having trouble. Call us on +1 500-555-0006."
steps:
  hello:
    say: "Hello {{{{ 1 // 0 }}}}"
    next: bye
  bye:
    hangup: "Bye."
"""


def test_a_failing_step_answers_on_error_and_ends(live: Callable[..., Live]) -> None:
    from .conftest import FILES

    lv = live({**FILES, "text.yaml": BROKEN_FLOW})
    assert lv.sim.send_sms(TEXTER, SERVICE, "hi") == [
        "Sorry, we're having trouble. Call us on +1 500-555-0006."]
    assert not lv.redis.exists(keys.conversation(TEXTER, SERVICE))
    lv.sim.assert_no_errors()


def test_saying_yes_twice_is_one_callback(live: Callable[..., Live]) -> None:
    lv = live()
    sim = lv.sim
    for _ in range(2):
        sim.send_sms(TEXTER, SERVICE, "hi")
        sim.send_sms(TEXTER, SERVICE, "2")
        assert sim.send_sms(TEXTER, SERVICE, "yes")[0].startswith(
            "Thank you. You are number 1 in line")
    sim.send_sms("+14155550124", SERVICE, "hi")
    sim.send_sms("+14155550124", SERVICE, "2")
    assert sim.send_sms("+14155550124", SERVICE, "yes")[0].startswith(
        "Thank you. You are number 2 in line")
    waiting = lv.app.extensions["ivr.router"].waiting()
    assert [w["from"] for w in waiting] == [TEXTER, "+14155550124"]
