"""Templates that cannot break TwiML nor hold a webhook: control characters and huge arithmetic."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from jinja2.exceptions import SecurityError
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from ivr.flows import templates
from ivr.flows.checker import check_texts

CTX = {"caller": {"name": "Bob\x01"}, "vars": {"crm": {"name": "Ann\u000bMarie\ud800"}},
       "input": "7"}


def test_rendered_text_loses_what_xml_cannot_carry() -> None:
    assert templates.render("Hello {{ caller.name }}", CTX) == "Hello Bob"
    assert templates.render("Hi {{ vars.crm.name }}!", CTX) == "Hi AnnMarie!"
    assert templates.render("tab\tand\nnewline\rkept\x7f", {}) == "tab\tand\nnewline\rkept\x7f"
    assert templates.render("plain\x0btext", {}) == "plaintext"


def test_rendered_text_makes_well_formed_twiml_for_voice_and_sms() -> None:
    text = templates.render("Hello {{ caller.name }} and {{ vars.crm.name }}", CTX)
    voice = VoiceResponse()
    voice.say(text)
    sms = MessagingResponse()
    sms.message(text)
    for twiml in (str(voice), str(sms)):
        ET.fromstring(twiml)  # raises on characters XML cannot carry


@pytest.mark.timeout(10)
def test_a_huge_power_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(SecurityError, match="too large: 7 \\*\\* 999999999"):
        templates.render("{{ (input|int) ** 999999999 }}", CTX)
    with pytest.raises(SecurityError, match="too large"):
        templates.evaluate("(input|int) ** 999999999 > 5", CTX)
    assert time.monotonic() - started < 1


@pytest.mark.timeout(10)
def test_checking_a_huge_constant_power_does_not_compute_it() -> None:
    """Jinja folds constants when compiling: an intercepted operator is never folded."""
    flow = ('numbers: ["*"]\nsteps:\n  a:\n    branch:\n      - {if: "2 ** 999999999 > 1", '
            'goto: b}\n    else: b\n  b:\n    hangup: "{{ 3 ** 999999999 }}"\n')
    started = time.monotonic()
    check_texts({"main.yaml": flow})
    assert time.monotonic() - started < 2


@pytest.mark.timeout(10)
@pytest.mark.parametrize("template", [
    "{{ 'x' * 1000000000 }}",
    "{{ [1] * (input|int * 100000000) }}",
    "{{ (9 ** 1000) * (9 ** 1000) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ '%(a)0999999999d' % {'a': 1} }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '{:0999999999}'.format(1) }}",
    "{{ 'x'|center(999999999) }}",
    "{{ 'a\nb'|indent(999999999) }}",
])
def test_other_huge_results_are_refused(template: str) -> None:
    with pytest.raises(SecurityError, match="template arithmetic too large"):
        templates.render(template, CTX)


def test_ordinary_arithmetic_is_unchanged() -> None:
    assert templates.render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 ** 999999999 }} "
                            "{{ (-1) ** 999999999 }} {{ 2.0 ** 0.5 }}", {}) == \
        "1024 0.5 1 -1 1.4142135623730951"
    assert templates.render("{{ 3 * 4 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 7 % 3 }} "
                            "{{ '%05.1f' % 3.14159 }} {{ '%s-%s' % ('a', 'b') }}", {}) == \
        "12 ababab [1, 1] 1 003.1 a-b"
    assert templates.render("{{ '%s!'|format('hi') }} {{ '{:>4}'.format('x') }} "
                            "[{{ 'x'|center(5) }}]", {}) == "hi!    x [  x  ]"
    assert templates.evaluate("(input|int) ** 2 == 49", CTX)
