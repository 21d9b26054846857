"""Single values: types, numbers, names, phone numbers, prompts, templates, languages.

The pure rules (`did_you_mean`, `type_name`, `phone_problem`, ...) and `Values`,
the checker's toolkit: each method checks one value where it was written and
reports a located problem. Step specs (`ivr.flows.steps`) get this toolkit as
`ck` in their `check`, so they never import the checker.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import holidays as holidays_lib
import phonenumbers

from ivr.flows import templates
from ivr.flows.actions_http import url_problem
from ivr.flows.checker.base import CheckerBase
from ivr.flows.model import Location
from ivr.flows.yamlsrc import item_loc, key_loc, value_loc

# Twilio <Say> languages (Polly, Google and the classic voices).
LANGUAGES = frozenset([
    "af-ZA", "am-ET", "ar-AE", "ar-XA", "arb", "bg-BG", "bn-IN", "ca-ES", "cmn-CN", "cmn-TW",
    "cs-CZ", "cy-GB", "da-DK", "de-AT", "de-CH", "de-DE", "el-GR", "en-AU", "en-CA", "en-GB",
    "en-GB-WLS", "en-IE", "en-IN", "en-NZ", "en-SG", "en-US", "en-ZA", "es-ES", "es-MX", "es-US",
    "et-EE", "eu-ES", "fi-FI", "fil-PH", "fr-BE", "fr-CA", "fr-CH", "fr-FR", "gl-ES", "gu-IN",
    "he-IL", "hi-IN", "hr-HR", "hu-HU", "id-ID", "is-IS", "it-IT", "ja-JP", "kn-IN", "ko-KR",
    "lt-LT", "lv-LV", "ml-IN", "mr-IN", "ms-MY", "nb-NO", "nl-BE", "nl-NL", "pa-IN", "pl-PL",
    "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sl-SI", "sr-RS", "sv-SE", "sw-KE", "ta-IN",
    "te-IN", "th-TH", "tr-TR", "uk-UA", "ur-IN", "vi-VN", "yue-CN", "yue-HK", "zh-CN", "zh-HK",
    "zh-TW",
])
CLASSIC_VOICES = ("man", "woman", "alice")
VOICE_PATTERN = re.compile(
    r"^(Polly\.[A-Z][A-Za-z]+(-(Neural|Generative|LongForm))?"
    r"|Google\.[a-z]{2,3}-[A-Z]{2,3}-[A-Za-z0-9]+(-[A-Za-z0-9]+)*)$"
)
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_DEPTH = 40


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest name, or ''."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text


@lru_cache(maxsize=1)
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def holiday_countries() -> dict[str, list[str]]:
    return {k: list(v) for k, v in holidays_lib.list_supported_countries().items()}


def phone_problem(text: str, *, sip: bool = False, whatsapp: bool = False) -> str | None:
    """Why a phone number is not acceptable, or None."""
    if sip and text.startswith("sip:"):
        return None if re.match(r"^sip:[^@\s]+@[^@\s]+$", text) else \
            f"'{text}' is not a SIP address like sip:alice@example.sip.twilio.com"
    if whatsapp and text.startswith("whatsapp:"):
        text = text[len("whatsapp:"):]
    if not re.match(r"^\+[1-9]\d{6,14}$", text):
        return f"'{text}' is not an E.164 phone number like +15005550006"
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return f"'{text}' is not an E.164 phone number like +15005550006"
    if not phonenumbers.is_possible_number(parsed):
        return f"'{text}' is not a possible phone number (wrong length for its country)"
    return None


class Values(CheckerBase):
    """The checker's toolkit: one located check per kind of value."""

    # The pure rules, for step specs (which reach the checker only through `ck`).
    did_you_mean = staticmethod(did_you_mean)
    type_name = staticmethod(type_name)
    is_int = staticmethod(is_int)
    is_number = staticmethod(is_number)
    has_template = staticmethod(has_template)
    phone_problem = staticmethod(phone_problem)

    def unknown_keys(self, file: str, mapping: Any, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.error(key_loc(file, mapping, key), f"unknown key '{key}' in {what}{hint}")

    def expect(self, file: str, m: Any, key: Any, ok: bool, wanted: str) -> bool:
        if not ok:
            self.error(value_loc(file, m, key),
                       f"'{key}' must be {wanted}, not {type_name(m[key])}")
        return ok

    def int_in(self, file: str, m: Any, key: str, lo: int, hi: int | None = None) -> None:
        if key not in m:
            return
        v = m[key]
        if not self.expect(file, m, key, is_int(v), "a whole number"):
            return
        if v < lo or (hi is not None and v > hi):
            rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            self.error(value_loc(file, m, key), f"'{key}' must be {rng}, not {v}")

    def boolean(self, file: str, m: Any, key: str) -> None:
        if key in m:
            self.expect(file, m, key, isinstance(m[key], bool), "true or false")

    def text(self, file: str, m: Any, key: str) -> bool:
        return key in m and self.expect(file, m, key, isinstance(m[key], str), "text")

    def str_list(self, file: str, m: Any, key: str) -> list[str]:
        if key not in m:
            return []
        v = m[key]
        if not self.expect(file, m, key, isinstance(v, list), "a list"):
            return []
        out = []
        for i, item in enumerate(v):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error(item_loc(file, v, i),
                           f"items of '{key}' must be text, not {type_name(item)}")
        return out

    def variable(self, file: str, m: Any, key: str) -> None:
        """A setting that names the flow variable a step sets (`into`)."""
        if not self.text(file, m, key):
            return
        self.vars_set.add(m[key])
        if not IDENT.match(m[key]):
            self.error(value_loc(file, m, key),
                       f"'{key}' must be a variable name (letters, digits, _), not '{m[key]}'")

    def variable_name(self, file: str, mapping: Any, key: Any) -> None:
        """A key of a mapping of variables (flow `vars`, a `set` step)."""
        self.vars_set.add(str(key))
        if not isinstance(key, str) or not IDENT.match(key):
            self.error(key_loc(file, mapping, key),
                       f"variable name '{key}' must be letters, digits and _")

    def word(self, file: str, m: Any, key: str) -> None:
        """A setting that is a name: letters, digits, _ and - (a voicemail box)."""
        if self.text(file, m, key) and not NAME.match(m[key]):
            self.error(value_loc(file, m, key),
                       f"'{key}' must be a word (letters, digits, _ or -), not '{m[key]}'")

    def timezone(self, file: str, m: Any, key: str) -> None:
        if not self.text(file, m, key):
            return
        tz = m[key]
        try:
            if tz not in timezones():
                zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(value_loc(file, m, key),
                       f"unknown time zone '{tz}'{did_you_mean(tz, timezones())}")

    def language(self, file: str, loc: Location, code: Any, what: str = "language") -> None:
        if not isinstance(code, str):
            self.error(loc, f"{what} must be a language code like en-US, not {type_name(code)}")
        elif code not in LANGUAGES:
            self.error(loc, f"unknown {what} '{code}'{did_you_mean(code, LANGUAGES)}")

    def voice(self, file: str, m: Any, key: str) -> None:
        if not self.text(file, m, key):
            return
        v = m[key]
        if v not in CLASSIC_VOICES and not VOICE_PATTERN.match(v):
            self.error(value_loc(file, m, key),
                       f"unknown voice '{v}': use man, woman, alice, Polly.NAME or "
                       f"Google.LANG-VARIANT (for example Polly.Joanna)"
                       f"{did_you_mean(v, CLASSIC_VOICES)}")

    # --- templates -------------------------------------------------------------

    def template(self, loc: Location, text: str, *, expression: bool = False) -> None:
        if "{" not in text and not expression:
            return  # plain text: nothing to compile
        msg, names = templates.analyze(text, expression=expression)
        if msg:
            self.error(loc, msg)
            return
        for var in templates.vars_read(text, expression=expression):
            self.vars_read.append((loc, var))
        known = set(templates.CONTEXT_NAMES) | set(templates.ENV.globals)
        for name in sorted(names):
            if name not in known:
                self.error(loc, f"unknown name '{name}' in template{did_you_mean(name, known)} "
                                f"(templates see vars, caller, call, input, now)")

    def templates_in(self, file: str, container: Any, key: Any, value: Any, depth: int = 0) -> None:
        """Compile every text inside a value (lists and mappings too, e.g. an http json body)."""
        if depth > MAX_DEPTH:
            return
        if isinstance(value, str):
            self.template(value_loc(file, container, key) if isinstance(container, dict)
                          else item_loc(file, container, key), value)
        elif isinstance(value, dict):
            for k, v in value.items():
                self.templates_in(file, value, k, v, depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.templates_in(file, value, i, v, depth + 1)

    def prompt(self, file: str, m: Any, key: str, *, allow_true: bool = False,
               required: bool = True) -> None:
        """A prompt: text, or a mapping language -> text; every text is a template."""
        if key not in m:
            return
        v = m[key]
        loc = value_loc(file, m, key)
        if isinstance(v, bool) and allow_true:
            if not v:
                self.error(loc, f"'{key}' must be text or true, not false")
            return
        if isinstance(v, str):
            if required and not v.strip():
                self.error(loc, f"'{key}' is empty")
            self.template(loc, v)
            return
        if isinstance(v, dict):
            if not v:
                self.error(loc, f"'{key}' has no text")
            for lang, text in v.items():
                self.language(file, key_loc(file, v, lang), lang, "prompt language")
                if isinstance(text, str):
                    self.template(value_loc(file, v, lang), text)
                else:
                    self.error(value_loc(file, v, lang),
                               f"the {lang} text of '{key}' must be text, not {type_name(text)}")
            return
        wanted = "text, true, or a mapping of language to text" if allow_true else \
            "text or a mapping of language to text"
        self.error(loc, f"'{key}' must be {wanted}, not {type_name(v)}")

    # --- numbers, files, URLs ---------------------------------------------------------

    def phone(self, file: str, m: Any, key: str, *, sip: bool = False,
              whatsapp: bool = False, template: bool = False) -> None:
        v = m[key]
        loc = value_loc(file, m, key)
        if is_int(v):
            self.error(loc, f"'{key}' must be quoted text (\"+{v}\"): YAML reads +{v} as a number")
            return
        if not isinstance(v, str):
            self.error(loc, f"'{key}' must be a phone number, not {type_name(v)}")
            return
        if template and has_template(v):
            self.template(loc, v)
            return
        msg = phone_problem(v, sip=sip, whatsapp=whatsapp)
        if msg:
            self.error(loc, msg)

    def media(self, file: str, m: Any, key: str) -> None:
        """A file of recordings/ (warned when missing) or an http(s) URL."""
        v = m[key]
        loc = value_loc(file, m, key)
        if v.startswith(("http://", "https://")):
            return
        if "/" in v or "\\" in v or v.startswith("."):
            self.error(loc, f"'{v}' must be a file name in recordings/ or an http(s) URL")
            return
        if self.recordings is not None and not (self.recordings / v).is_file():
            self.warn(loc, f"'{v}' is not in {self.recordings}")

    def http_url(self, file: str, m: Any, key: str, hosts: list[str]) -> None:
        """The URL of an `http` step (text already): http(s), its host written plainly and
        listed in the flow's `http_hosts`; templates only in its path and query."""
        url = m[key]
        loc = value_loc(file, m, key)
        parts = urlsplit(url)
        host_part = url.split("//", 1)[1].split("/", 1)[0] if "//" in url else ""
        if parts.scheme not in ("http", "https") or not host_part:
            self.error(loc, f"'{url}' is not an http(s) URL")
        elif "{" in host_part or "%" in host_part:
            self.error(loc, "write the host of an http URL as plain text "
                            "(templates are allowed in its path and query)")
        elif (problem := url_problem(url, hosts)) is not None:
            # The run-time rule, on the URL as written (ivr/flows/actions_http.py).
            if problem.endswith("is not in this flow's http_hosts") and parts.hostname:
                problem += did_you_mean(parts.hostname, hosts)
            self.error(loc, problem)
        else:
            self.template(loc, url)
