"""Editing pins.toml in place: only the changed lines change, and the file is replaced atomically.

tomlkit round-trips a file exactly, but it files a comment under the table *before* it,
so deleting or appending a table through tomlkit moves the user's comments about. Edits
are therefore made on the text, at the positions `pinfile_text` found; the result is
parsed and checked again before anything is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pinctl.errors import PinFileError, UsageError
from pinctl.files import write_atomic
from pinctl.inspect.report import SourceFailure
from pinctl.pinfile.model import (
    DEFAULT_PORT,
    HOST_KEYS,
    Change,
    Defaults,
    HostEntry,
    PinEntry,
    PinFile,
    read_nodes,
)
from pinctl.pinfile.nodes import (
    INDENT,
    Edit,
    LayoutError,
    Node,
    after_line,
    append_elements,
    apply_edits,
    blank_above,
    indent_at,
    line_end,
    outside,
    read_text,
    remove_element,
    remove_table,
    span_of,
)
from pinctl.pinfile.selection import one_host
from pinctl.pki.pins import Pin

EDITABLE_FIELDS = ("servername", "connect_to", "include_subdomains", "verify_chain", "ca_file")
"""What `add_pins(host_fields=...)` may set; host and port are the entry's identity."""


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
    where = existing or (pin_file.hosts[-1] if pin_file.hosts else None)
    with _refusing(path, HostEntry(host, port).label, where):
        if existing is None or root is None:
            new_host = replace(HostEntry(host, port, pins=tuple(wanted.values())), **fields)
            text = _add_host(text, root, new_host, path)
            written = {k: v for k, v in fields.items() if v != getattr(HostEntry(host), k)}
            change = Change(path, host, port, tuple(wanted.values()), fields=written)
            change = replace(change, added_host=True, pins_left=len(wanted))
        else:
            added = tuple(e for key, e in wanted.items() if not _find(existing, key))
            present = tuple(e for e in existing.pins if e.identity in wanted)
            updates = {k: v for k, v in fields.items() if getattr(existing, k) != v}
            node = _host_node(root, pin_file, existing)
            edits = [*_set_fields(text, node, updates, path), *_append_pins(text, node, added)]
            text = apply_edits(text, edits)
            change = Change(path, existing.host, port, added, present, fields=updates)
            change = replace(change, pins_left=len(existing.pins) + len(added))
        change = replace(change, created_file=created, dry_run=dry_run)
        if change.changed:
            _write(path, text, bom, change, original, pin_file)
    return change


def remove(
    path: Path, host: str, port: int | None = None, pin: Pin | None = None, *, dry_run: bool = False
) -> Change:
    """Remove host:port (`port` may be left out when the host has one entry), or one pin of it."""
    path = Path(path)
    text, bom = read_text(path)
    original = text
    before, root = read_nodes(text, path)
    entry = one_host(before, host, port)
    gone = entry.pins if pin is None else tuple(p for p in entry.pins if p.pin == pin)
    if not gone and pin is not None:
        listed = ", ".join(str(p.pin) for p in entry.pins) or "none"
        raise UsageError(
            f"pin {pin} is not pinned for {entry.label} in {path} (its pins: {listed}); "
            "see `pinctl list`"
        )
    with _refusing(path, entry.label, entry):
        if pin is None:
            hosts, index = root.value["hosts"], before.hosts.index(entry)
            if hosts.inline:
                edit = remove_element(text, hosts, index)
            else:
                edit = remove_table(text, _host_node(root, before, entry))
            text = apply_edits(text, [edit])
            change = Change(path, entry.host, entry.port, removed=gone, removed_host=True)
        else:
            pin_file = before
            for _ in gone:  # one at a time: neighbouring elements may share a comma
                text = apply_edits(text, [_remove_pin(text, root, pin_file, entry, pin)])
                pin_file, root = _reread(text, path)
            left = len(entry.pins) - len(gone)
            change = Change(path, entry.host, entry.port, removed=gone, pins_left=left)
        change = replace(change, dry_run=dry_run)
        _write(path, text, bom, change, original, before)
    return change


def _remove_pin(text: str, root: Node, pin_file: PinFile, entry: HostEntry, pin: Pin) -> Edit:
    current = pin_file.find_host(entry.host, entry.port)
    if current is None:
        raise LayoutError("the host went missing while its pins were removed")
    array = _host_node(root, pin_file, current).value["pins"]
    index = next(i for i, p in enumerate(current.pins) if p.pin == pin)
    if not array.inline:  # [[hosts.pins]] tables
        return remove_table(text, array.value[index])
    if len(current.pins) == 1 and "#" not in outside(text, array):
        return Edit(span_of(array).start, span_of(array).end, "[]")
    return remove_element(text, array, index)


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
    return "{ " + ", ".join(f"{k} = {v}" for k, v in _pin_values(entry)) + " }"


def _pin_values(entry: PinEntry) -> list[tuple[str, str]]:
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
    return items


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


def _host_node(root: Node, pin_file: PinFile, entry: HostEntry) -> Node:
    node: Node = root.value["hosts"].value[pin_file.hosts.index(entry)]
    return node


def _add_host(text: str, root: Node | None, entry: HostEntry, path: Path) -> str:
    if root is None:
        return "version = 1\n\n" + host_table(entry, path)
    hosts: Node | None = root.value.get("hosts")
    if hosts is not None and hosts.inline:
        values = ", ".join(f"{k} = {v}" for k, v in _host_values(entry, path, inline=True))
        return apply_edits(text, append_elements(text, hosts, ["{ " + values + " }"]))
    at = line_end(text, span_of(hosts.value[-1]).end) if hosts and hosts.value else len(text)
    lead = "" if text[:at].endswith("\n\n") else "\n" if text[:at].endswith("\n") else "\n\n"
    return apply_edits(text, [Edit(at, at, lead + host_table(entry, path))])


def _set_fields(text: str, node: Node, updates: Mapping[str, object], path: Path) -> list[Edit]:
    edits = []
    for key, value in updates.items():
        written = _toml(value, path)
        if key in node.value:
            span = span_of(node.value[key])
            edits.append(Edit(span.start, span.end, written))
            continue
        order = HOST_KEYS.index(key)
        before = [span_of(n) for k, n in node.value.items() if HOST_KEYS.index(k) < order]
        anchor = max(before, key=lambda span: span.end)
        if node.inline:
            edits.append(Edit(anchor.end, anchor.end, f", {key} = {written}"))
        else:
            edits.append(
                after_line(text, anchor, f"{indent_at(text, anchor.start)}{key} = {written}\n")
            )
    return edits


def _append_pins(text: str, node: Node, pins: Sequence[PinEntry]) -> list[Edit]:
    if not pins:
        return []
    tables = [pin_table(p) for p in pins]
    if "pins" in node.value and not node.value["pins"].inline:
        return [_append_sections(text, node.value["pins"], pins)]
    if "pins" in node.value:
        return append_elements(text, node.value["pins"], tables)
    anchor = max((span_of(n) for n in node.value.values()), key=lambda span: span.end)
    if node.inline:
        return [Edit(anchor.end, anchor.end, f", pins = [{', '.join(tables)}]")]
    indent = indent_at(text, anchor.start)
    body = "".join(f"{indent}{INDENT}{t},\n" for t in tables)
    return [after_line(text, anchor, f"{indent}pins = [\n{body}{indent}]\n")]


def _append_sections(text: str, array: Node, pins: Sequence[PinEntry]) -> Edit:
    """Pins written as ``[[hosts.pins]]`` tables get more tables, after the host's last one,
    indented and spaced like it."""
    last = array.value[-1]
    head = text[span_of(last).start : line_end(text, span_of(last).start)]
    header, keys = head[: len(head) - len(head.lstrip(" \t"))], indent_at(text, span_of(last).end)
    gap = "\n" if blank_above(text, span_of(last).start) else ""
    sections = [
        f"{header}[[hosts.pins]]\n" + "".join(f"{keys}{k} = {v}\n" for k, v in _pin_values(p))
        for p in pins
    ]
    at = line_end(text, span_of(last).end)
    lead = "" if text[:at].endswith("\n") else "\n"
    return Edit(at, at, lead + gap + gap.join(sections))


def _write(
    path: Path, text: str, bom: bool, change: Change, original: str | None, before: PinFile
) -> None:
    """Check the new text as strictly as a user's file, and that it says exactly what was meant
    (a dry run too, so that it refuses what the real run would), then write it.

    The file is read once more just before it is replaced: two pinctl runs editing at once
    must not silently lose one's change (`original` None means the file must not exist).
    """
    after = _reread(text, path)[0]
    host = after.find_host(change.host, change.port)
    have = set() if host is None else {p.identity for p in host.pins}
    if (host is None) != change.removed_host or any(
        (p.identity in have) == (p in change.removed) for p in (*change.added, *change.removed)
    ):
        raise LayoutError("the edited text did not say what was asked")
    if host is not None and any(getattr(host, k) != v for k, v in change.fields.items()):
        raise LayoutError("the edited text did not set what was asked")
    key = (change.host.lower(), change.port)
    if after.defaults != before.defaults or [h for h in after.hosts if h.key != key] != [
        h for h in before.hosts if h.key != key
    ]:
        raise LayoutError("the edit would have changed other entries too")
    if change.dry_run:
        return
    current = read_text(path)[0] if path.exists() else None
    if current != original:
        raise PinFileError(f"{path} changed while pinctl was editing it; run the command again")
    write_atomic(path, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _reread(text: str, path: Path) -> tuple[PinFile, Node]:
    """pinctl's own text failing to read back is pinctl's failure, never the user's TOML."""
    try:
        return read_nodes(text, path)
    except PinFileError as exc:
        raise LayoutError(f"the edited text would not read back: {exc}") from None


@contextlib.contextmanager
def _refusing(path: Path, label: str, near: HostEntry | None) -> Iterator[None]:
    """Turn an edit pinctl could not make into a refusal that leaves the file as it was."""
    try:
        yield
    except LayoutError as exc:
        line = near.line if near is not None and near.line else 1
        raise PinFileError(
            f"{path}:{line}: pinctl could not edit {label} as this file writes it ({exc}); "
            "the file is unchanged: make the change by hand"
        ) from None
