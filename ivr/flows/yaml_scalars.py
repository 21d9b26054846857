"""What a YAML scalar means: YAML 1.2's core schema (plus dates and 0x/0o/0b numbers).

Kept apart from the located loader (`yamlsrc`) because it is a table of
spellings, not of positions: `on`, `off`, `yes`, `no` stay text here (YAML 1.1
made them booleans), `+15005550006` and `0123` are numbers, `2026-12-24` a date.
Readers return `NOT_A_VALUE` for a spelling they do not read.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

TAG = "tag:yaml.org,2002:"

_INT = re.compile(r"[-+]?[0-9][0-9_]*\Z")
_INT_BASE = re.compile(r"([-+]?)0([xob])([0-9a-fA-F_]+)\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?\Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]*))?(?:[ \t]*(Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?\Z")
_BASES = {"x": (16, "0123456789abcdefABCDEF"), "o": (8, "01234567"), "b": (2, "01")}
_NUMERIC_START = frozenset("-+.0123456789")
_SPECIAL = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True,
    "false": False, "False": False, "FALSE": False,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}
NOT_A_VALUE = object()


def _int(text: str) -> Any:
    """The int a scalar spells (decimal, 0x, 0o, 0b; `_` between digits), or NOT_A_VALUE."""
    if _INT.match(text):
        return int(text.replace("_", ""))
    m = _INT_BASE.match(text)
    if m:
        base, digits = _BASES[m.group(2)]
        body = m.group(3).replace("_", "")
        if body and all(c in digits for c in body):
            value = int(body, base)
            return -value if m.group(1) == "-" else value
    return NOT_A_VALUE


def _float(text: str) -> Any:
    if text in _SPECIAL and isinstance(_SPECIAL[text], float):
        return _SPECIAL[text]
    if _FLOAT.match(text):
        return float(text.replace("_", ""))
    return NOT_A_VALUE


def timestamp(text: str) -> Any:
    """A date (2026-12-24) or date and time, or NOT_A_VALUE; ValueError when not a real one."""
    m = _DATE.match(text)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DATETIME.match(text)
    if not m:
        return NOT_A_VALUE
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz = None
    if m.group(8) == "Z":
        tz = UTC
    elif m.group(8):
        sign = -1 if m.group(8)[0] == "-" else 1
        hh, _, mm = m.group(8)[1:].partition(":")
        if not mm and len(hh) > 2:
            hh, mm = hh[:-2], hh[-2:]
        tz = timezone(sign * timedelta(hours=int(hh), minutes=int(mm or 0)))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def plain_scalar(text: str) -> Any:
    """What an unquoted, untagged scalar means (YAML 1.2 core schema, plus dates).

    `yes`/`no`/`on`/`off` are text here (YAML 1.1 made them booleans).
    """
    if text in _SPECIAL:
        return _SPECIAL[text]
    if text[0] not in _NUMERIC_START:
        return text
    for reader in (_int, _float, timestamp):
        value = reader(text)
        if value is not NOT_A_VALUE:
            return value
    return text


def tagged_scalar(tag: str, text: str) -> Any:
    """A scalar with an explicit core tag (`!!str 123`, `!!int "5"`), or NOT_A_VALUE."""
    kind = tag[len(TAG):]
    if kind == "str":
        return text
    if kind == "null":
        return None if text in ("", "~", "null", "Null", "NULL") else NOT_A_VALUE
    if kind == "bool":
        value = _SPECIAL.get(text, NOT_A_VALUE)
        return value if isinstance(value, bool) else NOT_A_VALUE
    if kind == "int":
        return _int(text)
    if kind == "float":
        value = _int(text)
        return float(value) if value is not NOT_A_VALUE else _float(text)
    if kind == "timestamp":
        return timestamp(text)
    return NOT_A_VALUE


SCALAR_TAGS = frozenset(TAG + t for t in ("str", "null", "bool", "int", "float", "timestamp"))
