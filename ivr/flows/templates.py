"""Jinja2 templates of the call-flow language, rendered in a sandbox.

One sandboxed environment for the whole server (`ImmutableSandboxedEnvironment`,
the sandbox that also forbids changing lists and dicts, so a prompt can never
alter the call's variables):
- autoescape is off: we produce speech text and SMS bodies, not HTML; TwiML
  escaping is done by twilio-python's XML builder when the text is put into a verb.
- undefined names are *lenient* (`ChainableUndefined`): `{{ caller.name }}` when
  Twilio sent no name renders as an empty string instead of failing the call.
  Typos in top-level names (`{{ var.company }}`) are caught by the checker instead
  (see `undeclared_names`).
- the sandbox blocks attribute escapes (`{{ ''.__class__ }}` renders nothing;
  calling through one raises `jinja2.exceptions.SecurityError`).
Compiled templates are cached by their text, so a busy flow compiles each prompt once.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ivr.flows.model import Prompt

log = logging.getLogger("ivr.flows")

CONTEXT_NAMES = ("vars", "caller", "call", "input", "now")
"""The top-level names a template may use (product.md §4, Templates)."""

ENV = ImmutableSandboxedEnvironment(
    autoescape=False,
    undefined=jinja2.ChainableUndefined,
    keep_trailing_newline=False,
)


@lru_cache(maxsize=4096)
def _template(text: str) -> jinja2.Template:
    return ENV.from_string(text)


@lru_cache(maxsize=1024)
def _expression(expr: str) -> Any:
    return ENV.compile_expression(expr, undefined_to_none=False)


def render(text: str, context: dict[str, Any]) -> str:
    """Render one prompt. Raises `jinja2.TemplateError` (SecurityError included) on failure."""
    if "{" not in text:  # plain text: skip the template machinery
        return text
    return _template(text).render(context)


def evaluate(expr: str, context: dict[str, Any]) -> bool:
    """Truth of a `branch` condition.

    A condition that cannot be evaluated (an undefined variable compared with a
    number, a string compared with an int, ...) counts as false and is logged,
    so one bad condition never drops a call: the next condition or `else` decides.
    A sandbox violation is not swallowed: it raises `jinja2.exceptions.SecurityError`.
    """
    try:
        return bool(_expression(expr)(**context))
    except jinja2.exceptions.SecurityError:
        raise
    except (jinja2.UndefinedError, TypeError, ValueError, ArithmeticError,
            LookupError) as exc:
        log.warning("condition %r could not be evaluated (%s); counted as false", expr, exc)
        return False


@lru_cache(maxsize=8192)
def analyze(text: str, *, expression: bool = False) -> tuple[str | None, frozenset[str]]:
    """(syntax error message or None, top-level names read) of a template or condition.

    One parse serves both answers, cached by text: the checker sees the same
    prompt in every reload.
    """
    try:
        if expression:
            ENV.compile_expression(text)
            ast = ENV.parse("{{ (" + text + ") }}")
        else:
            ast = ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        if expression:
            return f"condition syntax error: {exc.message}", frozenset()
        return (f"template syntax error: {exc.message} (line {exc.lineno} of the text)",
                frozenset())
    return None, frozenset(meta.find_undeclared_variables(ast))


@lru_cache(maxsize=8192)
def vars_read(text: str, *, expression: bool = False) -> frozenset[str]:
    """The `vars.NAME` (and `vars['NAME']`) a template or condition reads."""
    try:
        ast = ENV.parse("{{ (" + text + ") }}" if expression else text)
    except jinja2.TemplateSyntaxError:
        return frozenset()
    names: set[str] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        base = getattr(node, "node", None)
        if not (isinstance(base, nodes.Name) and base.name == "vars"):
            continue
        if isinstance(node, nodes.Getattr):
            names.add(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            names.add(node.arg.value)
    return frozenset(names)


def check_template(text: str) -> str | None:
    """The syntax error of a template as a message, or None when it compiles."""
    return analyze(text)[0]


def check_expression(expr: str) -> str | None:
    """The syntax error of a condition as a message, or None when it compiles."""
    return analyze(expr, expression=True)[0]


def undeclared_names(text: str, *, expression: bool = False) -> set[str]:
    """Top-level names a template (or a condition) reads from its context."""
    return set(analyze(text, expression=expression)[1])


def _primary(code: str) -> str:
    return code.split("-", 1)[0].lower()


def pick_prompt(prompt: Prompt, language: str, default_language: str) -> str:
    """The text of a prompt in the conversation's language.

    Order: exact language; same primary language (es-MX asked, es-ES written);
    the flow's default language; then its primary; then the first text written.
    """
    if isinstance(prompt, str):
        return prompt
    if not prompt:
        return ""
    for wanted in (language, default_language):
        if wanted in prompt:
            return prompt[wanted]
        for code, text in prompt.items():
            if _primary(code) == _primary(wanted):
                return text
    return next(iter(prompt.values()))
