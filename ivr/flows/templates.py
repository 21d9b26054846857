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
- the sandbox also bounds arithmetic that a caller's input could blow up, as
  Jinja's own sandbox bounds `range`: `**`, `*` and `%` whose result would be
  huge (`(input|int) ** 999999999`, `'x' * 10**9`, `'%0999999999d' % 1`),
  and the same widths through `|format`, `|center`, `|indent` and
  `str.format`, raise `SecurityError` at once instead of holding the webhook
  (nor the checker: intercepted operators are never folded into constants
  when compiling).
- everything rendered loses the code points XML cannot carry (control
  characters such as U+0001 or U+000B, lone surrogates): whatever a template
  puts into TwiML, from a caller's name to a CRM's answer, stays well-formed
  XML, on voice and sms alike.
Compiled templates are cached by their text, so a busy flow compiles each prompt once.
"""

from __future__ import annotations

import logging
import operator
import re
import string
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ivr.flows.model import Prompt

log = logging.getLogger("ivr.flows")

CONTEXT_NAMES = ("vars", "caller", "call", "input", "now")
"""The top-level names a template may use (docs/callflows.md, Templates)."""

MAX_INT_BITS = 4096
"""Largest whole number template arithmetic may make (about 1,200 decimal digits)."""
MAX_LENGTH = 100_000
"""Longest text or list that `*` or `%` may make (Jinja's sandbox allows range(100000))."""

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FORMAT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def xml_safe(text: str) -> str:
    """Drop the code points XML 1.0 cannot carry (control characters, lone surrogates)."""
    return _XML_ILLEGAL.sub("", text)


def _whole(value: Any) -> bool:
    return isinstance(value, int)  # bool too: True ** n is cheap, and bit_length knows it


def _too_large(what: str) -> SecurityError:
    return SecurityError(f"template arithmetic too large: {what}")


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `**`, `*` and `%` checked before they run."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if _whole(left) and _whole(right) and right > 0 and abs(left) > 1 \
                    and left.bit_length() * right > MAX_INT_BITS:
                raise _too_large(f"{_short(left)} ** {_short(right)}")
            return operator.pow(left, right)
        if operator_ == "*":
            if _whole(left) and _whole(right):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise _too_large(f"{_short(left)} * {_short(right)}")
            elif isinstance(left, str | list | tuple) and _whole(right) \
                    or isinstance(right, str | list | tuple) and _whole(left):
                seq, times = (left, right) if _whole(right) else (right, left)
                if len(seq) * times > MAX_LENGTH:
                    raise _too_large(f"{len(seq)} items repeated {_short(times)} times")
            return operator.mul(left, right)
        if operator_ == "%" and isinstance(left, str):
            _check_format(left, right)
        return super().call_binop(context, operator_, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        """`'{:0999999999}'.format(1)`: the same width bound for str.format."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        spec_text = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            for _, _, spec, _ in string.Formatter().parse(spec_text):
                for size in re.findall(r"\d+", spec or ""):
                    if int(size) > MAX_LENGTH:
                        raise _too_large(f"a width of {_short(size)} in str.format")
            return str(wrapped(*args, **kwargs))

        return checked


def _short(n: Any) -> str:
    text = str(n)
    return text if len(text) <= 20 else f"{text[:8]}...({len(text)} digits)"


def _check_format(spec: str, args: Any) -> None:
    """`'%0999999999d' % 1` would make a gigabyte of zeros: refuse widths past MAX_LENGTH."""
    values = list(args) if isinstance(args, tuple) else [args]
    for m in _FORMAT_WIDTH.finditer(spec):
        for size in m.groups():
            if size == "*":
                star = values.pop(0) if values else 0
                if _whole(star) and abs(star) > MAX_LENGTH:
                    raise _too_large(f"a width of {_short(star)} in '%' formatting")
            elif size and int(size) > MAX_LENGTH:
                raise _too_large(f"a width of {_short(size)} in '%' formatting")


ENV = _BoundedSandbox(
    autoescape=False,
    undefined=jinja2.ChainableUndefined,
    keep_trailing_newline=False,
)


def _bounded_filter(name: str, width_of: Any) -> None:
    """Wrap a built-in filter that pads text: refuse widths past MAX_LENGTH."""
    original = ENV.filters[name]

    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        width = width_of(value, args, kwargs)
        if _whole(width) and abs(width) > MAX_LENGTH:
            raise _too_large(f"a width of {_short(width)} in |{name}")
        return original(value, *args, **kwargs)

    ENV.filters[name] = bounded


_bounded_filter("center", lambda v, a, k: k.get("width", a[0] if a else 0))
_bounded_filter("indent", lambda v, a, k: k.get("width", a[0] if a else 0))


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    """`'%0999999999d'|format(1)` is `%` formatting: the same bound."""
    _check_format(str(value), kwargs or args)
    return str(_JINJA_FORMAT(value, *args, **kwargs))


_JINJA_FORMAT = ENV.filters["format"]
ENV.filters["format"] = _format_filter


_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_literal(value: Any) -> str:
    """A value as Markdown text that means itself: every ASCII punctuation character
    backslash-escaped (CommonMark allows it for each), so a caller's name such as
    `[Pay here](https://…)` or `**URGENT**` is shown as typed, never a link or markup."""
    if isinstance(value, jinja2.Undefined):
        return ""
    return _MD_PUNCTUATION.sub(r"\\\1", str(value))


# Scripts for agents are Markdown written by admins around values from callers and
# CRMs: the admin's text keeps its Markdown, each {{ value }} is escaped (finalize runs
# on expression results only).
MARKDOWN_ENV = ENV.overlay(finalize=markdown_literal)


@lru_cache(maxsize=4096)
def _template(text: str) -> jinja2.Template:
    return ENV.from_string(text)


@lru_cache(maxsize=1024)
def _markdown_template(text: str) -> jinja2.Template:
    return MARKDOWN_ENV.from_string(text)


def render_markdown(text: str, context: dict[str, Any]) -> str:
    """Render a Markdown template (a queue's script) with every inserted value escaped.

    Raises `jinja2.TemplateError` (SecurityError included) on failure.
    """
    if "{" not in text:
        return xml_safe(text)
    return xml_safe(_markdown_template(text).render(context))


@lru_cache(maxsize=1024)
def _expression(expr: str) -> Any:
    return ENV.compile_expression(expr, undefined_to_none=False)


def render(text: str, context: dict[str, Any]) -> str:
    """Render one prompt, without the characters XML cannot carry.

    Raises `jinja2.TemplateError` (SecurityError included) on failure.
    """
    if "{" not in text:  # plain text: skip the template machinery
        return xml_safe(text)
    return xml_safe(_template(text).render(context))


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
