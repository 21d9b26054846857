"""The checker of the call-flow folder: every problem, with the place it was written.

`check_folder(path)` reads every `*.yaml` file of the folder, checks it against
the language of product.md §4 (documented for admins in docs/callflows.md) and,
when there is no error, builds the `Callflows` the engine and router use.
Warnings never refuse a folder; errors always do.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import holidays as holidays_lib
import phonenumbers

from ivr.flows import hours as hours_mod
from ivr.flows import templates
from ivr.flows.exits import TARGET_SETTINGS, ends_call_when_unset, exits, option_key, split_target
from ivr.flows.loader import build_callflows, plain
from ivr.flows.model import ACTIONS, SMS_FORBIDDEN, Callflows, Location, Step
from ivr.flows.yamlsrc import (
    Problem,
    item_loc,
    key_loc,
    load_file,
    load_text,
    node_loc,
    value_loc,
)

__all__ = ["Problem", "check_folder", "check_texts", "RESERVED", "LANGUAGES"]

RESERVED = ("queues.yaml", "agents.yaml", "hours.yaml")

# Twilio <Say> languages (Polly, Google and the classic voices), product.md §4.
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
STRATEGIES = ("longest-idle", "round-robin", "fewest-calls", "least-talk-time",
              "most-skilled", "random", "ring-all")
CHANNELS = ("voice", "sms")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MENU_KEYS = tuple("0123456789*#")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

FLOW_KEYS = ("numbers", "channels", "language", "voice", "timezone", "vars", "help",
             "on_error", "http_hosts", "missed_call", "start", "steps")
SPEAKING = ("voice", "language")
SETTINGS: dict[str, tuple[str, ...]] = {
    "say": (*SPEAKING, "loop", "next"),
    "play": ("loop", "next"),
    "pause": ("next",),
    "menu": (*SPEAKING, "options", "words", "attempts", "invalid", "no_input", "timeout",
             "fallback"),
    "gather": (*SPEAKING, "into", "digits", "min_digits", "max_digits", "finish_on", "input",
               "pattern", "attempts", "invalid", "no_input", "timeout", "next", "fallback"),
    "set": ("next",),
    "branch": ("else",),
    "hours": ("open", "closed", "holiday"),
    "queue": ("priority", "skills", "max_wait", "overflow", "next"),
    "dial": ("timeout", "caller_id", "record", "next"),
    "record": (*SPEAKING, "max_length", "transcribe", "box", "next"),
    "message": ("to", "next"),
    "http": ("method", "json", "headers", "timeout", "into", "next", "error"),
    "language": ("voice", "next"),  # the voice for the new language, e.g. Polly.Mia
    "goto": (),
    "hangup": SPEAKING,
}
BROKEN = "?"  # the action of a step the checker could not make sense of (already reported)
ALL_TARGET_SETTINGS = frozenset(t for ts in TARGET_SETTINGS.values() for t in ts) | {"goto"}
# Steps that wait for the caller or another party: a loop through one is not a trap.
WAITING = ("menu", "gather", "record", "queue", "dial")
QUEUE_KEYS = ("skills", "strategy", "ring_timeout", "max_wait", "wrap_up", "max_missed",
              "hold_music", "announce", "callback", "service_level", "escalate", "timezone")
AGENT_KEYS = ("name", "phone", "skills", "pin")
HOURS_KEYS = ("timezone", "open", "holidays", "closed")
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
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=1)
def _holiday_countries() -> dict[str, list[str]]:
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


@dataclass
class _Ref:
    """A way out to resolve once every flow's steps are known."""

    flow: str
    step: str
    label: str
    target: str
    location: Location


@dataclass
class _FlowInfo:
    name: str
    file: str
    raw: Any
    channels: list[str] = field(default_factory=lambda: ["voice"])
    numbers: list[str] = field(default_factory=list)
    http_hosts: list[str] = field(default_factory=list)
    start: str | None = None
    start_loc: Location | None = None
    steps: dict[str, Step] = field(default_factory=dict)


class _Checker:
    def __init__(self, folder_name: str, recordings: Path | None) -> None:
        self.folder = folder_name
        self.recordings = recordings
        self.problems: list[Problem] = []
        self.refs: list[_Ref] = []
        self.flows: dict[str, _FlowInfo] = {}
        self.queues: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}
        self.hours: dict[str, Any] = {}
        self.agent_skills: set[str] = set()
        self.vars_read: list[tuple[Location, str]] = []  # vars.NAME read by templates
        self.vars_set: set[str] = set()  # names flow vars, set, gather and http give a value

    # --- reporting ------------------------------------------------------------

    def error(self, loc: Location, msg: str) -> None:
        self.problems.append(Problem(loc, msg, "error"))

    def warn(self, loc: Location, msg: str) -> None:
        self.problems.append(Problem(loc, msg, "warning"))

    def unknown_keys(self, file: str, mapping: Any, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                self.error(key_loc(file, mapping, key), f"unknown key '{key}' in {what}{hint}")

    def expect(self, file: str, m: Any, key: str, ok: bool, wanted: str) -> bool:
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

    def timezone(self, file: str, m: Any, key: str) -> None:
        if not self.text(file, m, key):
            return
        tz = m[key]
        try:
            if tz not in _timezones():
                zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(value_loc(file, m, key),
                       f"unknown time zone '{tz}'{did_you_mean(tz, _timezones())}")

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

    # --- reserved files ----------------------------------------------------------

    def check_hours(self, file: str, data: Any) -> None:
        for name, raw in data.items():
            loc = key_loc(file, data, name)
            if not isinstance(name, str) or not NAME.match(name):
                self.error(loc, f"schedule name '{name}' must be a word (letters, digits, _ or -)")
                continue
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, name),
                           f"schedule '{name}' must be a mapping, not {type_name(raw)}")
                continue
            self.hours[name] = raw
            self.unknown_keys(file, raw, HOURS_KEYS, f"schedule '{name}'")
            if "timezone" not in raw:
                self.error(loc, f"schedule '{name}' has no 'timezone' "
                                f"(for example America/New_York)")
            self.timezone(file, raw, "timezone")
            if "open" not in raw:
                self.warn(loc, f"schedule '{name}' has no 'open' hours: it is always closed")
            elif self.expect(file, raw, "open", isinstance(raw["open"], dict),
                             "a mapping of days to hours"):
                self.check_open(file, raw["open"])
            if "holidays" in raw and self.text(file, raw, "holidays"):
                self.holidays(file, raw, "holidays")
            if "closed" in raw and self.expect(file, raw, "closed", isinstance(raw["closed"], list),
                                               "a list of dates"):
                for i, d in enumerate(raw["closed"]):
                    if hours_mod.parse_date(d) is None:
                        self.error(item_loc(file, raw["closed"], i),
                                   f"'{d}' is not a date like 2026-12-24")

    def check_open(self, file: str, open_: Any) -> None:
        for spec, ranges in open_.items():
            try:
                hours_mod.parse_days(str(spec))
            except ValueError as exc:
                self.error(key_loc(file, open_, spec), str(exc))
            loc = value_loc(file, open_, spec)
            if isinstance(ranges, list) and all(isinstance(r, str) for r in ranges):
                items: list[tuple[str, Location]] = [
                    (r, item_loc(file, ranges, i)) for i, r in enumerate(ranges)]
            elif isinstance(ranges, str):
                items = [(part, loc) for part in ranges.split(",")]
            else:
                self.error(loc, f"hours must be text like \"09:00-17:30\" or a list of them, "
                                f"not {type_name(ranges)}")
                continue
            for text, where in items:
                try:
                    hours_mod.parse_range(text)
                except ValueError as exc:
                    self.error(where, str(exc))

    def holidays(self, file: str, m: Any, key: str) -> None:
        code = m[key]
        country, subdiv = hours_mod.split_holidays(code)
        supported = _holiday_countries()
        loc = value_loc(file, m, key)
        if country not in supported:
            self.error(loc, f"unknown holiday country '{country}'{did_you_mean(country, supported)}"
                            f" (ISO codes like US, GB, DE; subdivisions like US-NY)")
        elif subdiv is not None and subdiv not in supported[country]:
            self.error(loc, f"unknown subdivision '{subdiv}' of {country}"
                            f"{did_you_mean(subdiv, supported[country])}")

    def check_agents(self, file: str, data: Any) -> None:
        phones: dict[str, str] = {}
        for agent_id, raw in data.items():
            loc = key_loc(file, data, agent_id)
            if not isinstance(agent_id, str) or not NAME.match(agent_id):
                self.error(loc, f"agent id '{agent_id}' must be a word (letters, digits, _ or -)")
                continue
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, agent_id),
                           f"agent '{agent_id}' must be a mapping, not {type_name(raw)}")
                continue
            self.agents[agent_id] = raw
            self.unknown_keys(file, raw, AGENT_KEYS, f"agent '{agent_id}'")
            self.text(file, raw, "name")
            if "phone" not in raw:
                self.error(loc, f"agent '{agent_id}' has no 'phone' (E.164 or sip:)")
            else:
                self.phone(file, raw, "phone", sip=True)
                phone = raw["phone"]
                if isinstance(phone, str):
                    if phone in phones:
                        self.error(value_loc(file, raw, "phone"),
                                   f"phone {phone} is already agent '{phones[phone]}''s phone")
                    phones.setdefault(phone, agent_id)
            if "skills" in raw and self.expect(file, raw, "skills", isinstance(raw["skills"], dict),
                                               "a mapping of skill to level 1-5"):
                for skill, level in raw["skills"].items():
                    self.agent_skills.add(str(skill))
                    if not is_int(level) or not 1 <= level <= 5:
                        self.error(value_loc(file, raw["skills"], skill),
                                   f"skill level of '{skill}' must be a whole number 1-5, "
                                   f"not {level!r}")
            if "pin" in raw:
                pin = raw["pin"]
                if is_int(pin):
                    self.error(value_loc(file, raw, "pin"),
                               f"'pin' must be quoted text (\"{pin}\"): YAML reads it as a number "
                               f"and drops leading zeros")
                elif not isinstance(pin, str) or not re.match(r"^\d{4,8}$", pin):
                    self.error(value_loc(file, raw, "pin"), "'pin' must be 4 to 8 digits")

    def check_queues(self, file: str, data: Any) -> None:
        for name, raw in data.items():
            loc = key_loc(file, data, name)
            if not isinstance(name, str) or not NAME.match(name):
                self.error(loc, f"queue name '{name}' must be a word (letters, digits, _ or -)")
                continue
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                self.error(value_loc(file, data, name),
                           f"queue '{name}' must be a mapping, not {type_name(raw)}")
                continue
            self.queues[name] = raw
            what = f"queue '{name}'"
            self.unknown_keys(file, raw, QUEUE_KEYS, what)
            for skill in self.str_list(file, raw, "skills"):
                if self.agents and skill not in self.agent_skills:
                    self.warn(value_loc(file, raw, "skills"),
                              f"no agent has skill '{skill}' needed by {what}")
            if "strategy" in raw and self.text(file, raw, "strategy") and \
                    raw["strategy"] not in STRATEGIES:
                self.error(value_loc(file, raw, "strategy"),
                           f"unknown strategy '{raw['strategy']}'"
                           f"{did_you_mean(raw['strategy'], STRATEGIES)}"
                           f" (one of {', '.join(STRATEGIES)})")
            self.int_in(file, raw, "ring_timeout", 5, 600)
            for key in ("max_wait", "wrap_up", "max_missed", "service_level"):
                self.int_in(file, raw, key, 0)
            self.boolean(file, raw, "callback")
            self.text(file, raw, "hold_music")
            if "hold_music" in raw and isinstance(raw["hold_music"], str):
                self.media(file, raw, "hold_music")
            self.timezone(file, raw, "timezone")
            if "announce" in raw:
                a = raw["announce"]
                if isinstance(a, bool):
                    pass
                elif self.expect(file, raw, "announce", isinstance(a, dict),
                                 "true/false or a mapping"):
                    self.unknown_keys(file, a, ("position", "wait_time", "every"), "announce")
                    self.boolean(file, a, "position")
                    self.boolean(file, a, "wait_time")
                    self.int_in(file, a, "every", 10, 3600)
            if "escalate" in raw and self.expect(file, raw, "escalate",
                                                 isinstance(raw["escalate"], list), "a list"):
                last = -1
                for i, e in enumerate(raw["escalate"]):
                    eloc = item_loc(file, raw["escalate"], i)
                    if not isinstance(e, dict):
                        self.error(eloc, f"an escalate entry must be a mapping like "
                                         f"{{after: 90, skills: []}}, not {type_name(e)}")
                        continue
                    self.unknown_keys(file, e, ("after", "skills", "min_level"), "escalate entry")
                    if "after" not in e:
                        self.error(eloc, "escalate entry has no 'after' (seconds of waiting)")
                    self.int_in(file, e, "after", 0)
                    self.str_list(file, e, "skills")
                    self.int_in(file, e, "min_level", 1, 5)
                    after = e.get("after")
                    if isinstance(after, int) and not isinstance(after, bool):
                        if after <= last:
                            self.error(value_loc(file, e, "after"),
                                       f"escalate entries must come in order of 'after' "
                                       f"({after} is not after {last})")
                        last = after

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

    # --- flows -------------------------------------------------------------------------

    def check_flow(self, info: _FlowInfo) -> None:
        file, raw = info.file, info.raw
        self.unknown_keys(file, raw, FLOW_KEYS, f"flow '{info.name}'")
        if "numbers" in raw and self.expect(file, raw, "numbers", isinstance(raw["numbers"], list),
                                            "a list"):
            for i, n in enumerate(raw["numbers"]):
                loc = item_loc(file, raw["numbers"], i)
                if n == "*":
                    info.numbers.append(n)
                elif is_int(n):
                    self.error(loc, f"numbers must be quoted text (\"+{n}\"): YAML reads +{n} "
                                    f"as a number")
                elif not isinstance(n, str):
                    self.error(loc, f"numbers must be text, not {type_name(n)}")
                else:
                    msg = phone_problem(n, sip=True, whatsapp=True)
                    if msg:
                        self.error(loc, msg)
                    else:
                        info.numbers.append(n)
        if "channels" in raw:
            chans = self.str_list(file, raw, "channels")
            for i, c in enumerate(chans):
                if c not in CHANNELS:
                    self.error(item_loc(file, raw["channels"], i),
                               f"unknown channel '{c}'{did_you_mean(c, CHANNELS)} (voice or sms; "
                               f"sms also carries MMS and WhatsApp)")
            if isinstance(raw["channels"], list) and not raw["channels"]:
                self.error(value_loc(file, raw, "channels"), "'channels' is empty")
            info.channels = [c for c in chans if c in CHANNELS]
        if "language" in raw:
            self.language(file, value_loc(file, raw, "language"), raw["language"])
        self.voice(file, raw, "voice")
        self.timezone(file, raw, "timezone")
        if "vars" in raw and self.expect(file, raw, "vars", isinstance(raw["vars"], dict),
                                         "a mapping"):
            for k in raw["vars"]:
                self.vars_set.add(str(k))
                if not isinstance(k, str) or not IDENT.match(k):
                    self.error(key_loc(file, raw["vars"], k),
                               f"variable name '{k}' must be letters, digits and _")
        self.prompt(file, raw, "help")
        if "on_error" in raw and self.expect(file, raw, "on_error",
                                             isinstance(raw["on_error"], dict), "a mapping"):
            oe = raw["on_error"]
            self.unknown_keys(file, oe, ("say", "dial"), "on_error")
            self.prompt(file, oe, "say")
            if "dial" in oe:
                self.phone(file, oe, "dial", sip=True)
        if "http_hosts" in raw:
            info.http_hosts = self.str_list(file, raw, "http_hosts")
        if "missed_call" in raw:
            self.missed_call(file, raw)
        if "start" in raw and self.text(file, raw, "start"):
            info.start = raw["start"]
            info.start_loc = value_loc(file, raw, "start")
        if "steps" not in raw:
            if not any(did_you_mean(str(k), ("steps",)) for k in raw if k not in FLOW_KEYS):
                self.error(node_loc(file, raw), f"flow '{info.name}' has no 'steps'")
            return
        steps = raw["steps"]
        if not self.expect(file, raw, "steps", isinstance(steps, dict), "a mapping of step names"):
            return
        if not steps:
            self.error(value_loc(file, raw, "steps"), f"flow '{info.name}' has no steps")
            return
        for name, body in steps.items():
            self.check_step(info, steps, name, body)
        if info.start is None and "start" not in raw and steps:
            first = next(iter(steps))
            if isinstance(first, str):
                info.start = first
                info.start_loc = key_loc(file, steps, first)

    def missed_call(self, file: str, raw: Any) -> None:
        """Issue 5's missed-call text: {text: PROMPT, queue: QUEUE (for a CALL reply)}."""
        if not self.expect(file, raw, "missed_call", isinstance(raw["missed_call"], dict),
                           "a mapping with 'text' (and 'queue')"):
            return
        mc = raw["missed_call"]
        self.unknown_keys(file, mc, ("text", "queue"), "missed_call")
        if "text" not in mc:
            self.error(value_loc(file, raw, "missed_call"), "missed_call needs a 'text'")
        self.prompt(file, mc, "text")
        if "queue" in mc and self.expect(file, mc, "queue", isinstance(mc["queue"], str),
                                         "a queue name") and mc["queue"] not in self.queues:
            v = mc["queue"]
            self.error(value_loc(file, mc, "queue"),
                       f"unknown queue '{v}'{did_you_mean(v, self.queues)} (queues are in "
                       f"queues.yaml)")

    def check_step(self, info: _FlowInfo, steps: Any, name: Any, body: Any) -> None:
        file = info.file
        loc = key_loc(file, steps, name)
        if not isinstance(name, str) or not NAME.match(name):
            self.error(loc, f"step name '{name}' must be a word (letters, digits, _ or -; no dots)")
            return
        if not isinstance(body, dict):
            self.error(value_loc(file, steps, name),
                       f"step '{name}' must be a mapping with one action "
                       f"(say, menu, queue, ...), not {type_name(body)}")
            return
        present = [k for k in body if k in ACTIONS]
        if len(present) > 1:
            # `language` is also a setting of speaking steps, `record` of dial.
            present = [a for a in present
                       if not any(a in SETTINGS[o] for o in present if o != a)] or present
        if not present:
            guesses = [(k, did_you_mean(str(k), ACTIONS)) for k in body]
            guessed = [(k, hint) for k, hint in guesses if hint and str(k) not in
                       {s for a in ACTIONS for s in SETTINGS[a]}]
            if guessed:
                k, hint = guessed[0]
                self.error(key_loc(file, body, k),
                           f"step '{name}' has no action: unknown key '{k}'{hint}")
            else:
                self.error(loc, f"step '{name}' has no action (one of {', '.join(ACTIONS)})")
            self.broken_step(info, name, body, loc)
            return
        if len(present) > 1:
            second = present[1]
            self.error(key_loc(file, body, second),
                       f"step '{name}' has two actions, '{present[0]}' and '{second}': "
                       f"give each its own step")
            self.broken_step(info, name, body, loc)
            return
        action = present[0]
        step = Step(name=name, action=action, value=body[action],
                    settings={k: v for k, v in body.items() if k != action}, location=loc)
        info.steps[name] = step
        allowed = SETTINGS[action]
        for key in body:
            if key != action and key not in allowed:
                hint = did_you_mean(str(key), allowed)
                extra = f" ('{action}' steps take: {', '.join(allowed)})" if not hint and allowed \
                    else ""
                self.error(key_loc(file, body, key),
                           f"unknown key '{key}' in {action} step '{name}'{hint}{extra}")
        if action in SMS_FORBIDDEN and "sms" in info.channels:
            self.error(key_loc(file, body, action),
                       f"'{action}' cannot be used on the sms channel (flow '{info.name}' "
                       f"answers sms): texts cannot play audio, pause, transfer or record")
        if action in ("gather", "http") and isinstance(body.get("into"), str):
            self.vars_set.add(body["into"])
        getattr(self, f"step_{action}")(info, step, body)
        for key in body:
            if key in allowed and key in SPEAKING:
                if key == "voice":
                    self.voice(file, body, key)
                else:
                    self.language(file, value_loc(file, body, key), body[key])
        for setting in TARGET_SETTINGS[action]:
            if setting in body:
                self.target(info, step, body, setting, setting)

    def broken_step(self, info: _FlowInfo, name: str, body: Any, loc: Location) -> None:
        """Keep a step whose action is unclear, so its name and ways out still count:
        one mistake gives one message, not a cascade of 'unknown step' and 'never reached'."""
        step = Step(name=name, action=BROKEN, value=None, settings=dict(body), location=loc)
        info.steps[name] = step
        for key in body:
            if key in ALL_TARGET_SETTINGS and isinstance(body[key], str):
                self.target(info, step, body, key, str(key))

    def target(self, info: _FlowInfo, step: Step, m: Any, key: Any, label: str) -> None:
        v = m[key]
        loc = value_loc(info.file, m, key)
        if not isinstance(v, str) or not v:
            self.error(loc, f"'{label}' must be a step name, not {type_name(v)}")
            return
        self.refs.append(_Ref(info.name, step.name, label, v, loc))

    # one method per action: the action's value and its own settings

    def step_say(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.prompt(info.file, body, "say")
        self.int_in(info.file, body, "loop", 0, 100)

    def step_play(self, info: _FlowInfo, step: Step, body: Any) -> None:
        if self.expect(info.file, body, "play", isinstance(body["play"], str),
                       "a file name in recordings/ or a URL"):
            self.media(info.file, body, "play")
        self.int_in(info.file, body, "loop", 0, 100)

    def step_pause(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.int_in(info.file, body, "pause", 1, 600)

    def _input_settings(self, info: _FlowInfo, body: Any) -> None:
        self.int_in(info.file, body, "attempts", 1, 10)
        self.int_in(info.file, body, "timeout", 1, 60)
        self.prompt(info.file, body, "invalid")
        self.prompt(info.file, body, "no_input")

    def step_menu(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        self.prompt(file, body, "menu")
        self._input_settings(info, body)
        if "options" not in body and "words" not in body:
            self.error(key_loc(file, body, "menu"),
                       f"menu '{step.name}' needs 'options' (keys) or 'words' (spoken or typed)")
        if "options" in body and self.expect(file, body, "options",
                                             isinstance(body["options"], dict),
                                             "a mapping of key to step"):
            opts = body["options"]
            for key in opts:
                if option_key(key) not in MENU_KEYS:
                    self.error(key_loc(file, opts, key),
                               f"menu option '{key}' must be one key: 0-9, * or #")
                self.target(info, step, opts, key, f"option {key}")
        if "words" in body and self.expect(file, body, "words", isinstance(body["words"], dict),
                                           "a mapping of step to a list of words"):
            words = body["words"]
            seen: dict[str, str] = {}
            for tgt, spoken in words.items():
                wl = key_loc(file, words, tgt)
                if not isinstance(tgt, str):
                    self.error(wl, f"'words' keys must be step names, not {type_name(tgt)}")
                    continue
                self.refs.append(_Ref(info.name, step.name, f"words for {tgt}", tgt, wl))
                items = spoken if isinstance(spoken, list) else [spoken]
                for i, w in enumerate(items):
                    where = item_loc(file, spoken, i) if isinstance(spoken, list) \
                        else value_loc(file, words, tgt)
                    if not isinstance(w, str | int) or isinstance(w, bool) or not str(w).strip():
                        self.error(where, f"words must be text, not {type_name(w)}")
                        continue
                    norm = " ".join(str(w).lower().split())
                    if norm in seen and seen[norm] != tgt:
                        self.error(where, f"word '{w}' already leads to '{seen[norm]}'")
                    seen.setdefault(norm, tgt)

    def step_gather(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        self.prompt(file, body, "gather")
        self._input_settings(info, body)
        if "into" in body and self.text(file, body, "into") and not IDENT.match(body["into"]):
            self.error(value_loc(file, body, "into"),
                       f"'into' must be a variable name (letters, digits, _), not '{body['into']}'")
        self.int_in(file, body, "digits", 1, 64)
        self.int_in(file, body, "min_digits", 1, 64)
        self.int_in(file, body, "max_digits", 1, 64)
        if "digits" in body and ("min_digits" in body or "max_digits" in body):
            self.error(key_loc(file, body, "digits"),
                       "use either 'digits' or 'min_digits'/'max_digits', not both")
        lo, hi = body.get("min_digits"), body.get("max_digits")
        if is_int(lo) and is_int(hi) and lo > hi:
            self.error(value_loc(file, body, "min_digits"),
                       f"'min_digits' ({lo}) is more than 'max_digits' ({hi})")
        if "finish_on" in body and self.text(file, body, "finish_on"):
            fo = body["finish_on"]
            if len(fo) > 1 or (fo and fo not in MENU_KEYS):
                self.error(value_loc(file, body, "finish_on"),
                           f"'finish_on' must be one key (0-9, * or #) or empty, not '{fo}'")
        if "input" in body and self.text(file, body, "input") and \
                body["input"] not in ("dtmf", "speech", "both"):
            self.error(value_loc(file, body, "input"),
                       f"'input' must be dtmf, speech or both, not '{body['input']}'"
                       f"{did_you_mean(body['input'], ('dtmf', 'speech', 'both'))}")
        if "pattern" in body and self.text(file, body, "pattern"):
            try:
                re.compile(body["pattern"])
            except re.error as exc:
                self.error(value_loc(file, body, "pattern"), f"invalid pattern: {exc}")

    def step_set(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["set"]
        if not self.expect(file, body, "set", isinstance(v, dict) and bool(v),
                           "a mapping of variable names to values"):
            return
        for k, val in v.items():
            self.vars_set.add(str(k))
            if not isinstance(k, str) or not IDENT.match(k):
                self.error(key_loc(file, v, k),
                           f"variable name '{k}' must be letters, digits and _")
            if isinstance(val, str):
                self.template(value_loc(file, v, k), val)
            elif isinstance(val, dict | list):
                self.templates_in(file, v, k, val)

    def step_branch(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file, cases = info.file, body["branch"]
        if not self.expect(file, body, "branch", isinstance(cases, list) and bool(cases),
                           "a list of {if: CONDITION, goto: STEP}"):
            return
        for i, case in enumerate(cases):
            cloc = item_loc(file, cases, i)
            if not isinstance(case, dict):
                self.error(cloc, f"a branch must be {{if: CONDITION, goto: STEP}}, "
                                 f"not {type_name(case)}")
                continue
            self.unknown_keys(file, case, ("if", "goto"), "branch")
            if "if" not in case:
                self.error(cloc, "branch has no 'if' condition")
            elif isinstance(case["if"], str):
                self.template(value_loc(file, case, "if"), case["if"], expression=True)
            elif not isinstance(case["if"], bool):
                self.error(value_loc(file, case, "if"),
                           f"'if' must be a condition, not {type_name(case['if'])}")
            if "goto" not in case:
                self.error(cloc, "branch has no 'goto' step")
            else:
                self.target(info, step, case, "goto", f"if {case.get('if')}")
        if "else" not in body:
            self.warn(key_loc(file, body, "branch"),
                      f"branch '{step.name}' has no 'else': when no condition holds the call ends")

    def step_hours(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["hours"]
        if self.expect(file, body, "hours", isinstance(v, str), "a schedule name") and \
                v not in self.hours:
            self.error(value_loc(file, body, "hours"),
                       f"unknown schedule '{v}'{did_you_mean(v, self.hours)} (schedules are in "
                       f"hours.yaml)")
        for need in ("open", "closed"):
            if need not in body:
                self.error(key_loc(file, body, "hours"),
                           f"hours step '{step.name}' has no '{need}' step")

    def step_queue(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["queue"]
        if self.expect(file, body, "queue", isinstance(v, str), "a queue name") and \
                v not in self.queues:
            self.error(value_loc(file, body, "queue"),
                       f"unknown queue '{v}'{did_you_mean(v, self.queues)} (queues are in "
                       f"queues.yaml)")
        self.int_in(file, body, "priority", 0, 100)
        self.int_in(file, body, "max_wait", 0)
        for skill in self.str_list(file, body, "skills"):
            if self.agents and skill not in self.agent_skills:
                self.warn(value_loc(file, body, "skills"), f"no agent has skill '{skill}'")
        if "overflow" not in body:
            self.warn(key_loc(file, body, "queue"),
                      f"queue step '{step.name}' has no 'overflow': callers still waiting after "
                      f"max_wait are told goodbye and hung up")

    def step_dial(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file, v = info.file, body["dial"]
        if isinstance(v, list):
            if not v:
                self.error(value_loc(file, body, "dial"), "'dial' has no numbers")
            for i in range(len(v)):
                self._dial_item(file, v, i)
        else:
            self.phone(file, body, "dial", sip=True, template=True)
        self.int_in(file, body, "timeout", 5, 600)
        if "caller_id" in body:
            self.phone(file, body, "caller_id", template=True)
        self.boolean(file, body, "record")

    def _dial_item(self, file: str, seq: Any, i: int) -> None:
        v, loc = seq[i], item_loc(file, seq, i)
        if is_int(v):
            self.error(loc, f"numbers must be quoted text (\"+{v}\"): YAML reads +{v} as a number")
        elif not isinstance(v, str):
            self.error(loc, f"numbers must be text, not {type_name(v)}")
        elif has_template(v):
            self.template(loc, v)
        else:
            msg = phone_problem(v, sip=True)
            if msg:
                self.error(loc, msg)

    def step_record(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        self.prompt(file, body, "record", allow_true=True)
        self.int_in(file, body, "max_length", 1, 14400)
        self.boolean(file, body, "transcribe")
        if "box" in body and self.text(file, body, "box") and not NAME.match(body["box"]):
            self.error(value_loc(file, body, "box"),
                       f"'box' must be a word (letters, digits, _ or -), not '{body['box']}'")

    def step_message(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.prompt(info.file, body, "message")
        if "to" in body:
            self.phone(info.file, body, "to", whatsapp=True, template=True)

    def step_http(self, info: _FlowInfo, step: Step, body: Any) -> None:
        file = info.file
        if not self.expect(file, body, "http", isinstance(body["http"], str), "a URL"):
            return
        url = body["http"]
        loc = value_loc(file, body, "http")
        parts = urlsplit(url)
        host_part = url.split("//", 1)[1].split("/", 1)[0] if "//" in url else ""
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error(loc, f"'{url}' is not an http(s) URL")
        elif "{" in host_part or "%" in host_part:
            self.error(loc, "write the host of an http URL as plain text "
                            "(templates are allowed in its path and query)")
        elif parts.hostname not in info.http_hosts:
            self.error(loc, f"host '{parts.hostname}' is not in this flow's http_hosts"
                            f"{did_you_mean(parts.hostname, info.http_hosts)}")
        else:
            self.template(loc, url)
        if "method" in body and self.text(file, body, "method") and \
                body["method"].upper() not in HTTP_METHODS:
            self.error(value_loc(file, body, "method"),
                       f"'method' must be one of {', '.join(HTTP_METHODS)}")
        if "json" in body:
            self.templates_in(file, body, "json", body["json"])
        if "headers" in body and self.expect(file, body, "headers",
                                             isinstance(body["headers"], dict),
                                             "a mapping of header names to text"):
            for k, hv in body["headers"].items():
                if isinstance(hv, str):
                    self.template(value_loc(file, body["headers"], k), hv)
                else:
                    self.error(value_loc(file, body["headers"], k),
                               f"header '{k}' must be text, not {type_name(hv)}")
        if "timeout" in body:
            t = body["timeout"]
            if not is_number(t) or not 0 < t <= 5:
                self.error(value_loc(file, body, "timeout"),
                           f"'timeout' of an http step must be more than 0 and at most 5 seconds, "
                           f"not {t!r}")
        if "into" in body and self.text(file, body, "into") and not IDENT.match(body["into"]):
            self.error(value_loc(file, body, "into"),
                       f"'into' must be a variable name (letters, digits, _), not '{body['into']}'")

    def step_language(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.language(info.file, value_loc(info.file, body, "language"), body["language"])

    def step_goto(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.target(info, step, body, "goto", "goto")

    def step_hangup(self, info: _FlowInfo, step: Step, body: Any) -> None:
        self.prompt(info.file, body, "hangup", allow_true=True, required=False)

    # --- the whole folder ----------------------------------------------------------

    def check_vars(self) -> None:
        """Warn about `vars.NAME` that nothing ever sets (usually a typo; it renders empty)."""
        for loc, name in self.vars_read:
            if name not in self.vars_set:
                self.warn(loc, f"vars.{name} is never set (not in any flow's vars, set, or "
                               f"a gather or http 'into'){did_you_mean(name, self.vars_set)}")

    def resolve_refs(self) -> None:
        for ref in self.refs:
            flow_name, step_name = split_target(ref.target, ref.flow)
            flow = self.flows.get(flow_name)
            if flow is None:
                self.error(ref.location,
                           f"'{ref.label}' leads to unknown flow '{flow_name}'"
                           f"{did_you_mean(flow_name, self.flows)}")
                continue
            if step_name not in flow.steps:
                names = list(flow.steps)
                where = "" if flow_name == ref.flow else f" in flow '{flow_name}'"
                self.error(ref.location,
                           f"'{ref.label}' leads to unknown step '{step_name}'{where}"
                           f"{did_you_mean(step_name, names)}")
                continue
            source = self.flows[ref.flow]
            if flow_name != ref.flow and not set(flow.channels) & set(source.channels):
                self.error(ref.location,
                           f"'{ref.label}' leads to flow '{flow_name}', which answers "
                           f"{'/'.join(flow.channels)}, not {'/'.join(source.channels)}")

    def check_start(self) -> None:
        for info in self.flows.values():
            if info.start is not None and info.steps and info.start not in info.steps and \
                    info.start_loc is not None:
                self.error(info.start_loc, f"start step '{info.start}' does not exist"
                                           f"{did_you_mean(info.start, info.steps)}")

    def check_numbers(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        any_default = False
        for info in self.flows.values():
            nums = info.raw.get("numbers") if isinstance(info.raw, dict) else None
            for i, n in enumerate(info.numbers):
                index = nums.index(n) if isinstance(nums, list) and n in nums else i
                for channel in info.channels:
                    other = seen.get((n, channel))
                    if other is not None and other != info.name:
                        what = "is already the default flow" if n == "*" else \
                            f"already starts flow '{other}'"
                        if n == "*":
                            self.error(item_loc(info.file, nums, index),
                                       f"flow '{other}' {what} on {channel}")
                        else:
                            self.error(item_loc(info.file, nums, index),
                                       f"number {n} {what} on {channel}")
                        break
                    seen[(n, channel)] = info.name
                any_default = any_default or n == "*"
        if self.flows and not any_default:
            first = next(iter(self.flows.values()))
            self.error(Location(first.file, 1, 1),
                       "no default flow: add \"*\" to the numbers of the flow that answers "
                       "every other number")
        elif self.flows:
            for channel in CHANNELS:
                users = [f for f in self.flows.values() if channel in f.channels and f.numbers]
                if users and ("*", channel) not in seen:
                    self.warn(Location(users[0].file, 1, 1),
                              f"no default flow (\"*\") on {channel}: {channel} to other "
                              f"numbers gets no answer")

    def graph(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for info in self.flows.values():
            for step in info.steps.values():
                out = []
                ways = exits(step) if step.action != BROKEN else [
                    (k, v) for k, v in step.settings.items()
                    if k in ALL_TARGET_SETTINGS and isinstance(v, str)]
                for _, target in ways:
                    f, s = split_target(target, info.name)
                    if f in self.flows and s in self.flows[f].steps:
                        out.append((f, s))
                edges[(info.name, step.name)] = out
        return edges

    def check_reach_and_loops(self) -> None:
        edges = self.graph()
        roots = [(i.name, i.start) for i in self.flows.values()
                 if i.start is not None and i.start in i.steps]
        reached: set[tuple[str, str]] = set(roots)
        todo = list(roots)
        while todo:
            node = todo.pop()
            for nxt in edges.get(node, []):
                if nxt not in reached:
                    reached.add(nxt)
                    todo.append(nxt)
        entered_from_outside = {t[0] for (f, _), outs in edges.items() for t in outs if t[0] != f}
        # "never reached" only for a flow without other errors: a broken way out or start
        # would otherwise add one such message per step behind it
        files_with_errors = {p.location.file for p in self.problems if p.is_error}
        for info in self.flows.values():
            for step in info.steps.values():
                if info.file in files_with_errors:
                    break
                if (info.name, step.name) not in reached:
                    self.error(step.location,
                               f"step '{step.name}' is never reached (no way out of another "
                               f"step leads here from '{info.start}')")
            if not info.numbers and info.name not in entered_from_outside and info.steps:
                self.warn(Location(info.file, 1, 1),
                          f"flow '{info.name}' has no numbers and no other flow leads into it")
        for component in strongly_connected(edges):
            members = set(component)
            if len(component) == 1:
                only = component[0]
                if only not in edges.get(only, []):
                    continue
            if self.loop_can_leave(members, edges):
                continue
            ordered = sorted(component, key=lambda n: (
                n[0] != component[0][0], self.flows[n[0]].steps[n[1]].location.line))
            first = ordered[0]
            shown = [s if f == first[0] else f"{f}.{s}" for f, s in ordered]
            names = ", ".join(shown[:10]) + (f" and {len(shown) - 10} more"
                                              if len(shown) > 10 else "")
            self.error(self.flows[first[0]].steps[first[1]].location,
                       f"loop with no way out through steps {names}: add a way out, or a menu "
                       f"or gather that waits for the caller")

    def loop_can_leave(self, members: set[tuple[str, str]],
                       edges: dict[tuple[str, str], list[tuple[str, str]]]) -> bool:
        for flow, name in members:
            step = self.flows[flow].steps[name]
            if step.action in (*WAITING, BROKEN) or ends_call_when_unset(step):
                return True
            if any(t not in members for t in edges[(flow, name)]):
                return True
            # a way out that names a step that does not exist was reported already; it still
            # counts as a way out, so one mistake is reported once
            if len(edges[(flow, name)]) < len(exits(step)):
                return True
        return False


def strongly_connected(edges: dict[Any, list[Any]]) -> list[list[Any]]:
    """Tarjan's strongly connected components, iteratively (flows may have thousands of steps)."""
    index: dict[Any, int] = {}
    low: dict[Any, int] = {}
    on_stack: set[Any] = set()
    stack: list[Any] = []
    result: list[list[Any]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[Any, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                result.append(comp[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _self_referencing(data: Any) -> bool:
    """True when YAML anchors make a value contain itself, or nest or repeat absurdly.

    A value that contains itself has no bottom, so a depth bound finds it; the
    node budget stops alias bombs (an anchor repeated into millions of nodes).
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    budget = 200_000
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if depth > MAX_DEPTH or budget < 0:
            return True
        if isinstance(node, dict):
            stack.extend((c, depth + 1) for c in (*node.keys(), *node.values()))
        elif isinstance(node, list):
            stack.extend((c, depth + 1) for c in node)
    return False


def check_texts(files: dict[str, str], *, folder: str = "callflows") -> tuple[Callflows | None,
                                                                          list[Problem]]:
    """Check a folder given as {file name: YAML text} (for tests, fuzzing and the API)."""
    loaded = {name: load_text(text, str(Path(folder) / name)) for name, text in files.items()}
    return _check_loaded(folder, loaded, None, files)


def check_folder(path: Path, *, recordings: Path | None = None) -> tuple[Callflows | None,
                                                                        list[Problem]]:
    """Check every YAML file of a call-flow folder; the Callflows only when there is no error."""
    path = Path(path)
    if not path.is_dir():
        return None, [Problem(Location(str(path), 1, 1), "not a folder of call flows")]
    loaded: dict[str, tuple[Any, list[Problem]]] = {}
    texts: dict[str, str] = {}
    extra: list[Problem] = []
    for file in sorted(path.iterdir()):
        if not file.is_file():
            continue
        shown = str(path / file.name)
        if file.suffix == ".yml":
            extra.append(Problem(Location(shown, 1, 1),
                                 f"ignored: call-flow files end in .yaml (rename to "
                                 f"{file.stem}.yaml)", "warning"))
        if file.suffix != ".yaml":
            continue
        try:
            texts[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            loaded[file.name] = load_file(file, shown)  # reports why it cannot be read
            texts[file.name] = ""
            continue
        loaded[file.name] = load_text(texts[file.name], shown)
    cf, problems = _check_loaded(str(path), loaded, recordings, texts)
    problems = extra + problems
    return cf, problems


def _check_loaded(folder: str, loaded: dict[str, tuple[Any, list[Problem]]],
                  recordings: Path | None, texts: dict[str, str]) -> tuple[Callflows | None,
                                                                           list[Problem]]:
    ck = _Checker(folder, recordings)
    raw: dict[str, Any] = {}

    def shown(name: str) -> str:
        return str(Path(folder) / name)

    for name, (data, problems) in loaded.items():
        ck.problems.extend(problems)
        if problems:
            continue
        if data is not None and _self_referencing(data):
            ck.error(Location(shown(name), 1, 1), "YAML anchors make this file contain itself "
                                            "(or nest or repeat too much)")
            continue
        if data is None and name in RESERVED:
            data = {}
        if data is None:
            ck.error(Location(shown(name), 1, 1), "empty flow file (a flow needs 'steps')")
            continue
        if not isinstance(data, dict):
            ck.error(node_loc(shown(name), data),
                     f"{name} must be a mapping, not {type_name(data)}")
            continue
        raw[name] = data

    if "hours.yaml" in raw:
        ck.check_hours(shown("hours.yaml"), raw["hours.yaml"])
    if "agents.yaml" in raw:
        ck.check_agents(shown("agents.yaml"), raw["agents.yaml"])
    if "queues.yaml" in raw:
        ck.check_queues(shown("queues.yaml"), raw["queues.yaml"])
    flow_files = [n for n in loaded if n not in RESERVED]
    for name in flow_files:
        if name in raw:
            stem = name[: -len(".yaml")]
            ck.flows[stem] = _FlowInfo(stem, shown(name), raw[name])
    for info in ck.flows.values():
        ck.check_flow(info)
    if not flow_files:
        ck.error(Location(folder, 1, 1), "no flows: add a FLOW.yaml file with 'steps'")
    ck.resolve_refs()
    ck.check_vars()
    ck.check_start()
    ck.check_numbers()
    ck.check_reach_and_loops()
    problems = sorted(ck.problems, key=lambda p: (p.location.file, p.location.line,
                                                  p.location.col))
    if any(p.is_error for p in problems):
        return None, problems
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode() + b"\0")
    cf = build_callflows(
        flows={n: (i.file, plain(i.raw), i.steps, i.start or "") for n, i in ck.flows.items()},
        queues={k: plain(v) for k, v in ck.queues.items()},
        agents={k: plain(v) for k, v in ck.agents.items()},
        hours={k: plain(v) for k, v in ck.hours.items()},
        version=digest.hexdigest()[:12],
    )
    return cf, problems
