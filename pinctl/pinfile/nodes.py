"""Where each value of pins.toml sits in its text, which neither TOML parser tells.

Messages name the line of the value at fault, and edits rewrite a value where it stands
rather than re-serialising the whole file; both need positions. `parse_nodes` records them
while tomlkit parses (through `pinctl.pinfile.tomlkit_hook`); `fast_nodes` finds the lines
by pattern beside tomllib's result. `read_text` is the text they work on, with the byte
order mark an edit must keep, read so that no path can hang pinctl or exhaust its memory.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.errors import PinFileError
from pinctl.files import read_regular

if TYPE_CHECKING:
    from pinctl.pinfile.tomlkit_hook import Spans

_HOSTS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*hosts[ \t]*\]\]", re.MULTILINE)
_PIN_VALUE = re.compile(r"[{,][ \t]*pin[ \t]*=[ \t]*\"([^\"\\\n]*)\"")
_AOT_HEADER = re.compile(r"^[ \t]*\[\[", re.MULTILINE)


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


MAX_SIZE = 8 * 1024 * 1024
"""The largest pin file pinctl reads: far beyond any real one, small enough that a
mistaken path (a log, a disk image) is refused before it fills the memory."""


Identity = tuple[int, int, int, int]
"""Device, inode, size and modification time: what changes when anyone writes the file."""


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when there is none; anything but a regular file is refused."""
    found = read_file(path)
    return None if found is None else found[0]


def identity(path: Path) -> Identity | None:
    """The file's `Identity` now, without reading it; None when there is none."""
    try:
        return _identity(os.stat(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PinFileError(f"cannot read pin file {path}: {exc.strerror or exc}") from None


def _identity(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def read_file(path: Path) -> tuple[bytes, Identity] | None:
    """The file's bytes and `Identity`, or None when there is none; anything but a regular
    file of at most `MAX_SIZE` bytes is refused (`pinctl.files.read_regular`)."""
    found = read_regular(
        path,
        what="pin file",
        limit=MAX_SIZE,
        remedy="point --pin-file (or $PINCTL_PIN_FILE) at a pins.toml file",
        error=PinFileError,
    )
    return None if found is None else (found[0], _identity(found[1]))


def read_text(path: Path) -> tuple[str, bool]:
    """The file's text, and whether it began with a UTF-8 byte order mark (kept on rewrite)."""
    data = read_bytes(path)
    if data is None:
        raise PinFileError(f"no pin file at {path}; create one with `pinctl add HOST`")
    return decode(data, path)


def decode(data: bytes, path: Path) -> tuple[str, bool]:
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return data[3 if bom else 0 :].decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PinFileError(
            f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); save it as UTF-8"
        ) from None


def parse_nodes(text: str, path: Path) -> Node:
    """Parse TOML into nodes that know their line, which tomlkit's own items do not."""
    from tomlkit.exceptions import ParseError, TOMLKitError

    from pinctl.pinfile.tomlkit_hook import parse_recording

    try:
        document, spans = parse_recording(text)
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
    def __init__(self, text: str, spans: Spans) -> None:
        self.text = text
        self.spans = spans
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line(self, offset: int) -> int:
        import bisect

        return bisect.bisect_left(self.newlines, offset) + 1

    def node(self, item: Any, parent_line: int) -> Node:
        from tomlkit.items import AoT, Array, InlineTable, Table

        start, end, recorded = self.spans.get(id(item), (0, 0, None))
        span = Span(start, end) if recorded is item else None
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
    # A host's table ends where the next one begins, the last one at the end of the text.
    for host, (start, end) in zip(hosts, pairwise([*headers, len(text)]), strict=True):
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
