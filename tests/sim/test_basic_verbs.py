"""Say, Play, Pause, Gather, Redirect, Hangup, Reject, fallback and signatures."""

from __future__ import annotations

from ivr.sim.people import Caller, Hangup, Silence, Speech
from ivr.sim.twilio import TwilioSim

from .canned import ACCOUNT_SID, resp
from .conftest import Canned

FROM, TO = "+15551230001", "+15005550006"


def test_inbound_call_params_signature_and_status_callback(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Say voice="Polly.Joanna" language="en-US">Hello there</Say>')

    @canned.twiml("/twilio/voice/status")
    def status(p: dict[str, str]) -> str:
        return ""

    call = sim.place_call(FROM, TO, Caller(from_city="Boston", from_state="MA",
                                           from_country="US")).wait(10)
    assert call.transcript == [("say", "Hello there", "Polly.Joanna", "en-US")]
    assert call.status == "completed"
    first = canned.hits_to("/twilio/voice")[0]
    assert first.signature_ok
    p = first.params
    assert p["CallSid"] == call.sid and p["CallSid"].startswith("CA") and len(p["CallSid"]) == 34
    assert p["AccountSid"] == ACCOUNT_SID
    assert (p["From"], p["To"], p["Caller"], p["Called"]) == (FROM, TO, FROM, TO)
    assert p["Direction"] == "inbound" and p["CallStatus"] == "ringing"
    assert p["ApiVersion"] == "2010-04-01"
    assert (p["FromCity"], p["FromState"], p["FromCountry"]) == ("Boston", "MA", "US")
    hits = canned.hits_to("/twilio/voice/status")
    assert len(hits) == 1  # a console status callback: completed only
    assert hits[0].signature_ok
    s = hits[0].params
    assert s["CallStatus"] == "completed" and s["SequenceNumber"] == "0"
    assert s["CallbackSource"] == "call-progress-events" and "CallDuration" in s
    assert s["Timestamp"].endswith("+0000")
    assert sim.errors == []


def test_gather_digits_go_to_action_without_finish_key(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Gather action="/menu" numDigits="4"><Say>Enter your PIN</Say></Gather>',
                    "<Say>never heard</Say>")

    @canned.twiml("/menu")
    def menu(p: dict[str, str]) -> str:
        return resp(f"<Say>You pressed {p.get('Digits')}</Say>")

    call = sim.place_call(FROM, TO, Caller(["12#"])).wait(10)
    assert call.said() == ["Enter your PIN", "You pressed 12"]
    assert canned.hits_to("/menu")[0].params["FinishedOnKey"] == "#"
    call2 = sim.place_call(FROM, TO, Caller(["123456"])).wait(10)
    assert call2.said()[-1] == "You pressed 1234"  # numDigits cuts it


def test_gather_default_action_is_current_document(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        if "Digits" in p:
            return resp(f"<Say>got {p['Digits']}</Say>")
        return resp("<Gather><Say>Press something</Say></Gather>")

    call = sim.place_call(FROM, TO, Caller(["7#"])).wait(10)
    assert call.said() == ["Press something", "got 7"]


def test_gather_silence_falls_through_and_action_on_empty_result(
    canned: Canned, sim: TwilioSim
) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Gather action="/a" timeout="3"><Say>Menu</Say></Gather>',
                    "<Say>Nothing chosen</Say>",
                    '<Gather action="/b" actionOnEmptyResult="true"><Say>Again</Say></Gather>')

    @canned.twiml("/a")
    def a(p: dict[str, str]) -> str:
        return resp("<Say>A</Say>")

    @canned.twiml("/b")
    def b(p: dict[str, str]) -> str:
        return resp(f"<Say>B digits={p.get('Digits')!r}</Say>")

    call = sim.place_call(FROM, TO, Caller([Silence(), Silence()])).wait(10)
    assert call.said() == ["Menu", "Nothing chosen", "Again", "B digits=None"]
    assert canned.hits_to("/a") == []


def test_gather_speech(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        if "SpeechResult" in p:
            return resp(f"<Say>{p['SpeechResult']} at {p['Confidence']}</Say>")
        return resp('<Gather input="dtmf speech" hints="sales,support">'
                    "<Say>Say sales</Say></Gather>")

    call = sim.place_call(FROM, TO, Caller([Speech("sales", confidence=0.8)])).wait(10)
    assert call.said() == ["Say sales", "sales at 0.80"]
    # keys at a speech-only gather are not heard
    @canned.twiml("/speech-only")
    def speech_only(p: dict[str, str]) -> str:
        return resp('<Gather input="speech" action="/x"><Say>Talk</Say></Gather><Say>bye</Say>')

    sim.voice_url = canned.url + "/speech-only"
    call = sim.place_call(FROM, TO, Caller(["1"])).wait(10)
    assert call.said() == ["Talk", "bye"]


def test_redirect_hangup_and_caller_hangup(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Redirect method="GET">/second?x=1</Redirect><Say>skipped</Say>')

    @canned.twiml("/second", methods=("GET",))
    def second(p: dict[str, str]) -> str:
        return resp(f"<Say>second {p.get('x')}</Say>", "<Hangup/>", "<Say>after hangup</Say>")

    call = sim.place_call(FROM, TO).wait(10)
    assert call.said() == ["second 1"]
    hit = canned.hits_to("/second")[0]
    assert hit.method == "GET" and hit.signature_ok and hit.params["CallSid"] == call.sid

    @canned.twiml("/menu-loop")
    def loop(p: dict[str, str]) -> str:
        return resp("<Gather><Say>menu</Say></Gather><Redirect>/menu-loop</Redirect>")

    sim.voice_url = canned.url + "/menu-loop"
    call = sim.place_call(FROM, TO, Caller([Silence(), Hangup()])).wait(10)
    assert call.said() == ["menu", "menu"]
    assert call.status == "completed"


def test_reject_statuses(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Reject reason="busy"/>')

    @canned.twiml("/rejected")
    def rejected(p: dict[str, str]) -> str:
        return resp("<Reject/>")

    @canned.twiml("/twilio/voice/status")
    def status(p: dict[str, str]) -> str:
        return ""

    assert sim.place_call(FROM, TO).wait(10).status == "busy"
    sim.voice_url = canned.url + "/rejected"
    call = sim.place_call(FROM, TO).wait(10)
    assert call.status == "no-answer"
    assert canned.hits_to("/twilio/voice/status")[-1].params["CallStatus"] == "no-answer"


def test_fallback_url_used_when_primary_fails(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> tuple[str, int]:
        return "boom", 500

    @canned.twiml("/twilio/voice/fallback")
    def fallback(p: dict[str, str]) -> str:
        return resp(f"<Say>fallback {p['ErrorCode']}</Say>")

    call = sim.place_call(FROM, TO).wait(10)
    assert call.said() == ["fallback 11200"]
    fb = canned.hits_to("/twilio/voice/fallback")[0]
    assert fb.signature_ok and fb.params["ErrorUrl"] == canned.url + "/twilio/voice"
    assert any("answered 500" in e for e in sim.errors)


def test_malformed_twiml_and_unknown_verb_are_loud(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp("<Say>hi</Say><Dance/>")

    @canned.twiml("/twilio/voice/fallback")
    def fallback(p: dict[str, str]) -> str:
        return "<Response><Say>unclosed</Response>"

    call = sim.place_call(FROM, TO).wait(10)
    assert call.said()[0] == "hi"
    assert "application error" in call.said()[-1]
    assert any("<Dance>" in e for e in sim.errors)
    sim.record.errors.clear()
    sim.voice_url = canned.url + "/nowhere"
    call = sim.place_call(FROM, TO).wait(10)
    assert any("malformed" in e for e in sim.errors)


def test_say_play_pause_loops_and_timing(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp('<Say loop="2">Hi</Say><Play loop="3">/music.mp3</Play>',
                    '<Pause length="4"/><Play digits="1w2"/>')

    call = sim.place_call(FROM, TO).wait(10)
    kinds = [e[0] for e in call.transcript]
    assert kinds == ["say", "say", "play", "play", "play", "pause", "play_digits"]
    assert call.transcript[2] == ("play", canned.url + "/music.mp3")
    assert call.transcript[5] == ("pause", 4.0)


def test_play_of_missing_media_is_skipped_and_reported(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp("<Play>/missing.mp3</Play><Play>/present.mp3</Play><Say>done</Say>")

    call = sim.place_call(FROM, TO).wait(10)
    assert call.transcript == [("play-error", canned.url + "/missing.mp3"),
                               ("play", canned.url + "/present.mp3"),
                               ("say", "done", None, None)]
    assert any("missing.mp3 answered 404" in e for e in sim.errors)


def test_wrong_content_type_and_oversized_twiml_are_reported(
    canned: Canned, sim: TwilioSim
) -> None:
    from flask import Response

    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> Response:
        return Response(resp("<Say>plain</Say>"), mimetype="text/plain")

    call = sim.place_call(FROM, TO).wait(10)
    assert call.said() == ["plain"]
    assert any("Content-Type 'text/plain" in e for e in sim.errors)

    @canned.twiml("/big")
    def big(p: dict[str, str]) -> str:
        return resp("<Say>" + "x" * 70_000 + "</Say>")

    sim.record.errors.clear()
    sim.voice_url = canned.url + "/big"
    call = sim.place_call(FROM, TO).wait(10)
    assert any("64 KB" in e for e in sim.errors)


def test_dump_lists_legs_transcripts_and_errors(canned: Canned, sim: TwilioSim) -> None:
    @canned.twiml("/twilio/voice")
    def voice(p: dict[str, str]) -> str:
        return resp("<Say>Hello dump</Say><Oops/>")

    call = sim.place_call(FROM, TO).wait(10)
    text = sim.dump()
    assert f"{call.sid} inbound {FROM} -> {TO}: queued > ringing > in-progress > completed" in text
    assert "Hello dump" in text and "ERROR" in text and "<Oops>" in text
