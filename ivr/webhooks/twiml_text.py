"""TwiML documents as text: the same characters as twilio-python's `str(response)`.

Why not `str(response)` itself: twilio-python's `TwiML.to_xml` copies the document
into an ElementTree and serialises that: 39 µs for a menu's answer, against 11 µs
written directly (docs/benchmarks.md). The document is still built with `VoiceResponse` and
`MessagingResponse`; only the last step, from their tree (`name`, `attrs`, `value`,
`verbs`) to text, is done here, directly and with ElementTree's own escaping rules.
`tests/webhooks/test_twiml_text.py` checks the output against `to_xml` character for
character on generated documents.
"""

from __future__ import annotations

import json

from twilio.twiml import TwiML as Node

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


# ElementTree's escaping: `&`, `<`, `>` in text; quotes and line ends in attributes too.
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTRIBUTE_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"),
                      ("\t", "&#09;"))


def _escape(text: str, escapes: tuple[tuple[str, str], ...] = _TEXT_ESCAPES) -> str:
    for char, entity in escapes:
        if char in text:  # most texts have none: no copy made
            text = text.replace(char, entity)
    return text


def _write(node: Node, out: list[str]) -> None:
    name: str = node.name
    out.append("<" + name)
    attrs = node.attrs
    for key in sorted(attrs):  # twilio-python writes attributes sorted by name
        value = attrs[key]
        text_value = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(f' {key}="{_escape(text_value, _ATTRIBUTE_ESCAPES)}"')
    text = node.value
    if text and isinstance(text, dict):  # a JSON value (an empty one is left out)
        text = json.dumps(text)
    # A string among the verbs is the text after the verb before it, or the node's
    # own text when it comes first (replacing `value`): twilio-python's rule.
    children: list[Node] = []
    tails: list[str] = []
    for verb in node.verbs:
        if isinstance(verb, str):
            if children:
                tails[-1] = verb
            else:
                text = verb
        else:
            children.append(verb)
            tails.append("")
    if not text and not children:
        out.append(" />")
        return
    out.append(">")
    if text:
        out.append(_escape(str(text)))
    for child, tail in zip(children, tails, strict=True):
        _write(child, out)
        if tail:
            out.append(_escape(tail))
    out.append("</" + name + ">")


def to_text(document: Node | str) -> str:
    """The document as Twilio receives it, XML declaration first; a string as is."""
    if isinstance(document, str):
        return document
    out = [DECLARATION]
    _write(document, out)
    return "".join(out)
