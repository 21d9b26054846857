"""The call-flow loader as it was before PyYAML: ruamel.yaml's round-trip loader.

Kept only as the benchmark's baseline (`bench/flows.py` measures both in one
run); the server reads YAML with `ivr/flows/yamlsrc.py`. ruamel.yaml is not a
dependency: importing this module raises ImportError without it, and the
benchmark then skips the baseline.

ruamel.yaml's round-trip loader keeps 0-based positions on each mapping and
list (`.lc`); the functions below have the same names and meaning as
yamlsrc's, so the checker can run on either loader's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ivr.flows.model import Location
from ivr.flows.yamlsrc import Problem


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.allow_duplicate_keys = False  # a key written twice is an error, not a silent overwrite
    return y


def at(file: str, line0: int | None, col0: int | None) -> Location:
    """A Location from ruamel's 0-based positions (missing ones become 1:1)."""
    return Location(file, (line0 or 0) + 1, (col0 or 0) + 1)


def node_loc(file: str, node: Any) -> Location:
    """Where a mapping or list starts (its first key or item)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return Location(file, 1, 1)
    return at(file, lc.line, lc.col)


def key_loc(file: str, mapping: Any, key: Any) -> Location:
    """Where a key of a mapping is written."""
    if isinstance(mapping, CommentedMap):
        try:
            line, col = mapping.lc.key(key)
            return at(file, line, col)
        except (KeyError, TypeError):
            pass
    return node_loc(file, mapping)


def value_loc(file: str, mapping: Any, key: Any) -> Location:
    """Where the value of a key is written."""
    if isinstance(mapping, CommentedMap):
        try:
            line, col = mapping.lc.value(key)
            return at(file, line, col)
        except (KeyError, TypeError):
            pass
    return key_loc(file, mapping, key)


def item_loc(file: str, seq: Any, index: int) -> Location:
    """Where the index-th item of a list is written."""
    if isinstance(seq, CommentedSeq):
        try:
            line, col = seq.lc.item(index)
            return at(file, line, col)
        except (KeyError, IndexError, TypeError):
            pass
    return node_loc(file, seq)


def load_text(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; a syntax error becomes a Problem at the parser's mark."""
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark is not None else 0
        col = mark.column if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in str(what) or type(exc).__name__ == "DuplicateKeyError":
            what = _duplicate_message(exc)
        return None, [Problem(at(file, line, col), f"YAML: {what}{_hint(str(what))}")]
    except YAMLError as exc:  # errors without a mark (rare: bad encoding, ...)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        return None, [Problem(Location(file, 1, 1), f"YAML: {first_line}")]
    except (ValueError, TypeError, AttributeError) as exc:
        # ruamel raises these for a few hostile inputs (e.g. bad timestamps, odd anchors)
        return None, [Problem(Location(file, 1, 1), f"YAML: {exc}")]
    return data, []


_HINTS = (
    ("mapping values are not allowed", " (a ':' in unquoted text? put the text in quotes)"),
    ("expected <block end>", " (check the indentation of this line)"),
    ("could not find expected ':'", " (a key without ':', or unbalanced quotes?)"),
    ("found character '\\t'", " (use spaces, not tabs, to indent)"),
    ("found undefined alias", " (an *alias without its &anchor)"),
    ("found unexpected end of stream", " (a quote left open?)"),
    ("expected ',' or ']'", " (a [ left open?)"),
    ("expected ',' or '}'", " (a { left open?)"),
)


def _hint(problem: str) -> str:
    """A plain-words hint for the parser's most common complaints."""
    for start, hint in _HINTS:
        if start in problem:
            return hint
    return ""


def _duplicate_message(exc: MarkedYAMLError) -> str:
    problem = str(exc.problem or "")
    # ruamel says: found duplicate key "x" with value "..." (original value: "...")
    if problem.startswith("found duplicate key") and '"' in problem:
        return f"duplicate key '{problem.split(chr(34))[1]}'"
    return problem or "duplicate key"


def load_file(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """Read and parse a file; `file` is the name used in problem locations."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(Location(file, 1, 1), f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [Problem(Location(file, 1, 1), f"cannot read: {exc.strerror}")]
    return load_text(text, file)
