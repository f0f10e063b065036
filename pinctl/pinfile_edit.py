"""Editing pins.toml in place: only the changed lines change, and the file is replaced atomically.

tomlkit round-trips a file exactly, but it files a comment under the table *before* it,
so deleting or appending a table through tomlkit moves the user's comments about. Edits
are therefore made on the text, at the positions `pinfile_text` found; the result is
parsed and checked again before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pinctl.entries import SourceFailure
from pinctl.errors import PinFileError, UsageError
from pinctl.files import write_atomic
from pinctl.pinfile import (
    DEFAULT_PORT,
    HOST_KEYS,
    Change,
    Defaults,
    HostEntry,
    PinEntry,
    PinFile,
    read_nodes,
)
from pinctl.pinfile_text import Node, Span, indent_at, line_end, line_start, read_text, span_of
from pinctl.pins import Pin

EDITABLE_FIELDS = ("servername", "connect_to", "include_subdomains", "verify_chain", "ca_file")
"""What `add_pins(host_fields=...)` may set; host and port are the entry's identity."""
INDENT = "  "


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class EditResult:
    """What `add` or `remove` did to the pin file, one `Change` per host."""

    changes: tuple[Change, ...]
    failures: tuple[SourceFailure, ...] = ()
    """Targets `add` could not reach; the others were still added."""


def add_pins(
    path: Path,
    host: str,
    port: int,
    pins: Sequence[PinEntry],
    *,
    host_fields: Mapping[str, object] | None = None,
    dry_run: bool = False,
) -> Change:
    """Add `pins` to host:port; a pin already there (same digest, algorithm, kind) stays as is.

    A new host gets a ``[[hosts]]`` table after the last one; a missing file is created with
    ``version = 1``. `host_fields` (``verify_chain=False``...) are set on the host either way.
    """
    path = Path(path)
    unknown = sorted(set(host_fields or {}) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"add_pins cannot set {unknown}; it sets {EDITABLE_FIELDS}")
    fields: dict[str, Any] = {
        k: absolute_path(v) if k == "ca_file" else v for k, v in (host_fields or {}).items()
    }
    wanted: dict[object, PinEntry] = {}
    for entry in pins:
        wanted.setdefault(entry.identity, entry)
    created = not path.exists()
    text, bom = ("", False) if created else read_text(path)
    original = None if created else text
    pin_file, root = (PinFile(path), None) if created else read_nodes(text, path)
    existing = pin_file.find_host(host, port)
    if existing is None or root is None:
        new_host = replace(HostEntry(host, port, pins=tuple(wanted.values())), **fields)
        text = _add_host(text, root, new_host, path)
        written = {k: v for k, v in fields.items() if v != getattr(HostEntry(host), k)}
        change = Change(path, host, port, tuple(wanted.values()), fields=written, added_host=True)
        change = replace(change, pins_left=len(wanted))
    else:
        added = tuple(e for key, e in wanted.items() if not _find(existing, key))
        present = tuple(e for e in existing.pins if e.identity in wanted)
        updates = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        node = _host_node(root, pin_file, existing)
        edits = [*_set_fields(text, node, updates, path), *_append_pins(text, node, added)]
        text = _apply(text, edits)
        change = Change(path, existing.host, port, added, present, fields=updates)
        change = replace(change, pins_left=len(existing.pins) + len(added))
    change = replace(change, created_file=created, dry_run=dry_run)
    if change.changed and not dry_run:
        _write(path, text, bom, change, original)
    return change


def remove(
    path: Path, host: str, port: int | None = None, pin: Pin | None = None, *, dry_run: bool = False
) -> Change:
    """Remove host:port (`port` may be left out when the host has one entry), or one pin of it."""
    path = Path(path)
    text, bom = read_text(path)
    original = text
    pin_file, root = read_nodes(text, path)
    entry = _only_host(pin_file, host, port)
    if pin is None:
        hosts = root.value["hosts"]
        index = pin_file.hosts.index(entry)
        node = _host_node(root, pin_file, entry)
        edit = _remove_element(text, hosts, index) if hosts.inline else _remove_table(text, node)
        text = _apply(text, [edit])
        change = Change(path, entry.host, entry.port, removed=entry.pins, removed_host=True)
    else:
        gone = tuple(p for p in entry.pins if p.pin == pin)
        if not gone:
            listed = ", ".join(str(p.pin) for p in entry.pins) or "none"
            raise UsageError(
                f"pin {pin} is not pinned for {entry.label} in {path} (its pins: {listed}); "
                "see `pinctl list`"
            )
        for _ in gone:  # one at a time: neighbouring elements may share a comma
            current = pin_file.find_host(entry.host, entry.port)
            assert current is not None
            array = _host_node(root, pin_file, current).value["pins"]
            index = next(i for i, p in enumerate(current.pins) if p.pin == pin)
            if len(current.pins) == 1 and "#" not in _outside(text, array):
                edit = _Edit(span_of(array).start, span_of(array).end, "[]")
            else:
                edit = _remove_element(text, array, index)
            text = _apply(text, [edit])
            pin_file, root = read_nodes(text, path)
        left = len(entry.pins) - len(gone)
        change = Change(path, entry.host, entry.port, removed=gone, pins_left=left)
    change = replace(change, dry_run=dry_run)
    if not dry_run:
        _write(path, text, bom, change, original)
    return change


def dumps(pin_file: PinFile) -> str:
    """The whole file in pinctl's own layout, as `add` writes a new one."""
    parts = [f"version = {pin_file.version}\n"]
    base = Defaults()
    changed = [
        k
        for k in ("warn_days", "min_tls", "forward_secrecy", "ca_file")
        if getattr(pin_file.defaults, k) != getattr(base, k)
    ]
    if changed:
        lines = [f"{k} = {_toml(getattr(pin_file.defaults, k), pin_file.path)}\n" for k in changed]
        parts.append("[defaults]\n" + "".join(lines))
    parts.extend(host_table(host, pin_file.path) for host in pin_file.hosts)
    return "\n".join(parts)


def save(pin_file: PinFile) -> None:
    """Write a whole pin file in pinctl's layout (for new files; edits keep the user's)."""
    write_atomic(pin_file.path, dumps(pin_file).encode("utf-8"))


def host_table(entry: HostEntry, path: Path) -> str:
    return "[[hosts]]\n" + "".join(f"{k} = {v}\n" for k, v in _host_values(entry, path))


def pin_table(entry: PinEntry) -> str:
    """``{ pin = "sha256/...", level = "leaf" }``: level is spelled out, except on leaf backups."""
    items = [("pin", _toml(str(entry.pin)))]
    if entry.kind != "spki":
        items.append(("kind", _toml(entry.kind)))
    if not (entry.backup and entry.level == "leaf"):
        items.append(("level", _toml(entry.level)))
    if entry.backup:
        items.append(("backup", "true"))
    if entry.note is not None:
        items.append(("note", _toml(entry.note)))
    if entry.expires is not None:
        items.append(("expires", entry.expires.isoformat()))
    return "{ " + ", ".join(f"{k} = {v}" for k, v in items) + " }"


def _host_values(entry: HostEntry, path: Path, *, inline: bool = False) -> list[tuple[str, str]]:
    values = [("host", _toml(entry.host))]
    if entry.port != DEFAULT_PORT:
        values.append(("port", str(entry.port)))
    base = HostEntry(entry.host)
    values += [
        (k, _toml(getattr(entry, k), path))
        for k in EDITABLE_FIELDS
        if getattr(entry, k) != getattr(base, k)
    ]
    tables = [pin_table(p) for p in entry.pins]
    if inline or not tables:
        values.append(("pins", "[" + ", ".join(tables) + "]"))
    else:
        values.append(("pins", "[\n" + "".join(f"{INDENT}{t},\n" for t in tables) + "]"))
    return values


def _toml(value: object, path: Path | None = None) -> str:
    """A TOML value; a ca_file is written relative to the pin file when it lies below it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Path) and path is not None:
        base = path.absolute().parent
        value = value.relative_to(base).as_posix() if value.is_relative_to(base) else str(value)
    text = str(value)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise UsageError(f"{text!r} holds unpaired surrogates, which a TOML file cannot store")
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    escapes["\r"] = "\\r"
    return '"' + "".join(escapes.get(c) or _control(c) for c in text) + '"'


def _control(char: str) -> str:
    return f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char


def absolute_path(value: object) -> Path | None:
    """A --ca-file given relative to the working directory, made independent of it."""
    return None if value is None else Path.cwd() / Path(str(value))


def _find(entry: HostEntry, identity: object) -> bool:
    return any(p.identity == identity for p in entry.pins)


def _only_host(pin_file: PinFile, host: str, port: int | None) -> HostEntry:
    found = [h for h in pin_file.hosts if h.host.lower() == host.lower()]
    if port is not None:
        found = [h for h in found if h.port == port]
    if len(found) == 1:
        return found[0]
    if found:
        ports = " and ".join(str(h.port) for h in found)
        raise UsageError(f"{host} is in {pin_file.path} for ports {ports}; choose one with --port")
    known = ", ".join(h.label for h in pin_file.hosts[:10]) or "no hosts"
    name = host if port is None else HostEntry(host, port).label
    raise UsageError(f"{name} is not in {pin_file.path} (it has {known}); see `pinctl list`")


def _host_node(root: Node, pin_file: PinFile, entry: HostEntry) -> Node:
    node: Node = root.value["hosts"].value[pin_file.hosts.index(entry)]
    return node


def _add_host(text: str, root: Node | None, entry: HostEntry, path: Path) -> str:
    if root is None:
        return "version = 1\n\n" + host_table(entry, path)
    hosts: Node | None = root.value.get("hosts")
    if hosts is not None and hosts.inline:
        values = ", ".join(f"{k} = {v}" for k, v in _host_values(entry, path, inline=True))
        return _apply(text, _append_elements(text, hosts, ["{ " + values + " }"]))
    at = line_end(text, span_of(hosts.value[-1]).end) if hosts and hosts.value else len(text)
    lead = "" if text[:at].endswith("\n\n") else "\n" if text[:at].endswith("\n") else "\n\n"
    return _apply(text, [_Edit(at, at, lead + host_table(entry, path))])


def _set_fields(text: str, node: Node, updates: Mapping[str, object], path: Path) -> list[_Edit]:
    edits = []
    for key, value in updates.items():
        written = _toml(value, path)
        if key in node.value:
            span = span_of(node.value[key])
            edits.append(_Edit(span.start, span.end, written))
            continue
        order = HOST_KEYS.index(key)
        before = [span_of(n) for k, n in node.value.items() if HOST_KEYS.index(k) < order]
        anchor = max(before, key=lambda span: span.end)
        if node.inline:
            edits.append(_Edit(anchor.end, anchor.end, f", {key} = {written}"))
        else:
            edits.append(
                _after_line(text, anchor, f"{indent_at(text, anchor.start)}{key} = {written}\n")
            )
    return edits


def _append_pins(text: str, node: Node, pins: Sequence[PinEntry]) -> list[_Edit]:
    if not pins:
        return []
    tables = [pin_table(p) for p in pins]
    if "pins" in node.value:
        return _append_elements(text, node.value["pins"], tables)
    anchor = max((span_of(n) for n in node.value.values()), key=lambda span: span.end)
    if node.inline:
        return [_Edit(anchor.end, anchor.end, f", pins = [{', '.join(tables)}]")]
    indent = indent_at(text, anchor.start)
    body = "".join(f"{indent}{INDENT}{t},\n" for t in tables)
    return [_after_line(text, anchor, f"{indent}pins = [\n{body}{indent}]\n")]


def _append_elements(text: str, array: Node, items: Sequence[str]) -> list[_Edit]:
    """Add items to an array, one per line, in the array's own indentation."""
    span, elements = span_of(array), array.value
    base = indent_at(text, span.start)
    if "\n" not in text[span.start : span.end]:
        inner = [text[span_of(e).start : span_of(e).end] for e in elements] + list(items)
        lines = "".join(f"{base}{INDENT}{item},\n" for item in inner)
        return [_Edit(span.start, span.end, f"[\n{lines}{base}]")]
    edits = []
    indent = base + INDENT
    if elements:
        last = span_of(elements[-1])
        if not text[line_start(text, last.start) : last.start].strip():
            indent = indent_at(text, last.start)
        if not re.match(r"(?:\s|#[^\n]*)*,", text[last.end : span.end]):
            edits.append(_Edit(last.end, last.end, ","))
    close = span.end - 1
    lines = "".join(f"{indent}{item},\n" for item in items)
    if not text[line_start(text, close) : close].strip():
        edits.append(_Edit(line_start(text, close), line_start(text, close), lines))
    else:
        edits.append(_Edit(close, close, "\n" + lines + base))
    return edits


def _remove_element(text: str, array: Node, index: int) -> _Edit:
    """Delete one element: its whole lines when it has them to itself, else it and a comma."""
    outer, span = span_of(array), span_of(array.value[index])
    start, end = line_start(text, span.start), line_end(text, span.end)
    last = index == len(array.value) - 1
    tail = re.fullmatch(r"[ \t]*(,)?[ \t]*(#[^\n]*)?\r?\n?", text[span.end : end])
    if not text[start : span.start].strip() and tail and (last or tail[1]):
        return _Edit(start, end, "")
    after = re.match(r"\s*,[ \t]*", text[span.end : outer.end])
    if after and not last:
        return _Edit(span.start, span.end + after.end(), "")
    before = re.search(r",\s*\Z", text[outer.start : span.start])
    return _Edit(outer.start + before.start() if before else span.start, span.end, "")


def _remove_table(text: str, node: Node) -> _Edit:
    """Delete a ``[[hosts]]`` table from its header to its last value, with the comment block
    right above the header when a blank line sets it off, and one blank line around it."""
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
    return _Edit(start, end, "")


def _outside(text: str, array: Node) -> str:
    """The array's text without its elements: brackets, commas, whitespace and comments."""
    cuts = [span_of(array).start]
    for element in array.value:
        cuts += [span_of(element).start, span_of(element).end]
    cuts.append(span_of(array).end)
    return "".join(text[cuts[i] : cuts[i + 1]] for i in range(0, len(cuts), 2))


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    """Apply edits from the last to the first, so earlier offsets stay valid."""
    newline = "\r\n" if "\r\n" in text else "\n"
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start] + edit.text.replace("\n", newline) + text[edit.end :]
    return text


def _write(path: Path, text: str, bom: bool, change: Change, original: str | None) -> None:
    """Check the new text as strictly as a user's file, and that it says what was meant.

    The file is read once more just before it is replaced: two pinctl runs editing at once
    must not silently lose one's change (`original` None means the file must not exist).
    """
    try:
        host = read_nodes(text, path)[0].find_host(change.host, change.port)
    except PinFileError as exc:
        raise RuntimeError(f"editing {path} produced an invalid file: {exc}") from None
    have = set() if host is None else {p.identity for p in host.pins}
    if (host is None) != change.removed_host or any(
        (p.identity in have) == (p in change.removed) for p in (*change.added, *change.removed)
    ):
        raise RuntimeError(f"editing {path} did not do what was asked: {change}")
    current = read_text(path)[0] if path.exists() else None
    if current != original:
        raise PinFileError(f"{path} changed while pinctl was editing it; run the command again")
    write_atomic(path, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _after_line(text: str, span: Span, insert: str) -> _Edit:
    """Insert whole lines after the line where `span` ends."""
    at = line_end(text, span.end)
    return _Edit(at, at, insert if text[:at].endswith("\n") else "\n" + insert)
