"""Where each value of pins.toml sits in its text, which neither TOML parser tells.

Messages name the line of the value at fault, and edits rewrite a value where it stands
rather than re-serialising the whole file; both need positions. `parse_nodes` records them
while tomlkit parses; `fast_nodes` finds the lines by pattern beside tomllib's result.
`read_text` is the text they work on, with the byte order mark an edit must keep; `Edit`
and the functions after it cut and insert at those positions, keeping the user's layout.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.errors import PinFileError

if TYPE_CHECKING:
    from tomlkit.items import Item

_HOSTS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*hosts[ \t]*\]\]", re.MULTILINE)
_PIN_VALUE = re.compile(r"[{,][ \t]*pin[ \t]*=[ \t]*\"([^\"\\\n]*)\"")
_AOT_HEADER = re.compile(r"^[ \t]*\[\[", re.MULTILINE)
INDENT = "  "


@dataclass(frozen=True)
class Span:
    """``text[start:end]`` is exactly what the user wrote for a value."""

    start: int
    end: int


@dataclass(frozen=True)
class Node:
    """A TOML value with its place in the text; tables are dicts and arrays lists of nodes."""

    value: Any
    line: int
    span: Span | None = None
    inline: bool = False
    """An inline table ``{ ... }`` (or an inline array of tables), not a ``[section]``."""


def read_text(path: Path) -> tuple[str, bool]:
    """The file's text, and whether it began with a UTF-8 byte order mark (kept on rewrite)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PinFileError(f"no pin file at {path}; create one with `pinctl add HOST`") from None
    except OSError as exc:
        raise PinFileError(f"cannot read pin file {path}: {exc.strerror or exc}") from None
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return data[3 if bom else 0 :].decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PinFileError(
            f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); save it as UTF-8"
        ) from None


class LayoutError(Exception):
    """pinctl could not make an edit in the file as it is written (not the user's error)."""


def span_of(node: Node | None) -> Span:
    if node is None or node.span is None:
        raise LayoutError("a value could not be located in the text")
    return node.span


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Just past the newline that ends the line holding `offset` (or the end of the text)."""
    found = text.find("\n", offset)
    return len(text) if found < 0 else found + 1


def indent_at(text: str, offset: int) -> str:
    line = text[line_start(text, offset) : offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def parse_nodes(text: str, path: Path) -> Node:
    """Parse TOML into nodes that know their line, which tomlkit's own items do not.

    A subclass of tomlkit's parser records where each value starts and ends. (Its items'
    own `as_string()` is no ruler: it may respell what it parsed.)
    """
    from tomlkit.exceptions import ParseError, TOMLKitError
    from tomlkit.parser import Parser

    spans: dict[int, tuple[Span, Item]] = {}

    class RecordingParser(Parser):
        def _parse_value(self) -> Item:
            start = self._idx
            item = super()._parse_value()
            spans[id(item)] = (Span(start, self._idx), item)  # holding the item keeps ids unique
            return item

    try:
        document = RecordingParser(text).parse()
        return _Positions(text, spans).table(document, 1, Span(0, len(text)), inline=False)
    except ParseError as exc:
        message = str(exc).rsplit(" at line ", 1)[0]
        raise PinFileError(
            f"{path}:{exc.line}: invalid TOML: {message} (column {exc.col + 1})"
        ) from None
    except RecursionError:
        raise PinFileError(
            f"{path}: arrays or tables nested too deeply to read; a pin file needs no more "
            "than hosts > pins > pin, so remove the deep nesting"
        ) from None
    except (TOMLKitError, ValueError) as exc:
        raise PinFileError(f"{path}: invalid TOML: {exc}") from None


class _Positions:
    def __init__(self, text: str, spans: Mapping[int, tuple[Span, Item]]) -> None:
        self.text = text
        self.spans = spans
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line(self, offset: int) -> int:
        import bisect

        return bisect.bisect_left(self.newlines, offset) + 1

    def node(self, item: Any, parent_line: int) -> Node:
        from tomlkit.items import AoT, Array, InlineTable, Table

        span, recorded = self.spans.get(id(item), (None, None))
        span = span if recorded is item else None
        line = self.line(span.start) if span else parent_line
        if isinstance(item, InlineTable):
            return self.table(item.value, line, span, inline=True)
        if isinstance(item, Table):
            return self.section(item, parent_line)
        if isinstance(item, (Array, AoT)):
            nodes = [
                self.node(child, line) for child in (item.body if isinstance(item, AoT) else item)
            ]
            if isinstance(item, AoT):
                self.place_empty_tables(nodes)
                if nodes and nodes[0].span and nodes[-1].span:
                    span, line = Span(nodes[0].span.start, nodes[-1].span.end), nodes[0].line
            return Node(nodes, line, span, inline=isinstance(item, Array))
        value = item.unwrap() if hasattr(item, "unwrap") else item
        if isinstance(value, dict):  # a table split across the file: no positions inside
            return _plain(value, line)
        return Node(value, line, span)

    def table(self, container: Any, line: int, span: Span | None, *, inline: bool) -> Node:
        return Node(
            {str(k): self.node(container.item(k), line) for k in container}, line, span, inline
        )

    def place_empty_tables(self, nodes: list[Node]) -> None:
        """An empty ``[[table]]`` has no value to find it by: take the next header instead."""
        cursor = 0
        for i, node in enumerate(nodes):
            if node.span is None:
                found = _AOT_HEADER.search(self.text, cursor)
                if found:
                    nodes[i] = replace(node, line=self.line(found.start()))
                    cursor = found.end()
            else:
                cursor = node.span.end

    def section(self, table: Any, parent_line: int) -> Node:
        """A ``[table]`` starts at its header: above its first value, past blanks and comments."""
        children = self.table(table.value, parent_line, None, inline=False).value
        spans = [child.span for child in children.values() if child.span is not None]
        if not spans:
            return Node(children, parent_line)
        first = self.text.rfind("\n", 0, min(s.start for s in spans)) + 1
        start = above = first
        while above > 0:
            above = self.text.rfind("\n", 0, above - 1) + 1
            stripped = self.text[above : self.text.find("\n", above)].strip()
            if stripped and not stripped.startswith("#"):
                start = above if stripped.startswith("[") else first
                break
        line = self.line(start)
        children = {k: v if v.span else replace(v, line=line) for k, v in children.items()}
        return Node(children, line, Span(start, max(s.end for s in spans)))


def _plain(value: Any, line: int) -> Node:
    if isinstance(value, dict):
        return Node({str(k): _plain(v, line) for k, v in value.items()}, line)
    if isinstance(value, list):
        return Node([_plain(v, line) for v in value], line)
    return Node(value, line)


def fast_nodes(text: str) -> Node | None:
    """The nodes from the standard library's parser, which keeps no positions.

    Lines are found by pattern, and every doubt (a count or a pin that does not agree,
    nesting too deep for the parser's recursion) returns None, leaving the file to
    `parse_nodes`, which names the file in its error."""
    try:
        return _fast_nodes(text)
    except RecursionError:
        return None


def _fast_nodes(text: str) -> Node | None:
    data = _stdlib_toml(text)
    if data is None:
        return None
    listed = "hosts" in data
    hosts = data.pop("hosts", [])
    headers = [m.start() for m in _HOSTS_HEADER.finditer(text)]
    if not isinstance(hosts, list) or len(hosts) != len(headers):
        return None
    line_at = _LineCounter(text)
    nodes = []
    for index, (host, start) in enumerate(zip(hosts, headers, strict=True)):
        end = headers[index + 1] if index + 1 < len(headers) else len(text)
        found = [(m.start(), m[1]) for m in _PIN_VALUE.finditer(text, start, end)]
        if not isinstance(host, dict):
            return None
        has_pins = "pins" in host
        pins = host.pop("pins", [])
        if not isinstance(pins, list) or [
            p.get("pin") if isinstance(p, dict) else None for p in pins
        ] != [raw for _, raw in found]:
            return None
        node = _plain(host, line_at(start))
        if has_pins:
            pin_nodes = [_plain(pin, line_at(at)) for pin, (at, _) in zip(pins, found, strict=True)]
            node.value["pins"] = Node(pin_nodes, node.line)
        nodes.append(node)
    root = _plain(data, 1)
    if listed:
        root.value["hosts"] = Node(nodes, nodes[0].line if nodes else 1)
    return root


def _stdlib_toml(text: str) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
    return None  # Python 3.10 has no tomllib


class _LineCounter:
    """Line numbers for increasing offsets, counting each stretch of text once."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def __call__(self, offset: int) -> int:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


@dataclass(frozen=True)
class Edit:
    """``text[start:end]`` is to become `text`."""

    start: int
    end: int
    text: str


def blank_above(text: str, offset: int) -> bool:
    """Whether a blank line sets off the line at `offset` (comments above it belong to it)."""
    at = line_start(text, offset)
    while at > 0:
        at = line_start(text, at - 1)
        line = text[at : line_end(text, at)].strip()
        if not line.startswith("#"):
            return not line
    return False


def append_elements(text: str, array: Node, items: Sequence[str]) -> list[Edit]:
    """Add items to an array, one per line, in the array's own indentation."""
    span, elements = span_of(array), array.value
    base = indent_at(text, span.start)
    if "\n" not in text[span.start : span.end]:
        inner = [text[span_of(e).start : span_of(e).end] for e in elements] + list(items)
        lines = "".join(f"{base}{INDENT}{item},\n" for item in inner)
        return [Edit(span.start, span.end, f"[\n{lines}{base}]")]
    edits = []
    indent = base + INDENT
    if elements:
        last = span_of(elements[-1])
        if not text[line_start(text, last.start) : last.start].strip():
            indent = indent_at(text, last.start)
        if not re.match(r"(?:\s|#[^\n]*)*,", text[last.end : span.end]):
            edits.append(Edit(last.end, last.end, ","))
    close = span.end - 1
    lines = "".join(f"{indent}{item},\n" for item in items)
    if not text[line_start(text, close) : close].strip():
        edits.append(Edit(line_start(text, close), line_start(text, close), lines))
    else:
        edits.append(Edit(close, close, "\n" + lines + base))
    return edits


def remove_element(text: str, array: Node, index: int) -> Edit:
    """Delete one element: its whole lines when it has them to itself, else it and a comma."""
    outer, span = span_of(array), span_of(array.value[index])
    start, end = line_start(text, span.start), line_end(text, span.end)
    last = index == len(array.value) - 1
    tail = re.fullmatch(r"[ \t]*(,)?[ \t]*(#[^\n]*)?\r?\n?", text[span.end : end])
    if not text[start : span.start].strip() and tail and (last or tail[1]):
        return Edit(start, end, "")
    after = re.match(r"\s*,[ \t]*", text[span.end : outer.end])
    if after and not last:
        return Edit(span.start, span.end + after.end(), "")
    before = re.search(r",\s*\Z", text[outer.start : span.start])
    return Edit(outer.start + before.start() if before else span.start, span.end, "")


def remove_table(text: str, node: Node) -> Edit:
    """Delete a ``[[hosts]]`` (or ``[[hosts.pins]]``) table from its header to its last value,
    with the comment block right above the header when a blank line sets it off, and one
    blank line around it."""
    start, end = span_of(node).start, line_end(text, span_of(node).end)
    above = start
    while above > 0:
        prev = line_start(text, above - 1)
        line = text[prev:above].strip()
        if not line.startswith("#"):
            start = start if line else above
            break
        above = prev
    blank_before = start > 0 and not text[line_start(text, start - 1) : start].strip()
    next_line = text[end : line_end(text, end)]
    if (blank_before or start == 0) and end < len(text) and not next_line.strip():
        end += len(next_line)
    elif blank_before and end >= len(text):
        start = line_start(text, start - 1)
    return Edit(start, end, "")


def outside(text: str, array: Node) -> str:
    """The array's text without its elements: brackets, commas, whitespace and comments."""
    cuts = [span_of(array).start]
    for element in array.value:
        cuts += [span_of(element).start, span_of(element).end]
    cuts.append(span_of(array).end)
    return "".join(text[cuts[i] : cuts[i + 1]] for i in range(0, len(cuts), 2))


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits from the last to the first, so earlier offsets stay valid."""
    newline = "\r\n" if "\r\n" in text else "\n"
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text.replace("\n", newline) + text[edit.end :]
    return text


def after_line(text: str, span: Span, insert: str) -> Edit:
    """Insert whole lines after the line where `span` ends."""
    at = line_end(text, span.end)
    return Edit(at, at, insert if text[:at].endswith("\n") else "\n" + insert)
