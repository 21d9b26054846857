"""Reading YAML with the line and column of every key and value.

Why positions come from the composer: PyYAML works in two stages. Its
*composer* turns the text into a graph of nodes, and every node (each key,
value and list item) carries `start_mark`, the line and column where it is
written. Its *constructor* then turns nodes into Python values and throws the
marks away (and silently keeps the last of two equal keys). So we stop after
composing (`yaml.compose`, with libyaml's C parser when PyYAML was built with
it, else the pure-Python `SafeLoader`, same results) and build the values
ourselves: plain dicts, lists and scalars, where each dict and list also
remembers where it, its keys, its values and its items are written. The
checker's `FILE:LINE:COL` comes from those marks (0-based, reported 1-based,
as editors count).

Building the values ourselves also decides what they mean:
- Only plain data: mappings, lists, text, numbers, true/false, null (and
  dates, which hours.yaml uses). A tag asking for anything else (`!!python/…`,
  `!custom`) is an error; nothing is ever constructed from a tag.
- Scalars are read as YAML 1.2's core schema reads them (plus `_` between
  digits, 0x/0o/0b numbers and dates, which call-flow files always had), not
  as PyYAML's YAML 1.1 resolver does: `on`, `off`, `yes`, `no`, `y`, `n`
  stay text, so a key `ON:` or a value `no` is checked as the text it looks
  like (and `transcribe: yes`, where true or false is meant, is reported as
  text) instead of silently becoming True or False; `10:30` is text, not the
  sexagesimal 630. Unquoted `+15005550006` and `0123` are numbers, as in any
  YAML: the checker then says to quote phone numbers and PINs.
- A value left empty (`next:`) is null; its position is decided from the text
  (see `_Builder.empty_value_pos`), because libyaml and the Python parser
  place it differently.
- A key written twice is an error at the second one (checked on the mapping
  node, before any value could overwrite another).
- Anchors and aliases: a value that contains itself, aliases that would
  expand past `MAX_ALIAS_VALUES` values (a "billion laughs" file), and nesting
  deeper than `MAX_NESTING` are errors at the place they happen, never a hang.
- Syntax errors keep PyYAML's message and mark, with a plain-words hint. When
  libyaml finds an error, the same text is read again by the Python parser,
  whose messages are the ones we word hints for (errors are rare; valid files
  pay only for the C parser).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ivr.flows.model import Location
from ivr.flows.yaml_scalars import (
    NOT_A_VALUE,
    SCALAR_TAGS,
    plain_scalar,
    tagged_scalar,
)

Severity = Literal["error", "warning"]

MAX_NESTING = 100
"""Lists and mappings nested deeper than this are refused (the checker allows far less)."""
MAX_ALIAS_VALUES = 100_000
"""How many values aliases may repeat into a file in all (each key, value and item counts)."""


@dataclass(frozen=True)
class Problem:
    """One finding of the checker. `str()` is `FILE:LINE:COL: message`, as compilers print."""

    location: Location
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


Pos = tuple[int, int]  # 0-based (line, column), as the parser's marks count


class YamlMap(dict[Any, Any]):
    """A mapping read from YAML: a plain dict that also knows where its parts are written."""

    __slots__ = ("start", "key_pos", "value_pos")

    def __init__(self, start: Pos) -> None:
        super().__init__()
        self.start = start
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}


class YamlList(list[Any]):
    """A list read from YAML: a plain list that also knows where it and its items are written."""

    __slots__ = ("start", "item_pos")

    def __init__(self, start: Pos) -> None:
        super().__init__()
        self.start = start
        self.item_pos: list[Pos] = []


def at(file: str, line0: int | None, col0: int | None) -> Location:
    """A Location from the parser's 0-based positions (missing ones become 1:1)."""
    return Location(file, (line0 or 0) + 1, (col0 or 0) + 1)


def node_loc(file: str, node: Any) -> Location:
    """Where a mapping or list starts (its first key or item)."""
    start = getattr(node, "start", None)
    if not isinstance(node, YamlMap | YamlList) or start is None:
        return Location(file, 1, 1)
    return at(file, *start)


def key_loc(file: str, mapping: Any, key: Any) -> Location:
    """Where a key of a mapping is written."""
    if isinstance(mapping, YamlMap):
        try:
            pos = mapping.key_pos.get(key)
        except TypeError:  # an unhashable "key" asked about
            pos = None
        if pos is not None:
            return at(file, *pos)
    return node_loc(file, mapping)


def value_loc(file: str, mapping: Any, key: Any) -> Location:
    """Where the value of a key is written."""
    if isinstance(mapping, YamlMap):
        try:
            pos = mapping.value_pos.get(key)
        except TypeError:
            pos = None
        if pos is not None:
            return at(file, *pos)
    return key_loc(file, mapping, key)


def item_loc(file: str, seq: Any, index: int) -> Location:
    """Where the index-th item of a list is written."""
    if isinstance(seq, YamlList) and isinstance(index, int) and 0 <= index < len(seq.item_pos):
        return at(file, *seq.item_pos[index])
    return node_loc(file, seq)


# --- composing: text -> nodes ---------------------------------------------------------------

_PLAIN = "?plain"
"""The tag our loaders give an untagged plain scalar: we resolve it ourselves (YAML 1.2)."""
_TAG = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__("too deep")
        self.mark = mark


def _resolve(self: Any, kind: Any, value: Any, implicit: Any) -> str:
    """Tag of an untagged node: no YAML 1.1 guessing here (see `_plain_scalar`)."""
    if kind is ScalarNode:
        return _PLAIN if implicit[0] else _STR
    return _SEQ if kind is SequenceNode else _MAP


class _PyLoader(yaml.SafeLoader):
    """The pure-Python composer, with our resolution and a nesting bound.

    Its composer recurses once per level; past `MAX_NESTING` we stop, well
    before Python's recursion limit, at the first node too deep.
    """

    resolve = _resolve

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = -1

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


HAVE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))

_CLoader: type | None = None
if HAVE_LIBYAML:
    class _CLoaderClass(yaml.CSafeLoader):  # type: ignore[name-defined,misc]
        """libyaml's parser and composer (in C), with our resolution."""

        resolve = _resolve

    _CLoader = _CLoaderClass


# --- building: nodes -> plain values --------------------------------------------------------


class _Located(Exception):
    """An error found while building values, at a node's mark."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


ANCHOR_LOOP = "YAML anchors make this file contain itself (or nest or repeat too much)"

def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a scalar"


class _Builder:
    """Plain values from one document's nodes, with the positions the checker reports.

    Nodes shared through aliases are built once and shared (as any YAML
    loader does); the values they repeat into are counted against
    `MAX_ALIAS_VALUES`, and a node met again while it is still being built
    contains itself.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts: list[int] | None = None
        self.built: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}  # values a node stands for, aliases expanded
        self.building: set[int] = set()
        self.repeated = 0

    def value(self, node: Node, depth: int, parent: Node) -> tuple[Any, int]:
        """(value, how many values it stands for) of a node below `parent`."""
        key = id(node)
        if key in self.building:
            raise _Located(node.start_mark, ANCHOR_LOOP)
        if key in self.built:  # an alias: the same value again
            size = self.sizes[key]
            self.repeated += size
            if self.repeated > MAX_ALIAS_VALUES:
                raise _Located(parent.start_mark,
                               f"YAML aliases here repeat anchored values past "
                               f"{MAX_ALIAS_VALUES:,} values in all (anchors that nest or "
                               f"repeat too much)")
            return self.built[key], size
        if depth > MAX_NESTING:
            raise _TooDeep(node.start_mark)
        if isinstance(node, ScalarNode):
            value = self.scalar(node)
            size = 1
        elif isinstance(node, SequenceNode):
            value, size = self.sequence(node, depth)
        elif isinstance(node, MappingNode):
            value, size = self.mapping(node, depth)
        else:  # the composers make no other kind of node
            raise _Located(node.start_mark, "YAML: unexpected node")
        self.built[key] = value
        self.sizes[key] = size
        return value, size

    def scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            try:
                return plain_scalar(text)
            except ValueError as exc:  # 2026-02-30, or a number too long to read
                what = "date" if text[:1].isdigit() and "-" in text else "number"
                why = "too many digits" if "digits" in str(exc) else str(exc)
                raise _Located(node.start_mark, f"YAML: {text[:40]} is not a valid {what} "
                                                f"({why}); put it in quotes if it is text"
                               ) from None
        if tag == _STR:
            return text
        if tag not in SCALAR_TAGS:
            raise _Located(node.start_mark, _tag_message(tag))
        try:
            value = tagged_scalar(tag, text)
        except ValueError:
            value = NOT_A_VALUE
        if value is NOT_A_VALUE:
            raise _Located(node.start_mark, f"YAML: {text[:40]!r} is not a valid {_show_tag(tag)}")
        return value

    def container(self, node: Node, want: str) -> None:
        if node.tag != want:
            if node.tag in (_SEQ, _MAP) or node.tag in SCALAR_TAGS:
                raise _Located(node.start_mark,
                               f"YAML: tag {_show_tag(node.tag)} cannot mark {_kind(node)}")
            raise _Located(node.start_mark, _tag_message(node.tag))

    def sequence(self, node: SequenceNode, depth: int) -> tuple[YamlList, int]:
        self.container(node, _SEQ)
        key = id(node)
        out = YamlList(_pos(node))
        self.built[key] = out
        self.building.add(key)
        size = 1
        for item in node.value:
            value, n = self.value(item, depth + 1, node)
            out.append(value)
            out.item_pos.append(_pos(item))
            size += n
        self.building.discard(key)
        return out, size

    def mapping(self, node: MappingNode, depth: int) -> tuple[YamlMap, int]:
        self.container(node, _MAP)
        key_id = id(node)
        out = YamlMap(_pos(node))
        self.built[key_id] = out
        self.building.add(key_id)
        size = 1
        merges: list[tuple[Node, Any]] = []
        for key_node, value_node in node.value:
            if (isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN
                    and key_node.value == "<<"):
                self.value(key_node, depth + 1, node)  # nested as deep as any key
                merged, n = self.value(value_node, depth + 1, node)
                merges.append((value_node, merged))
                size += n
                continue
            if not isinstance(key_node, ScalarNode):
                raise _Located(key_node.start_mark,
                               f"YAML: a key must be text, a number or true/false, "
                               f"not {_kind(key_node)}{_hint_key(key_node)}")
            key, _ = self.value(key_node, depth + 1, node)
            if key in out:
                raise _Located(key_node.start_mark, f"YAML: duplicate key '{key_node.value}'")
            value, n = self.value(value_node, depth + 1, node)
            out[key] = value
            out.key_pos[key] = _pos(key_node)
            out.value_pos[key] = (self.empty_value_pos(node, key_node) if _is_empty(value_node)
                                  else _pos(value_node))
            size += 1 + n
        for value_node, merged in merges:
            self.merge(out, value_node, merged)
        self.building.discard(key_id)
        return out, size

    def empty_value_pos(self, node: MappingNode, key_node: Node) -> Pos:
        """Where a key with nothing after its ':' has its (null) value, as the checker says.

        The parsers disagree on this spot (libyaml: the next token; PyYAML's
        Python parser: the ':'), so we decide it from the text, as the checker
        always reported it: in a flow mapping, just after the ':'; in a block
        mapping, where the next thing is written (skipping blank and comment
        lines), except after a comment on the ':' line when the next thing is
        another key of the same mapping: then just after the ':'.
        """
        text = self.text
        i = key_node.end_mark.index
        while True:  # to the ':' (only blanks and comments may come between)
            i = _skip_blank(text, i)
            if i < len(text) and text[i] == "#":
                i = _line_end(text, i)
            elif i < len(text) and text[i] in _BREAKS:
                i += 1
            else:
                break
        if i >= len(text) or text[i] != ":":
            return _pos(key_node)  # not reached for a key that has a ':'
        colon_end = i + 1
        if node.flow_style:
            return self.index_pos(colon_end)
        j = _skip_blank(text, colon_end)
        commented = j < len(text) and text[j] == "#"
        while True:
            j = _skip_blank(text, j)
            if j < len(text) and text[j] == "#":
                j = _line_end(text, j)
            elif j < len(text) and text[j] in _BREAKS:
                j += 1
            else:
                break
        where = self.index_pos(j)
        if (commented and j < len(text) and where[1] == key_node.start_mark.column
                and not _DOCUMENT_MARKER.match(text, j)):
            return self.index_pos(colon_end)  # the comment stays with the ':' (another key follows)
        return where

    def index_pos(self, index: int) -> Pos:
        """(line, column) of a character index, counting line breaks as the parsers do."""
        if self.line_starts is None:
            self.line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(self.text)]
        line = bisect.bisect_right(self.line_starts, index) - 1
        return (line, index - self.line_starts[line])

    @staticmethod
    def merge(out: YamlMap, value_node: Node, merged: Any) -> None:
        """`<<: *base` (or a list of them): keys not written here come from the base.

        Merged keys have no position of their own here: the checker points at
        this mapping for them.
        """
        sources = merged if isinstance(value_node, SequenceNode) else [merged]
        for source in sources:
            if not isinstance(source, dict):
                raise _Located(value_node.start_mark, "YAML: expected a mapping or list of "
                               "mappings for merging, but found "
                               f"{'scalar' if isinstance(value_node, ScalarNode) else 'list'}")
            for k, v in source.items():
                if k not in out:
                    out[k] = v


def _hint_key(node: Node) -> str:
    if isinstance(node, MappingNode) and node.flow_style:
        return " (a {{ template }} left unquoted? put the text in quotes)"
    return ""


_BREAKS = "\r\n\x85\u2028\u2029"
_DOCUMENT_MARKER = re.compile(r"(?:---|\.\.\.)(?:[ \t\r\n]|\Z)")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _skip_blank(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _line_end(text: str, i: int) -> int:
    while i < len(text) and text[i] not in _BREAKS:
        i += 1
    return i


def _is_empty(node: Node) -> bool:
    """A value written as nothing at all (`key:`), not `~`, `null`, `''` or an anchor."""
    return (isinstance(node, ScalarNode) and node.tag == _PLAIN and node.value == ""
            and node.start_mark.index == node.end_mark.index)


def _pos(node: Node) -> Pos:
    return (node.start_mark.line, node.start_mark.column)


def _tag_message(tag: str) -> str:
    return (f"YAML: tag {_show_tag(tag)} is not allowed (call-flow files hold plain mappings, "
            f"lists, text, numbers, true/false and null)")


# --- loading ----------------------------------------------------------------------------------


_NEEDS_PYTHON = re.compile(
    # Tabs (libyaml accepts some that the Python scanner refuses), byte order marks and
    # Unicode line breaks (counted differently); and, where a token may start, the
    # indicators on which libyaml is more lenient or marks empty values elsewhere:
    # tags `!x` (not `!=`), anchors `&x` and aliases `*x`, explicit keys `? `, and a
    # block scalar header followed by `#`. Quoted text rarely matches (`a != b` does not).
    r"[\t\ufeff\x85\u2028\u2029]"
    r"|(?:^|[\s\[{,])(?:!(?!=)|[&*][^\s,\[\]{}]|\?(?:\s|\Z)|[|>][-+0-9]*#)")


def load_text(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; a syntax error becomes a Problem at the parser's mark."""
    return _load(text, file, use_libyaml=HAVE_LIBYAML)


def _load(text: str, file: str, *, use_libyaml: bool) -> tuple[Any, list[Problem]]:
    """`load_text` with the parser chosen (tests check that both give the same results).

    libyaml and the Python parser disagree on a few rare constructs (see
    `_NEEDS_PYTHON`): text that has one goes to the Python parser. And any
    problem found on the libyaml path is found again by the Python parser,
    which words it: errors are rare, and this way both paths report them alike.
    """
    if use_libyaml and _CLoader is not None and not _NEEDS_PYTHON.search(text):
        try:
            root = yaml.compose(text, Loader=_CLoader)
            return (None if root is None else _Builder(text).value(root, 0, root)[0]), []
        except (YAMLError, _Located, _TooDeep, ValueError, TypeError, RecursionError):
            pass
    try:
        root = yaml.compose(text, Loader=_PyLoader)
    except _TooDeep as exc:
        return None, [_too_deep(file, exc.mark)]
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_problem(file, text, exc)]
    except YAMLError as exc:  # errors without a mark (rare)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        return None, [Problem(Location(file, 1, 1), f"YAML: {first_line}")]
    except (ValueError, TypeError, RecursionError) as exc:  # never seen; never a crash either
        return None, [Problem(Location(file, 1, 1), f"YAML: {exc}")]
    if root is None:
        return None, []
    try:
        return _Builder(text).value(root, 0, root)[0], []
    except _TooDeep as exc:
        return None, [_too_deep(file, exc.mark)]
    except _Located as exc:
        return None, [Problem(at(file, exc.mark.line, exc.mark.column), exc.message)]
    except (ValueError, TypeError, RecursionError) as exc:  # a hostile input we did not foresee
        return None, [Problem(Location(file, 1, 1), f"YAML: {exc}")]


def _too_deep(file: str, mark: Any) -> Problem:
    return Problem(at(file, mark.line, mark.column),
                   f"YAML: lists and mappings nested more than {MAX_NESTING} deep")


def _syntax_problem(file: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line if mark is not None else 0
    col = mark.column if mark is not None else 0
    what = exc.problem or exc.context or "invalid YAML"
    context = str(exc.context or "")
    if context.startswith("found duplicate anchor"):
        first = exc.context_mark.line + 1 if exc.context_mark is not None else "?"
        name = context.split("'")[1] if "'" in context else ""
        what = f"anchor &{name} is defined twice (first on line {first})"
    return Problem(at(file, line, col), f"YAML: {what}{_hint(str(what))}")


def _reader_problem(file: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML cannot carry (a control character), at its line and column."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position)
    col = position - (text.rfind("\n", 0, position) + 1)
    first_line = str(exc).strip().splitlines()[0]
    return Problem(at(file, line, col), f"YAML: {first_line}")


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


def load_file(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """Read and parse a file; `file` is the name used in problem locations."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(Location(file, 1, 1), f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [Problem(Location(file, 1, 1), f"cannot read: {exc.strerror}")]
    return load_text(text, file)
