"""Opt-out rules and the guarded send function, against real Redis and the simulator's REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from ivr.config import Config
from ivr.flows import optout
from ivr.flows.optout import keyword, send_text, split_body, xml_safe
from ivr.twilio_client import make_twilio_client

from .conftest import SERVICE, TEXTER, rest_to

Live = Any


@pytest.mark.parametrize("body, word", [
    ("STOP", "STOP"), ("stop", "STOP"), (" Stop. ", "STOP"), ("\n\tSTOP!!\n", "STOP"),
    ("🛑 stop 🛑", "STOP"), ("unsubscribe", "UNSUBSCRIBE"), ("End", "END"), ("quit", "QUIT"),
    ("STOPALL", "STOPALL"), ("revoke", "REVOKE"), ("optout", "OPTOUT"), ("Cancel", "CANCEL"),
    ("start", "START"), ("Yes!", "YES"), ("unstop", "UNSTOP"), ("help?", "HELP"),
    ("INFO", "INFO"),
    ("please stop", None), ("stop it", None), ("S T O P", None), ("stopp", None),
    ("opt out", None), ("", None), ("   ", None), ("1", None), ("ＳＴＯＰ", "STOP"),
])
def test_keywords_are_the_whole_message(body: str, word: str | None) -> None:
    assert keyword(body) == word


def test_bodies_are_split_at_1600_and_cleaned() -> None:
    long = ("abc " * 1000).strip()
    parts = split_body(long)
    assert all(len(p) <= 1600 for p in parts) and len(parts) == 3
    assert " ".join(parts) == long
    assert split_body("x" * 3201) == ["x" * 1600, "x" * 1600, "x"]
    assert xml_safe("a\x00b\x1fc\ud800d\te\nf") == "abcd\te\nf"
    assert split_body("  ") == []


def test_opt_out_is_per_number_across_channels(r: redis.Redis) -> None:
    assert optout.opt_out(r, "whatsapp:" + TEXTER) is True
    assert optout.opt_out(r, TEXTER) is False  # already: no second confirmation
    assert optout.is_opted_out(r, TEXTER) and optout.is_opted_out(r, "whatsapp:" + TEXTER)
    assert not optout.is_opted_out(r, "+14155550101")
    assert optout.opt_in(r, TEXTER) is True
    assert optout.opt_in(r, TEXTER) is False
    assert not optout.is_opted_out(r, "whatsapp:" + TEXTER)


def test_send_text_long_body_media_and_refusals(live: Callable[..., Live]) -> None:
    lv = live()
    twilio = lv.app.extensions["ivr.twilio"]
    body = "word " * 500  # 2,500 characters: two messages
    assert send_text(lv.redis, twilio, to=TEXTER, from_=SERVICE, body=body,
                     media=["https://example.com/a.jpg"])
    sent = rest_to(lv, TEXTER)
    assert [len(m.body) <= 1600 for m in sent] == [True, True]
    assert sent[-1].media == ["https://example.com/a.jpg"] and sent[0].media == []
    # A WhatsApp sender address is not used for an SMS recipient.
    assert send_text(lv.redis, twilio, to="+14155550133", from_="whatsapp:" + SERVICE, body="x")
    assert rest_to(lv, "+14155550133")[0].from_ == SERVICE
    assert send_text(lv.redis, twilio, to="", from_=SERVICE, body="x") is False
    assert send_text(lv.redis, twilio, to=TEXTER, from_=SERVICE, body="  ") is False
    lv.sim.assert_no_errors()


def test_send_text_reports_a_twilio_failure(r: redis.Redis) -> None:
    # Nothing listens on port 9 of loopback: the REST call fails, send_text says so.
    client = make_twilio_client(Config(twilio_api_url="http://127.0.0.1:9",
                                       twilio_account_sid="AC" + "0" * 32,
                                       twilio_auth_token="t"))
    assert send_text(r, client, to=TEXTER, from_=SERVICE, body="hello") is False
