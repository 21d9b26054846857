"""The actions that behave by text as on voice: http, set, branch, language, goto,
hours — through the simulator, with a CRM stand-in on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask, jsonify, request

from ivr.sim.harness import RunningServer, serve_wsgi

from .conftest import FILES, SERVICE, TEXTER

Live = Any


@pytest.fixture()
def crm() -> Iterator[RunningServer]:
    app = Flask("crm")

    @app.get("/customer")
    def customer() -> Any:
        if request.args.get("phone") == TEXTER:
            return jsonify({"name": "Jane", "tier": "gold"})
        return jsonify({}), 404

    server = serve_wsgi(app)
    yield server
    server.stop()


def flow(port: int) -> str:
    return f"""
numbers: ["{SERVICE}"]
channels: [sms]
http_hosts: [127.0.0.1]
vars: {{greeting: Hello}}
steps:
  lookup:
    http: "http://127.0.0.1:{port}/customer?phone={{{{ caller.number | urlencode }}}}"
    into: crm
    next: who
    error: stranger
  who:
    set: {{name: "{{{{ vars.crm.name }}}}"}}
    next: tier
  tier:
    branch:
      - if: "vars.crm.tier == 'gold'"
        goto: gold
    else: stranger
  gold:
    say: "{{{{ vars.greeting }}}} {{{{ vars.name }}}}, gold line."
    next: pick
  stranger:
    say: "{{{{ vars.greeting }}}} there."
    next: pick
  pick:
    menu: {{en-US: "Reply 1 for English or 2 for Spanish.", es-MX: "Responda 1 o 2."}}
    options: {{1: english, 2: spanish}}
    words: {{spanish: [espanol, "español", spanish]}}
  english:
    goto: open
  spanish:
    language: es-MX
    next: open
  open:
    hours: office
    open: bye
    closed: bye_closed
  bye:
    hangup: {{en-US: "Bye.", es-MX: "Adiós."}}
  bye_closed:
    hangup: {{en-US: "Closed now. Bye.", es-MX: "Cerrado. Adiós."}}
"""


def test_http_set_branch_language_goto_hours(live: Callable[..., Live],
                                             crm: RunningServer) -> None:
    lv = live({**FILES, "text.yaml": flow(crm.port)})
    lv.app.extensions["ivr.texting"].clock = lambda: datetime(2026, 11, 18, 15, tzinfo=UTC)
    sim = lv.sim
    assert sim.send_sms(TEXTER, SERVICE, "hi") == [
        "Hello Jane, gold line.\nReply 1 for English or 2 for Spanish."]
    assert sim.send_sms(TEXTER, SERVICE, "Español!") == ["Adiós."]
    # Someone the CRM does not know takes the http step's error way; English, then hours.
    other = "+14155550123"
    assert sim.send_sms(other, SERVICE, "hi") == [
        "Hello there.\nReply 1 for English or 2 for Spanish."]
    lv.app.extensions["ivr.texting"].clock = lambda: datetime(2026, 11, 18, 3, tzinfo=UTC)
    assert sim.send_sms(other, SERVICE, "1") == ["Closed now. Bye."]
    sim.assert_no_errors()
