"""The voice engine through its webhooks: every flow action on a call."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from ivr import keys
from ivr.flows import analytics, engine, voicemail

from .conftest import CALLER, MAIN_NUMBER, VoiceApp

HOURS = """
office:
  timezone: America/New_York
  open: {mon-fri: "09:00-17:00"}
  holidays: US
  closed: ["2026-12-24"]
"""

AGENTS = """
alice:
  name: Alice Jones
  phone: "+15005550101"
  skills: {sales: 5}
"""

QUEUES = """
sales:
  skills: [sales]
  max_wait: 300
"""

MAIN = """
numbers: ["+15005550006", "*"]
language: en-US
voice: Polly.Joanna
timezone: America/New_York
vars: {company: Acme}
on_error:
  say: "Sorry, we're having trouble."
  dial: "+15005550199"
start: welcome
steps:
  welcome:
    say: "Thanks for calling {{ vars.company }}."
    next: office_hours
  office_hours:
    hours: office
    open: main_menu
    closed: after_hours
    holiday: holiday
  main_menu:
    menu: "For sales press 1 or say sales. For support press 2."
    options: {1: sales, 2: support, 3: account, 4: spanish, 5: transfer, 6: tell, 9: voicemail}
    words: {sales: [sales, buy], support: [support, help]}
    attempts: 3
    invalid: "Sorry, that is not one of the choices."
    no_input: "Sorry, I didn't catch that."
    fallback: voicemail
  sales:
    queue: sales
    priority: 2
    skills: [sales]
    overflow: voicemail
  support:
    say: "Support is here. You said {{ input }}."
    next: goodbye
  account:
    gather: "Please enter your five digit account number, then press pound."
    into: account
    digits: 5
    pattern: "[0-9]{5}"
    attempts: 2
    invalid: "That is not a valid account number."
    fallback: goodbye
    next: check_account
  check_account:
    branch:
      - if: vars.account == "12345"
        goto: vip
    else: regular
  vip:
    set: {tier: "gold", greeting: "Welcome back, {{ vars.account }}"}
    next: vip_say
  vip_say:
    say: "{{ vars.greeting }}, {{ vars.tier }} member."
    next: goodbye
  regular:
    say: "Account {{ vars.account }} noted."
    next: goodbye
  spanish:
    language: es-MX
    next: spanish_menu
  spanish_menu:
    menu: {en-US: "Press 1 for sales.", es-MX: "Para ventas oprima uno o diga ventas."}
    options: {1: sales}
    words: {sales: [ventas]}
    fallback: goodbye
  transfer:
    dial: ["+15005550199", "sip:desk@example.com"]
    timeout: 15
    caller_id: "+15005550006"
    record: true
    next: transfer_failed
  transfer_failed:
    say: "Nobody answered."
    next: voicemail
  tell:
    message: "Hi from {{ vars.company }}: your code is 42."
    next: pause_then_play
  pause_then_play:
    pause: 2
    next: play_tone
  play_tone:
    play: tone.mp3
    loop: 2
    next: play_url
  play_url:
    play: "https://cdn.example.com/hello.mp3"
    next: goodbye
  voicemail:
    record: "Please leave a message after the tone."
    max_length: 60
    transcribe: true
    box: alice
    next: goodbye
  after_hours:
    say: {en-US: "We are closed.", es-MX: "Estamos cerrados."}
    next: voicemail
  holiday:
    say: "Happy holidays! We are closed today."
    next: goodbye
  goodbye:
    hangup: "Thank you for calling. Goodbye."
"""

FILES = {"main.yaml": MAIN, "hours.yaml": HOURS, "agents.yaml": AGENTS, "queues.yaml": QUEUES}

# Tuesday 2026-11-24: 10:00 in New York is open, 20:00 is closed; 2026-11-26 is Thanksgiving.
OPEN = datetime.fromisoformat("2026-11-24T15:00:00+00:00")
CLOSED = datetime.fromisoformat("2026-11-25T01:00:00+00:00")
THANKSGIVING = datetime.fromisoformat("2026-11-26T15:00:00+00:00")
CLOSED_DATE = datetime.fromisoformat("2026-12-24T15:00:00+00:00")

VoiceAppFactory = Callable[..., VoiceApp]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_welcome_and_menu_with_templates_voice_and_hints(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    root = phone.call()
    says = root.findall("Say")
    assert says[0].text == "Thanks for calling Acme."
    assert says[0].attrib == {"voice": "Polly.Joanna", "language": "en-US"}
    gather = phone.gather()
    assert gather.attrib["input"] == "dtmf speech"
    assert gather.attrib["numDigits"] == "1" and gather.attrib["finishOnKey"] == ""
    assert gather.attrib["language"] == "en-US"
    assert gather.attrib["hints"] == "sales, buy, support, help"
    assert gather.find("Say") is not None
    assert "For sales press 1" in (gather.find("Say").text or "")  # type: ignore[union-attr]
    assert phone.verbs() == ["Say", "Gather", "Redirect"]
    q = query(gather.attrib["action"])
    assert q["kind"] == "menu" and q["at"] == "main_menu" and q["seq"] == "1"


def test_a_prompt_is_built_once_and_said_the_same_to_every_caller(
        voice_app: VoiceAppFactory) -> None:
    """A prompt's <Say> is built once per distinct text, voice, language and loop
    (ivr/flows/engine.py) and appended to every call's answer; the answers stay whole."""
    engine._say_verb.cache_clear()
    va = voice_app(FILES, now=OPEN)
    first = va.phone("CA" + "1" * 32)
    second = va.phone("CA" + "2" * 32)
    one, two = first.call(), second.call()
    assert engine._say_verb.cache_info().misses == 2  # the welcome and the menu prompt
    assert engine._say_verb.cache_info().hits == 2  # the second caller's, the same ones
    assert [ET.tostring(e) for e in one.iter("Say")] == [ET.tostring(e) for e in two.iter("Say")]
    assert [e.text for e in two.iter("Say")][0] == "Thanks for calling Acme."
    assert two.find("Say").attrib == {"voice": "Polly.Joanna", "language": "en-US"}  # type: ignore[union-attr]
    assert [e.tag for e in two] == ["Say", "Gather", "Redirect"]  # nothing carried over


def test_invalid_key_then_silence_then_fallback(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("7")
    assert phone.said().startswith("Sorry, that is not one of the choices.")
    assert phone.gather() is not None
    phone.silence()
    assert phone.said().startswith("Sorry, I didn't catch that.")
    # the third failure takes the fallback: voicemail
    phone.press("8")
    assert "Please leave a message" in phone.said()
    assert phone.twiml is not None and phone.twiml.find("Record") is not None


def test_the_same_key_twice_in_a_loop_is_not_a_duplicate(voice_app: VoiceAppFactory) -> None:
    """Two invalid presses of the same key are two turns (the seq keeps their URLs apart)."""
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    first = phone.gather().attrib["action"]
    phone.press("7")
    second = phone.gather().attrib["action"]
    assert first != second
    phone.press("7")
    # the second failure was counted: a third one ends in the fallback
    phone.press("7")
    assert phone.twiml is not None and phone.twiml.find("Record") is not None


def test_stale_turn_repeats_the_current_step(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    stale = phone.gather().attrib["action"]
    phone.press("2")
    assert "Support is here" in phone.said()
    state = va.engine.store.hgetall(keys.call(phone.sid))
    assert state["ended"] == "hangup"
    # a late copy of an old turn with another digit moves nothing
    phone.post(stale, {"Digits": "1"})
    assert phone.verbs() == ["Hangup"]
    assert va.router.enqueued == []


def test_speech_answer_matches_words_ignoring_case_and_punctuation(
        voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.speak("I'd like to BUY, please!")
    assert len(va.router.enqueued) == 1
    assert va.router.enqueued[0]["queue"] == "sales"


def test_speech_is_echoed_as_plain_text(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.speak("<Hangup/> help & support")
    body = phone.history[-1]
    assert "&lt;Hangup/&gt; help &amp; support" in body
    assert phone.said() == "Support is here. You said <Hangup/> help & support. | " \
                           "Thank you for calling. Goodbye."
    assert phone.verbs() == ["Say", "Say", "Hangup"]


def test_gather_pattern_retry_then_branch_and_set(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("3")
    gather = phone.gather()
    assert gather.attrib["numDigits"] == "5" and gather.attrib["finishOnKey"] == "#"
    assert gather.attrib["input"] == "dtmf"
    phone.press("12")
    assert phone.said().startswith("That is not a valid account number.")
    phone.press("12345")
    assert phone.said() == "Welcome back, 12345, gold member. | Thank you for calling. Goodbye."
    state = va.engine.store.hgetall(keys.call(phone.sid))
    assert '"account": "12345"' in state["vars"] and '"tier": "gold"' in state["vars"]


def test_gather_regular_branch_and_fallback_after_attempts(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("3")
    phone.press("54321")
    assert phone.said().startswith("Account 54321 noted.")
    other = va.phone("CA" + "2" * 32)
    other.call()
    other.press("3")
    other.press("9")
    other.silence()  # attempts: 2 -> fallback goodbye
    assert other.said() == "Thank you for calling. Goodbye."
    assert other.verbs() == ["Say", "Hangup"]


@pytest.mark.parametrize(("now", "heard"), [
    (CLOSED, "We are closed."),
    (THANKSGIVING, "Happy holidays! We are closed today."),
    (CLOSED_DATE, "Happy holidays! We are closed today."),
])
def test_hours_closed_and_holiday(voice_app: VoiceAppFactory, now: datetime,
                                  heard: str) -> None:
    va = voice_app(FILES, now=now)
    phone = va.phone()
    phone.call()
    assert heard in phone.said()


def test_now_in_the_flow_time_zone(voice_app: VoiceAppFactory) -> None:
    flow = """
    numbers: ["*"]
    timezone: America/New_York
    start: hello
    steps:
      hello:
        say: "It is {{ now.strftime('%H:%M %Z') }} for {{ call.from }} on {{ call.channel }}."
    """
    va = voice_app({"main.yaml": flow}, now=OPEN)
    phone = va.phone()
    phone.call()
    assert phone.said() == f"It is 10:00 EST for {CALLER} on voice."
    assert phone.verbs() == ["Say", "Hangup"]


def test_language_switch_changes_prompts_and_recognition(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("4")
    gather = phone.gather()
    assert gather.attrib["language"] == "es-MX"
    say = gather.find("Say")
    assert say is not None and say.text == "Para ventas oprima uno o diga ventas."
    assert say.attrib == {"language": "es-MX"}  # the flow's English voice is not used
    phone.speak("Ventas.")
    assert va.router.enqueued[0]["queue"] == "sales"


def test_queue_hands_the_caller_to_routing(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("1")
    assert phone.verbs() == ["Enqueue"]
    request = va.router.enqueued[0]
    assert request["priority"] == 2 and request["skills"] == ["sales"]
    assert request["caller"] == CALLER and request["called"] == MAIN_NUMBER
    assert request["flow"] == "main" and request["step"] == "sales"
    assert phone.action_of("Enqueue") == request["action_url"]
    assert query(request["action_url"])["kind"] == "queue"
    # the agent took it and hung up: the caller's call ends (no `next`)
    phone.post(request["action_url"], {"QueueResult": "bridged", "QueueTime": "30"})
    assert phone.verbs() == ["Hangup"]


def test_queue_overflow_when_nobody_is_logged_in(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    va.router.staffed = False
    phone = va.phone()
    phone.call()
    phone.press("1")
    assert "Please leave a message" in phone.said()
    assert phone.twiml is not None and phone.twiml.find("Record") is not None


def test_queue_overflow_after_max_wait_and_callback(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("1")
    phone.post(phone.action_of("Enqueue"), {"QueueResult": "leave"})
    assert "Please leave a message" in phone.said()
    other = va.phone("CA" + "3" * 32)
    other.call()
    other.press("1")
    other.post(other.action_of("Enqueue"), {"QueueResult": "redirected"})
    assert "call you back" in other.said() and other.verbs()[-1] == "Hangup"


def test_dial_not_answered_goes_next(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("5")
    assert phone.twiml is not None
    dial = phone.twiml.find("Dial")
    assert dial is not None
    assert dial.attrib["timeout"] == "15" and dial.attrib["callerId"] == "+15005550006"
    # recorded: both parties on their own channel, from the answer, into the recordings
    # store through its status callback (docs/recordings.md)
    assert dial.attrib["record"] == "record-from-answer-dual"
    callback = dial.attrib["recordingStatusCallback"]
    assert urlsplit(callback).path == "/twilio/recording/status"
    assert query(callback) == {"call": phone.sid, "source": "dial", "step": "main.transfer"}
    assert dial.attrib["recordingStatusCallbackEvent"] == "in-progress completed absent"
    assert dial.attrib["recordingStatusCallbackMethod"] == "POST"
    assert [(c.tag, c.text) for c in dial] == [("Number", "+15005550199"),
                                               ("Sip", "sip:desk@example.com")]
    phone.post(dial.attrib["action"], {"DialCallStatus": "no-answer"})
    assert phone.said().startswith("Nobody answered.")
    assert phone.twiml.find("Record") is not None


@pytest.mark.parametrize("status", ["busy", "failed"])
def test_dial_busy_or_failed_goes_next(voice_app: VoiceAppFactory, status: str) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("5")
    phone.post(phone.action_of("Dial"), {"DialCallStatus": status})
    assert phone.said().startswith("Nobody answered.")


def test_dial_completed_ends_the_call(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("5")
    phone.post(phone.action_of("Dial"), {"DialCallStatus": "completed"})
    assert phone.verbs() == ["Hangup"]
    phone.hang_up()
    stats = analytics.step_stats(va.engine.store, "main")
    assert stats["transfer"] == {"reached": 1, "dropped": 0}


def test_message_pause_and_play(voice_app: VoiceAppFactory, rest: Any) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("6")
    assert rest.messages == [{"To": CALLER, "From": MAIN_NUMBER,
                              "Body": "Hi from Acme: your code is 42."}]
    assert phone.twiml is not None
    assert phone.verbs() == ["Pause", "Play", "Play", "Say", "Hangup"]
    pause, tone, url = phone.twiml[0], phone.twiml[1], phone.twiml[2]
    assert pause.attrib["length"] == "2"
    assert tone.text == "http://localhost/recordings/tone.mp3" and tone.attrib["loop"] == "2"
    assert url.text == "https://cdn.example.com/hello.mp3"


def test_voicemail_with_transcription_and_owner_text(voice_app: VoiceAppFactory,
                                                     rest: Any) -> None:
    va = voice_app(FILES, now=CLOSED)
    phone = va.phone()
    phone.call()
    assert phone.said() == "Thanks for calling Acme. | We are closed. | " \
                           "Please leave a message after the tone."
    assert phone.twiml is not None
    record = phone.twiml.find("Record")
    assert record is not None
    assert record.attrib["maxLength"] == "60" and record.attrib["transcribe"] == "true"
    vm_id = query(record.attrib["action"])["vm"]
    assert query(record.attrib["transcribeCallback"]) == {"vm": vm_id}
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"
    phone.post(record.attrib["action"], {"RecordingUrl": recording, "RecordingDuration": "42",
                                         "RecordingSid": "RE1", "Digits": "#"})
    assert phone.said() == "Thank you for calling. Goodbye."
    phone.hang_up()
    response = va.client.post(record.attrib["transcribeCallback"], data={
        "CallSid": phone.sid, "RecordingSid": "RE1", "RecordingUrl": recording,
        "TranscriptionText": "Please call me back about my order.",
        "TranscriptionStatus": "completed", "From": CALLER, "To": MAIN_NUMBER})
    assert response.status_code == 200
    box = voicemail.messages(va.engine.store, "alice")
    assert len(box) == 1
    item = box[0]
    assert item["caller"] == CALLER and item["duration"] == 42
    assert item["recording_url"] == recording
    assert item["transcription"] == "Please call me back about my order."
    assert rest.messages == [{
        "To": "+15005550101", "From": MAIN_NUMBER,
        "Body": f"New voicemail in box alice from {CALLER} (0:42): {recording}"}]


def test_record_without_audio_moves_on(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=CLOSED)
    phone = va.phone()
    phone.call()
    phone.follow_redirect()  # Twilio skips the Record action when nothing was said
    assert phone.said() == "Thank you for calling. Goodbye."
    assert voicemail.boxes(va.engine.store) == []


def test_no_flow_for_the_number_is_a_polite_rejection(voice_app: VoiceAppFactory) -> None:
    """Only possible when no version of the folder ever passed the checker."""
    flow = """
    numbers: ["+15005550006"]
    start: hello
    steps:
      hello:
        hangup: "Hello."
    """
    va = voice_app({"main.yaml": flow}, check=False)  # no default flow: refused
    assert va.flows.current.flows == {}
    phone = va.phone(to="+15005550999")
    phone.call()
    assert phone.said() == "Sorry, this number is not in service. Goodbye."
    assert phone.verbs() == ["Say", "Hangup"]
    assert va.engine.store.exists(keys.call(phone.sid)) == 0


def test_template_error_at_run_time_takes_fallback_or_on_error(
        voice_app: VoiceAppFactory, caplog: pytest.LogCaptureFixture) -> None:
    flow = """
    numbers: ["*"]
    on_error: {say: "Sorry, trouble."}
    start: broken
    steps:
      broken:
        say: "{{ vars.missing.deeper() }}"
        next: menu
      menu:
        menu: "Press 1 {{ 1 // 0 }}"
        options: {1: broken}
        fallback: safe
      safe:
        hangup: "Safe place."
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    assert phone.said() == "Sorry, trouble."
    assert phone.verbs() == ["Say", "Hangup"]
    assert "main.yaml:6:" in caplog.text and "step broken" in caplog.text
    flow2 = flow.replace("start: broken", "start: menu")
    va2 = voice_app({"main.yaml": flow2})
    phone2 = va2.phone("CA" + "4" * 32)
    phone2.call()
    assert phone2.said() == "Safe place."


def test_goto_another_flow(voice_app: VoiceAppFactory) -> None:
    main = """
    numbers: ["*"]
    start: hop
    steps:
      hop:
        goto: billing.hello
    """
    billing = """
    numbers: ["+15005550007"]
    start: hello
    steps:
      hello:
        say: "Billing here."
        next: done
      done:
        hangup: true
    """
    va = voice_app({"main.yaml": main, "billing.yaml": billing})
    phone = va.phone()
    phone.call()
    assert phone.said() == "Billing here."
    assert phone.verbs() == ["Say", "Hangup"]
    assert va.engine.store.hget(keys.call(phone.sid), "flow") == "billing"


def test_runaway_loop_gets_on_error(voice_app: VoiceAppFactory) -> None:
    # A loop of say steps passes the checker only with a way out; make the way out
    # a branch that is never true at run time.
    flow = """
    numbers: ["*"]
    on_error: {say: "Loop trouble.", dial: "+15005550199"}
    start: a
    steps:
      a:
        say: "Hi."
        next: b
      b:
        branch:
          - if: vars.never
            goto: out
        else: a
      out:
        hangup: true
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    assert phone.said() == "Loop trouble."
    assert phone.verbs() == ["Say", "Dial"]


def test_hot_reload_mid_call_keeps_the_calls_version(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    started_on = va.engine.store.hget(keys.call(phone.sid), "version")
    changed = MAIN.replace('say: "Support is here. You said {{ input }}."',
                           'say: "New support text."')
    (va.folder / "main.yaml").write_text(changed)
    assert va.flows.reload()
    assert va.flows.current.version != started_on
    phone.press("2")
    assert phone.said().startswith("Support is here.")  # the old version
    fresh = va.phone("CA" + "5" * 32)
    fresh.call()
    fresh.press("2")
    assert fresh.said().startswith("New support text.")


def test_call_moves_to_current_version_when_its_own_is_gone(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    store: redis.Redis = va.engine.store
    store.hset(keys.call(phone.sid), "version", "forgotten")
    phone.press("2")
    assert phone.said().startswith("Support is here.")
    assert store.hget(keys.call(phone.sid), "version") == va.flows.current.version
    # a call whose step vanished from the current version hears on_error
    other = va.phone("CA" + "6" * 32)
    other.call()
    store.hset(keys.call(other.sid), mapping={"version": "forgotten", "step": "gone"})
    other.press("2")
    assert other.said() == "Sorry, we're having trouble."
    assert other.verbs() == ["Say", "Dial"]


def test_analytics_reached_and_dropped(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    for n in range(3):
        phone = va.phone(f"CA{n:032d}")
        phone.call()
        phone.press("7")  # a retry: still one caller reached main_menu
        if n < 2:
            phone.hang_up()
            phone.hang_up()  # a duplicate status callback counts nothing twice
        else:
            phone.press("2")
            phone.hang_up()
    stats = analytics.step_stats(va.engine.store, "main")
    assert stats["welcome"] == {"reached": 3, "dropped": 0}
    assert stats["main_menu"] == {"reached": 3, "dropped": 2}
    assert stats["support"] == {"reached": 1, "dropped": 0}
    assert stats["goodbye"] == {"reached": 1, "dropped": 0}
    assert "sales" not in stats
    # the state is kept only briefly after the call
    ttl = va.engine.store.ttl(keys.call("CA" + "0" * 32))
    assert 0 < ttl <= 600
    assert va.engine.store.zcard(keys.calls_active()) == 0


def test_call_state_expires_and_is_one_hash(voice_app: VoiceAppFactory) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    store = va.engine.store
    state = store.hgetall(keys.call(phone.sid))
    assert state["flow"] == "main" and state["step"] == "main_menu"
    assert state["language"] == "en-US" and state["seq"] == "1"
    assert state["version"] == va.flows.current.version
    assert 3600 < store.ttl(keys.call(phone.sid)) <= 4 * 3600
    assert store.zscore(keys.calls_active(), phone.sid) is not None


def test_caller_details_reach_templates(voice_app: VoiceAppFactory) -> None:
    flow = """
    numbers: ["*"]
    start: hi
    steps:
      hi:
        hangup: "Hello {{ caller.name or 'friend' }} from {{ caller.city }}, {{ caller.country }}."
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone(CallerName="Jane Doe", FromCity="SAN FRANCISCO", FromCountry="US")
    phone.call()
    assert phone.said() == "Hello Jane Doe from SAN FRANCISCO, US."


def test_resume_without_state_answers_on_error(voice_app: VoiceAppFactory,
                                               tmp_path: Path) -> None:
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.post("/twilio/voice/step?kind=menu&at=main_menu&seq=1", {"Digits": "1"})
    assert phone.said() == "Sorry, we're having trouble."


def test_blank_text_says_nothing_and_long_text_is_cut(voice_app: VoiceAppFactory) -> None:
    flow = """
    numbers: ["*"]
    vars: {long: ""}
    start: blank
    steps:
      blank:
        say: "{{ vars.nothing }}"
        next: grow
      grow:
        set: {long: "{{ 'ab' * 3000 }}"}
        next: long
      long:
        hangup: "{{ vars.long }}"
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    assert phone.verbs() == ["Say", "Hangup"]
    assert len(phone.said()) == 4096


def test_loop_zero_and_no_finishing_key(voice_app: VoiceAppFactory) -> None:
    flow = """
    numbers: ["*"]
    start: code
    steps:
      code:
        gather: "Enter the code."
        min_digits: 3
        max_digits: 6
        finish_on: ""
        into: code
        next: repeat
      repeat:
        say: "Your code is {{ vars.code }}."
        loop: 0
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    gather = phone.gather()
    assert gather.attrib["finishOnKey"] == "" and gather.attrib["numDigits"] == "6"
    phone.press("12")  # too short
    phone.press("1234")
    assert phone.twiml is not None
    say = phone.twiml.find("Say")
    assert say is not None and say.text == "Your code is 1234." and say.attrib["loop"] == "0"


def test_texts_that_fail_do_not_break_the_call(voice_app: VoiceAppFactory, rest: Any) -> None:
    va = voice_app(FILES, now=OPEN)
    rest.fail = True
    phone = va.phone()
    phone.call()
    phone.press("6")  # message step: the REST API answers 500
    assert phone.verbs() == ["Pause", "Play", "Play", "Say", "Hangup"]
    other = va.phone("CA" + "7" * 32)
    other.call()
    other.press("9")
    action = other.action_of("Record")
    other.post(action, {"RecordingUrl": "https://x/RE9", "RecordingDuration": "5"})
    assert other.said() == "Thank you for calling. Goodbye."
    (item,) = voicemail.messages(va.engine.store, "alice")
    assert item["recording_url"] == "https://x/RE9" and "notified" not in item
    assert rest.messages == []


def test_record_action_after_the_call_ended_still_keeps_the_message(
        voice_app: VoiceAppFactory, rest: Any) -> None:
    """The caller hangs up while recording and the status callback comes first."""
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    phone.press("9")
    action = phone.action_of("Record")
    phone.hang_up()
    phone.post(action, {"RecordingUrl": "https://x/RE7", "RecordingDuration": "8",
                        "Digits": "hangup"})
    (item,) = voicemail.messages(va.engine.store, "alice")
    assert item["duration"] == 8 and item["call_sid"] == phone.sid
    assert len(rest.messages) == 1
    # the same action delivered again keeps one message and sends one text
    phone.post(action + "&again=1", {"RecordingUrl": "https://x/RE7",
                                     "RecordingDuration": "8", "Digits": "hangup"})
    assert len(voicemail.messages(va.engine.store, "alice")) == 1
    assert len(rest.messages) == 1


def test_star_and_hash_are_menu_keys(voice_app: VoiceAppFactory) -> None:
    flow = """
    numbers: ["*"]
    start: menu
    steps:
      menu:
        menu: "Press star to repeat, pound to leave."
        options: {"*": menu, "#": bye}
      bye:
        hangup: "Bye."
    """
    va = voice_app({"main.yaml": flow})
    phone = va.phone()
    phone.call()
    phone.press("*")
    assert phone.gather() is not None
    phone.press("#")
    assert phone.said() == "Bye."


def test_final_status_overtaking_the_last_action_wins(voice_app: VoiceAppFactory) -> None:
    """The status callback is handled while the caller's last action is still running."""
    va = voice_app(FILES, now=OPEN)
    phone = va.phone()
    phone.call()
    store = va.engine.store
    key = keys.call(phone.sid)
    engine = va.engine
    original_save = engine._save

    def hang_up_first(state: Any, reached: Any, *, new: bool, **writes: Any) -> None:
        phone.hang_up()  # arrives between the action's read and its write
        original_save(state, reached, new=new, **writes)

    engine._save = hang_up_first  # type: ignore[method-assign]
    try:
        phone.press("3")
    finally:
        engine._save = original_save  # type: ignore[method-assign]
    assert store.hget(key, "ended") == "caller-hangup"
    assert store.hget(key, "step") == "main_menu"  # the late write was refused
    assert 0 < store.ttl(key) <= 600
    assert analytics.step_stats(store, "main")["main_menu"]["dropped"] == 1
