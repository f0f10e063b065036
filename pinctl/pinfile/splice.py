"""Cutting and inserting in pins.toml's text at the spans `pinctl.pinfile.nodes` found.

tomlkit round-trips a file exactly, but it files a comment under the table *before* it,
so deleting or appending a table through tomlkit moves the user's comments about. Edits
are therefore made on the text: each function here returns the `Edit`s that make one
change in the file's own layout (its indentation, commas, comments and line ends), and
`apply_edits` applies them. Whether the result says what was meant is checked by the
caller, which reads it back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pinctl.pinfile.nodes import Node, Span

INDENT = "  "
"""How deep pinctl indents what it writes where the file shows no indentation of its own."""


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
    return text.find("\n", offset) + 1 or len(text)


def indent_at(text: str, offset: int) -> str:
    line = text[line_start(text, offset) : offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


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
    close = span.end - 1
    comma = ""  # the one the last element lacks, at its end
    if elements:
        last = span_of(elements[-1])
        if not text[line_start(text, last.start) : last.start].strip():
            indent = indent_at(text, last.start)
        if not re.match(r"(?:\s|#[^\n]*)*,", text[last.end : span.end]):
            comma = ","
            if last.end != close:  # at `]` itself, it goes first in the one insertion there
                edits.append(Edit(last.end, last.end, comma))
                comma = ""
    lines = "".join(f"{indent}{item},\n" for item in items)
    if not text[line_start(text, close) : close].strip():
        edits.append(Edit(line_start(text, close), line_start(text, close), lines))
    else:
        edits.append(Edit(close, close, comma + "\n" + lines + base))
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
