"""Editing pins.toml as one transaction: one read, one guarded atomic write, and a `Change`
for every mutation.

`transaction` holds the pin file's lock (`pinctl.pinfile.lock`) from the read to the
rename, so concurrent edits queue instead of losing one another's change. Each mutation
rewrites only the lines it must (`pinctl.pinfile.splice`), and its result is read back as
strictly as a user's file and compared with what was asked before the next one starts;
that read-back is also the map of positions the next mutation cuts at. Nothing is written
until the block ends cleanly; the before and after text stay on the transaction, which is
where the audit log hooks in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from pinctl.errors import PinFileError, UsageError
from pinctl.files import write_atomic
from pinctl.pinfile import lock, schema
from pinctl.pinfile.amend import append_pins, set_fields
from pinctl.pinfile.model import Change, HostEntry, PinEntry, PinFile
from pinctl.pinfile.nodes import Identity, Node, decode, identity, read_file
from pinctl.pinfile.reader import read_nodes
from pinctl.pinfile.selection import one_host
from pinctl.pinfile.splice import (
    Edit,
    LayoutError,
    append_elements,
    apply_edits,
    line_end,
    outside,
    remove_element,
    remove_table,
    span_of,
)
from pinctl.pinfile.writer import host_inline, host_table
from pinctl.pki.pins import Pin


class Failure(Protocol):
    """A target `add` could not reach (`pinctl.inspect.report.SourceFailure`), described
    here by shape so that the pin file package depends on nothing that goes on the network."""

    @property
    def source(self) -> str: ...

    @property
    def error(self) -> str: ...


@dataclass(frozen=True)
class EditResult:
    """What `add` or `remove` did to the pin file, one `Change` per host."""

    changes: tuple[Change, ...]
    failures: tuple[Failure, ...] = ()
    """Targets `add` could not reach; the others were still added."""


class Journal(Protocol):
    """Whatever must be written with the change (`pinctl.audit.journal`): entered before the
    rename, left after it; an exception inside means the change was not made."""

    def committing(self, edit: Transaction) -> contextlib.AbstractContextManager[None]: ...


class Transaction:
    """The pin file as read, the text as edited so far, and the changes that made it."""

    def __init__(self, path: Path, *, dry_run: bool, journal: Journal | None = None) -> None:
        found = read_file(path)
        data = None if found is None else found[0]
        self._identity: Identity | None = None if found is None else found[1]
        self.path = path
        self.dry_run = dry_run
        self.journal = journal
        self.before_bytes = data
        """The file as read, or None when there was none: what the audit log hashes."""
        self.created = data is None
        self.text, self.bom = ("", False) if data is None else decode(data, path)
        self.before_text: str | None = None if data is None else self.text
        self._root: Node | None = None
        self.pin_file = PinFile(path)
        """The pin file as read; `PinFile(path)` when there was none."""
        if data is not None:
            self.pin_file, self._root = read_nodes(self.text, path)
        self._current = self.pin_file
        self.changes: list[Change] = []

    @property
    def current(self) -> PinFile:
        """The pin file as edited so far."""
        return self._current

    @property
    def after_text(self) -> str:
        return self.text

    @property
    def after_bytes(self) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.text.encode("utf-8")

    @property
    def changed(self) -> bool:
        return any(change.changed for change in self.changes)

    def add_pins(
        self,
        host: str,
        port: int,
        pins: Sequence[PinEntry],
        *,
        host_fields: Mapping[str, object] | None = None,
    ) -> Change:
        """Add `pins` to host:port; a pin already there (same digest, algorithm, kind) stays.

        A new host gets a ``[[hosts]]`` table after the last one; a missing file is created
        with ``version = 1``. `host_fields` (``verify_chain=False``...) are set either way.
        """
        unknown = sorted(set(host_fields or {}) - set(schema.EDITABLE_FIELDS))
        if unknown:
            raise ValueError(f"add_pins cannot set {unknown}; it sets {schema.EDITABLE_FIELDS}")
        fields: dict[str, Any] = {
            k: absolute_path(v) if schema.key("host", k).path else v
            for k, v in (host_fields or {}).items()
        }
        wanted: dict[object, PinEntry] = {}
        for entry in pins:
            wanted.setdefault(entry.identity, entry)
        current, root, text = self._current, self._root, self.text
        existing = current.find_host(host, port)
        where = existing or (current.hosts[-1] if current.hosts else None)
        with self._refusing(HostEntry(host, port).label, where):
            if existing is None or root is None:
                new_host = replace(HostEntry(host, port, pins=tuple(wanted.values())), **fields)
                text = _add_host(text, root, new_host, self.path)
                written = {k: v for k, v in fields.items() if v != getattr(HostEntry(host), k)}
                change = Change(self.path, host, port, tuple(wanted.values()), fields=written)
                change = replace(change, added_host=True, pins_left=len(wanted))
            else:
                added = tuple(e for key, e in wanted.items() if not _has(existing, key))
                present = tuple(e for e in existing.pins if e.identity in wanted)
                updates = {k: v for k, v in fields.items() if getattr(existing, k) != v}
                node = _host_node(root, current, existing)
                edits = [
                    *set_fields(text, node, updates, self.path, "host"),
                    *append_pins(text, node, added),
                ]
                text = apply_edits(text, edits)
                change = Change(self.path, existing.host, port, added, present, fields=updates)
                change = replace(change, pins_left=len(existing.pins) + len(added))
            change = replace(change, created_file=self.created, dry_run=self.dry_run)
            if change.changed:
                self._accept(text, change)
        self.changes.append(change)
        return change

    def remove(self, host_text: str, port: int | None = None, pins: Sequence[Pin] = ()) -> Change:
        """Remove host:port (`port` may be left out when the host has one entry), or only
        the given pins of it."""
        if self._root is None:
            raise PinFileError(f"no pin file at {self.path}; create one with `pinctl add HOST`")
        entry = one_host(self._current, host_text, port)
        asked = tuple(dict.fromkeys(pins))
        missing = [p for p in asked if not any(e.pin == p for e in entry.pins)]
        if missing:
            listed = ", ".join(str(p.pin) for p in entry.pins) or "none"
            raise UsageError(
                f"pin {missing[0]} is not pinned for {entry.label} in {self.path} "
                f"(its pins: {listed}); see `pinctl list`"
            )
        gone = entry.pins if not asked else tuple(p for p in entry.pins if p.pin in asked)
        with self._refusing(entry.label, entry):
            if not asked:
                text = self._without_host(entry)
                change = Change(self.path, entry.host, entry.port, removed=gone, removed_host=True)
            else:
                text, pin_file, root = self.text, self._current, self._root
                for index, pin in enumerate(gone):  # neighbouring elements may share a comma,
                    if index:  # so each removal cuts at the positions the last one left
                        pin_file, root = _reread(text, self.path)
                    text = apply_edits(text, [_remove_pin(text, root, pin_file, entry, pin.pin)])
                left = len(entry.pins) - len(gone)
                change = Change(self.path, entry.host, entry.port, removed=gone, pins_left=left)
            change = replace(change, dry_run=self.dry_run)
            self._accept(text, change)
        self.changes.append(change)
        return change

    def amend_pins(
        self, host_text: str, port: int | None, updates: Mapping[Pin, Mapping[str, Any]]
    ) -> Change:
        """Set keys of some of a host's pins (`promote`: backup, note, retired); each pin
        is named by its digest and must be the host's."""
        if self._root is None:
            raise PinFileError(f"no pin file at {self.path}; create one with `pinctl add HOST`")
        entry = one_host(self._current, host_text, port)
        by_pin = {p.pin: p for p in entry.pins}
        unknown = [pin for pin in updates if pin not in by_pin]
        if unknown:
            raise UsageError(f"pin {unknown[0]} is not pinned for {entry.label} in {self.path}")
        pairs = tuple(
            (by_pin[pin], replace(by_pin[pin], **fields)) for pin, fields in updates.items()
        )
        pairs = tuple((old, new) for old, new in pairs if old != new)
        with self._refusing(entry.label, entry):
            text, pin_file, root = self.text, self._current, self._root
            for old, new in pairs:
                current = pin_file.find_host(entry.host, entry.port)
                if current is None:
                    raise LayoutError("the host went missing while its pins were edited")
                array = _host_node(root, pin_file, current).value["pins"]
                node = array.value[next(i for i, p in enumerate(current.pins) if p.pin == old.pin)]
                wanted = {
                    k: getattr(new, k)
                    for k in schema.names("pin")
                    if getattr(new, k) != getattr(old, k)
                }
                text = apply_edits(text, set_fields(text, node, wanted, self.path, "pin"))
                pin_file, root = _reread(text, self.path)
            after = pin_file.find_host(entry.host, entry.port)
            expected = tuple(dict(pairs).get(p, p) for p in entry.pins)
            if (
                after is None
                or after.pins != expected
                or replace(after, pins=()) != replace(entry, pins=())
            ):
                raise LayoutError("the edited text did not say what was asked")
            if [h for h in pin_file.hosts if h.key != entry.key] != [
                h for h in self._current.hosts if h.key != entry.key
            ] or pin_file.defaults != self._current.defaults:
                raise LayoutError("the edit would have changed other entries too")
            change = Change(self.path, entry.host, entry.port, amended=pairs, dry_run=self.dry_run)
            change = replace(change, pins_left=len(entry.pins))
            self.text, self._current, self._root = text, pin_file, root
        self.changes.append(change)
        return change

    def _without_host(self, entry: HostEntry) -> str:
        assert self._root is not None
        hosts, index = self._root.value["hosts"], self._current.hosts.index(entry)
        if hosts.inline:
            edit = remove_element(self.text, hosts, index)
        else:
            edit = remove_table(self.text, _host_node(self._root, self._current, entry))
        return apply_edits(self.text, [edit])

    def _accept(self, text: str, change: Change) -> None:
        """Take the edited text only if it reads back and says exactly what was asked (a dry
        run too, so that it refuses what the real run would)."""
        before = self._current
        after, root = _reread(text, self.path)
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
        self.text, self._current, self._root = text, after, root

    def commit(self) -> None:
        """Write the edited text once, atomically, if anything changed and this is no dry run.

        The lock keeps other pinctl runs out; the file's identity (inode, size, mtime) is
        still compared with the one read, so that an editor or script that ignores the lock
        does not lose its change either, and the file is read only once."""
        if self.dry_run or not self.changed:
            return
        if identity(self.path) != self._identity:
            raise PinFileError(
                f"{self.path} changed while pinctl was editing it; run the command again"
            )
        held = self.journal.committing(self) if self.journal else contextlib.nullcontext()
        with held:
            write_atomic(self.path, self.after_bytes)

    @contextlib.contextmanager
    def _refusing(self, label: str, near: HostEntry | None) -> Iterator[None]:
        """Turn an edit pinctl could not make into a refusal that leaves the file as it was."""
        try:
            yield
        except LayoutError as exc:
            line = near.line if near is not None and near.line else 1
            raise PinFileError(
                f"{self.path}:{line}: pinctl could not edit {label} as this file writes it "
                f"({exc}); the file is unchanged: make the change by hand"
            ) from None


@contextlib.contextmanager
def transaction(
    path: Path,
    *,
    dry_run: bool = False,
    lock_wait: float | None = None,
    journal: Journal | None = None,
) -> Iterator[Transaction]:
    """Read the pin file under its lock, let the block edit it, and write it once on a clean
    exit; an exception leaves the file as it was. A dry run takes no lock.

    `lock_wait` (default `lock.WAIT`) is how long to wait for another writer; `journal`
    (the audit log) writes its line while the lock is held, around the rename."""
    path = Path(path)
    wait = lock.WAIT if lock_wait is None else lock_wait
    held = contextlib.nullcontext() if dry_run else lock.locked(path, wait=wait)
    with held:
        edit = Transaction(path, dry_run=dry_run, journal=journal)
        yield edit
        edit.commit()


def add_pins(
    path: Path,
    host: str,
    port: int,
    pins: Sequence[PinEntry],
    *,
    host_fields: Mapping[str, object] | None = None,
    dry_run: bool = False,
) -> Change:
    """One `Transaction.add_pins` in a transaction of its own."""
    with transaction(path, dry_run=dry_run) as edit:
        return edit.add_pins(host, port, pins, host_fields=host_fields)


def remove(
    path: Path,
    host: str,
    port: int | None = None,
    pins: Sequence[Pin] = (),
    *,
    dry_run: bool = False,
) -> Change:
    """One `Transaction.remove` in a transaction of its own."""
    with transaction(path, dry_run=dry_run) as edit:
        return edit.remove(host, port, pins)


def absolute_path(value: object) -> Path | None:
    """A --ca-file given relative to the working directory, made independent of it."""
    return None if value is None else Path.cwd() / Path(str(value))


def _has(entry: HostEntry, identity: object) -> bool:
    return any(p.identity == identity for p in entry.pins)


def _host_node(root: Node, pin_file: PinFile, entry: HostEntry) -> Node:
    node: Node = root.value["hosts"].value[pin_file.hosts.index(entry)]
    return node


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


def _add_host(text: str, root: Node | None, entry: HostEntry, path: Path) -> str:
    if root is None:
        return "version = 1\n\n" + host_table(entry, path)
    hosts: Node | None = root.value.get("hosts")
    if hosts is not None and hosts.inline:
        return apply_edits(text, append_elements(text, hosts, [host_inline(entry, path)]))
    at = line_end(text, span_of(hosts.value[-1]).end) if hosts and hosts.value else len(text)
    lead = "" if text[:at].endswith("\n\n") else "\n" if text[:at].endswith("\n") else "\n\n"
    return apply_edits(text, [Edit(at, at, lead + host_table(entry, path))])


def _reread(text: str, path: Path) -> tuple[PinFile, Node]:
    """pinctl's own text failing to read back is pinctl's failure, never the user's TOML."""
    try:
        return read_nodes(text, path)
    except PinFileError as exc:
        raise LayoutError(f"the edited text would not read back: {exc}") from None
