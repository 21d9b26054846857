"""Templates render in a sandbox; conditions are lenient; prompts pick a language."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from ivr.flows import templates
from ivr.flows.templates import evaluate, pick_prompt, render


def test_render_uses_the_context() -> None:
    ctx = {"vars": {"company": "Acme"}, "caller": {"number": "+15005550006"}}
    assert render("Thanks for calling {{ vars.company }}.", ctx) == "Thanks for calling Acme."
    assert render("{{ caller.number[-4:] }}", ctx) == "0006"


def test_missing_values_render_empty() -> None:
    """Twilio does not always send a caller name: the prompt still plays."""
    assert render("Hello {{ caller.name }}!", {"caller": {}}) == "Hello !"
    assert render("Hello {{ caller.name.first }}!", {}) == "Hello !"


def test_sandbox_blocks_attribute_escapes() -> None:
    assert render("{{ ''.__class__ }}", {}) == ""
    with pytest.raises(SecurityError):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    with pytest.raises(SecurityError):
        render("{{ vars.pop('x') }}", {"vars": {"x": 1}})


def test_no_html_escaping() -> None:
    """Speech text is not HTML; twilio-python escapes it for XML."""
    assert render("{{ vars.name }}", {"vars": {"name": "Tom & Jerry <3"}}) == "Tom & Jerry <3"


def test_templates_are_cached_by_text() -> None:
    text = "cache test {{ vars.n }}"
    render(text, {"vars": {"n": 1}})
    before = templates._template.cache_info().hits
    assert render(text, {"vars": {"n": 2}}) == "cache test 2"
    assert templates._template.cache_info().hits == before + 1


def test_evaluate() -> None:
    ctx = {"vars": {"vip": True, "balance": "12"}, "input": "1"}
    assert evaluate("vars.vip", ctx) is True
    assert evaluate("vars.balance|int > 10", ctx) is True
    assert evaluate("input == '2'", ctx) is False


def test_evaluate_failure_is_false_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert evaluate("vars.balance > 10", {"vars": {"balance": "12"}}) is False
    assert evaluate("vars.missing > 3", {"vars": {}}) is False
    assert "could not be evaluated" in caplog.text


def test_evaluate_does_not_swallow_sandbox_violations() -> None:
    with pytest.raises(SecurityError):
        evaluate("''.__class__.__mro__[1].__subclasses__()", {})


def test_syntax_checks() -> None:
    assert templates.check_template("{{ vars.x }}") is None
    assert templates.check_template("{% if %}") is not None
    assert templates.check_expression("vars.x > 1") is None
    assert templates.check_expression("vars.x >") is not None
    assert templates.undeclared_names("{{ var.x }} {% set y = 1 %}{{ y }}") == {"var"}


@pytest.mark.parametrize(("prompt", "language", "default", "expected"), [
    ("plain", "es-MX", "en-US", "plain"),
    ({"en-US": "Hi", "es-MX": "Hola"}, "es-MX", "en-US", "Hola"),
    ({"en-US": "Hi", "es-ES": "Hola"}, "es-MX", "en-US", "Hola"),   # same primary language
    ({"en-US": "Hi", "fr-FR": "Salut"}, "de-DE", "en-US", "Hi"),    # the flow's default
    ({"en-GB": "Hello", "fr-FR": "Salut"}, "de-DE", "en-US", "Hello"),  # default's primary
    ({"fr-FR": "Salut"}, "de-DE", "en-US", "Salut"),                # first written
])
def test_pick_prompt(prompt: object, language: str, default: str, expected: str) -> None:
    assert pick_prompt(prompt, language, default) == expected  # type: ignore[arg-type]
