"""Random caller input into the engine: never a 5xx, always well-formed TwiML."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import CALLER, MAIN_NUMBER, VoiceApp
from .test_voice import FILES, OPEN

VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Record", "Dial", "Number", "Sip",
         "Enqueue", "Hangup"}
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)
digits = st.text(alphabet="0123456789*#", max_size=12)
SIDS = itertools.count()
kinds = st.sampled_from(["menu", "gather", "record", "dial", "queue", "", "bogus"])


def well_formed(body: str) -> None:
    assert len(body.encode()) < 64 * 1024
    root = ET.fromstring(body)
    assert root.tag == "Response"
    for element in root.iter():
        assert element is root or element.tag in VERBS, element.tag


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_input_never_breaks_a_call(voice_app: Callable[..., VoiceApp],
                                          caplog: pytest.LogCaptureFixture,
                                          data: st.DataObject) -> None:
    """Also no internal fault: the on_error answer would be 200 too, so we read the log."""
    va = voice_app(FILES, now=OPEN)
    sid = f"CA{next(SIDS):032d}"
    base = {"CallSid": sid, "From": CALLER, "To": MAIN_NUMBER, "AccountSid": "AC" + "0" * 32}
    answer = va.client.post("/twilio/voice", data=base)
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    well_formed(body)
    for _ in range(data.draw(st.integers(1, 4))):
        root = ET.fromstring(body)
        gather = root.find("Gather")
        if gather is not None and data.draw(st.booleans()):
            parts = urlsplit(gather.attrib["action"])
            path = parts.path + "?" + parts.query
        else:
            query = {"kind": data.draw(kinds), "seq": str(data.draw(st.integers(-1, 5))),
                     "at": data.draw(text)}
            path = "/twilio/voice/step?" + urlencode(query)
        form = dict(base)
        form["Digits"] = data.draw(digits)
        form["SpeechResult"] = data.draw(text)
        if data.draw(st.booleans()):
            form["DialCallStatus"] = data.draw(st.sampled_from(
                ["completed", "no-answer", "busy", "failed", "canceled", "x"]))
            form["QueueResult"] = data.draw(st.sampled_from(
                ["bridged", "hangup", "leave", "error", "redirected", "?"]))
            form["RecordingUrl"] = data.draw(text)
            form["RecordingDuration"] = data.draw(st.sampled_from(["0", "7", "-1", "x", ""]))
        answer = va.client.post(path, data=form)
        assert answer.status_code == 200, answer.data
        assert answer.mimetype == "text/xml"
        body = answer.get_data(as_text=True)
        well_formed(body)
    faults = [rec.getMessage() for rec in caplog.records if "fault while handling" in
              rec.getMessage()]
    assert not faults, faults
