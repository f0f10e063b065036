"""Changing one table of pins.toml in the file's layout: its keys, a host's or a pin's,
and the pins a host's table holds.

`add` sets host keys (``verify_chain = false``); `promote` sets pin keys (``backup =
false``, a longer note, ``retired = true``). A key already written has its value replaced
where it stands; a new one goes after the keys the schema orders before it, on the same
line for an inline table, on a line of its own in a ``[[hosts.pins]]`` table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pinctl.pinfile import schema
from pinctl.pinfile.model import PinEntry
from pinctl.pinfile.nodes import Node
from pinctl.pinfile.splice import (
    INDENT,
    Edit,
    after_line,
    append_elements,
    blank_above,
    indent_at,
    line_end,
    span_of,
)
from pinctl.pinfile.writer import pin_table, pin_values, toml_value


def set_fields(
    text: str, node: Node, updates: Mapping[str, object], path: Path, scope: schema.Scope
) -> list[Edit]:
    """The edits that give `node`'s table the values in `updates` (keys of `scope`)."""
    order = schema.names(scope)
    edits = []
    for key, value in updates.items():
        written = toml_value(value, path)
        if key in node.value:
            span = span_of(node.value[key])
            edits.append(Edit(span.start, span.end, written))
            continue
        before = [span_of(n) for k, n in node.value.items() if order.index(k) < order.index(key)]
        anchor = max(before, key=lambda span: span.end)
        if node.inline:
            edits.append(Edit(anchor.end, anchor.end, f", {key} = {written}"))
        else:
            edits.append(
                after_line(text, anchor, f"{indent_at(text, anchor.start)}{key} = {written}\n")
            )
    return edits


def append_pins(text: str, node: Node, pins: Sequence[PinEntry]) -> list[Edit]:
    """The edits that append `pins` to a host's pins, written as the host writes them."""
    if not pins:
        return []
    tables = [pin_table(p) for p in pins]
    if "pins" in node.value and not node.value["pins"].inline:
        return [append_sections(text, node.value["pins"], pins)]
    if "pins" in node.value:
        return append_elements(text, node.value["pins"], tables)
    anchor = max((span_of(n) for n in node.value.values()), key=lambda span: span.end)
    if node.inline:
        return [Edit(anchor.end, anchor.end, f", pins = [{', '.join(tables)}]")]
    indent = indent_at(text, anchor.start)
    body = "".join(f"{indent}{INDENT}{t},\n" for t in tables)
    return [after_line(text, anchor, f"{indent}pins = [\n{body}{indent}]\n")]


def append_sections(text: str, array: Node, pins: Sequence[PinEntry]) -> Edit:
    """Pins written as ``[[hosts.pins]]`` tables get more tables, after the host's last one,
    indented and spaced like it."""
    last = array.value[-1]
    head = text[span_of(last).start : line_end(text, span_of(last).start)]
    header, keys = head[: len(head) - len(head.lstrip(" \t"))], indent_at(text, span_of(last).end)
    gap = "\n" if blank_above(text, span_of(last).start) else ""
    sections = [
        f"{header}[[hosts.pins]]\n" + "".join(f"{keys}{k} = {v}\n" for k, v in pin_values(p))
        for p in pins
    ]
    at = line_end(text, span_of(last).end)
    lead = "" if text[:at].endswith("\n") else "\n"
    return Edit(at, at, lead + gap + gap.join(sections))
