"""A captured, validly signed webhook replayed with a duplicated pair added still counts
as the same delivery: twilio-python signs each parameter's *set* of values, so the
replay key is built from exactly what the signature covers."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from ivr.sim.twilio import TwilioSim
from tests.security.conftest import ACCOUNT_SID, SERVICE, TEXTER, TWILIO_TOKEN, sign

TEAM = "+15005550199"
BASE = "http://localhost"

NOTIFY = textwrap.dedent(f"""
    numbers: ["{SERVICE}", "*"]
    channels: [sms]
    start: notify
    steps:
      notify:
        message: "New text from {{{{ caller.number }}}}: {{{{ input }}}}"
        to: "{TEAM}"
        next: bye
      bye:
        hangup: "Thanks, we got it."
""")


@pytest.fixture()
def sim() -> Iterator[TwilioSim]:
    sim = TwilioSim(account_sid=ACCOUNT_SID, auth_token=TWILIO_TOKEN)
    sim.start()
    yield sim
    sim.stop()


def test_duplicated_pairs_do_not_make_a_new_delivery(make_app, callflows_dir: Path,
                                                      sim: TwilioSim) -> None:
    (callflows_dir / "notify.yaml").write_text(NOTIFY)
    app = make_app(callflows=callflows_dir, twilio_auth_token=TWILIO_TOKEN,
                   twilio_account_sid=ACCOUNT_SID, twilio_api_url=sim.api_url)
    assert not app.extensions["ivr.flows"].problems
    params = {"MessageSid": "SM" + "8" * 32, "AccountSid": ACCOUNT_SID, "From": TEXTER,
              "To": SERVICE, "Body": "hi", "NumMedia": "0"}
    signature = sign(BASE + "/twilio/sms", params)
    captured = urlencode(params)
    client = app.test_client()
    answers = []
    for body in (captured, captured + "&Body=hi", captured + "&Body=hi&From=" +
                 TEXTER.replace("+", "%2B"), "Body=hi&" + captured):
        resp = client.post("/twilio/sms", data=body, headers={"X-Twilio-Signature": signature},
                           content_type="application/x-www-form-urlencoded")
        assert resp.status_code == 200, body  # each is validly signed
        answers.append(resp.data)
    assert len(set(answers)) == 1  # the first delivery's answer, from the cache
    time.sleep(0.2)
    assert len(sim.inbox(TEAM)) == 1  # the flow ran once: one text to the team


def test_a_different_value_is_not_the_same_signature(make_app, r) -> None:
    """The set of values is signed: another value for a key needs its own signature."""
    app = make_app(twilio_auth_token=TWILIO_TOKEN)
    params = {"MessageSid": "SM" + "7" * 32, "AccountSid": ACCOUNT_SID, "From": TEXTER,
              "To": SERVICE, "Body": "hi"}
    signature = sign(BASE + "/twilio/sms", params)
    resp = app.test_client().post(
        "/twilio/sms", data=urlencode(params) + "&Body=STOP",
        headers={"X-Twilio-Signature": signature},
        content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 403
