"""What one edit of the pin file writes to the audit log, and when.

`Journal` is the hook `pinctl.pinfile.edit.transaction` calls around its one rename: the
line is appended first and cut off again if the rename fails (`pinctl.audit.log`). The
command layer makes the journal, because only it knows the time, the user and argv; the
log's path is the one the command was given, else the pin file's ``audit_log``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.audit import log
from pinctl.pinfile import schema

if TYPE_CHECKING:
    from pinctl.pinfile.edit import Transaction
    from pinctl.pinfile.model import Change, PinEntry

SECRET_OPTIONS = ("--passphrase-file", "--passphrase-env")
"""Options whose value is left out of ``command`` (with the option itself)."""


def scrub(argv: Sequence[str]) -> list[str]:
    """argv without the passphrase options and their values (SPEC.md section 11)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in SECRET_OPTIONS:
            skip = True
            continue
        if any(arg.startswith(f"{name}=") for name in SECRET_OPTIONS):
            continue
        out.append(arg)
    return out


@dataclass(frozen=True)
class Journal:
    """Records every committed transaction of one command run."""

    now: datetime
    user: str
    command: tuple[str, ...]
    path: Path | None = None
    """`--audit-log` or ``$PINCTL_AUDIT_LOG``; None falls back to the pin file's setting."""

    def log_for(self, edit: Transaction) -> Path | None:
        return self.path or edit.pin_file.defaults.audit_log

    @contextlib.contextmanager
    def committing(self, edit: Transaction) -> Iterator[None]:
        """Around the rename of `edit`: its line is on disk before, and gone if it fails."""
        target = self.log_for(edit)
        if target is None:
            yield
            return
        with log.appending(target, self.record(edit, target), edit.path):
            yield

    def record(self, edit: Transaction, target: Path) -> dict[str, Any]:
        return {
            "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": self.user,
            "command": ["pinctl", *scrub(self.command)],
            "pin_file": shown_path(edit.path, target),
            "before_sha256": None if edit.before_bytes is None else log.sha256(edit.before_bytes),
            "after_sha256": log.sha256(edit.after_bytes),
            "changes": [item for change in edit.changes for item in changes(change)],
            "prev": None,
        }


def shown_path(pin_file: Path, target: Path) -> str:
    """The pin file relative to the log's directory when it lies below it (logs and pin
    files move together between checkouts), else absolute."""
    full = Path(os.path.abspath(pin_file))
    base = Path(os.path.abspath(target)).parent
    return full.relative_to(base).as_posix() if full.is_relative_to(base) else str(full)


def changes(change: Change) -> list[dict[str, Any]]:
    """SPEC.md section 11's ``changes`` entries for one `Change`."""
    if not change.changed:
        return []
    base = change.path.absolute().parent

    def item(action: str, pin: PinEntry | None = None, fields: Any = None) -> dict[str, Any]:
        return {
            "host": change.host,
            "port": change.port,
            "action": action,
            "pin": None if pin is None else str(pin.pin),
            "fields": fields if fields is not None else {},
        }

    def pin_fields(pin: PinEntry) -> dict[str, Any]:
        shown = {k.name for k in schema.keys("pin") if k.shown(pin)} - {"pin"}
        return {k: v for k, v in schema.as_json(pin, "pin", base).items() if k in shown}

    out = []
    if change.removed_host:
        return [item("remove-host"), *(item("remove-pin", p) for p in change.removed)]
    if change.added_host:
        out.append(item("add-host", fields=_host_fields(change, base)))
    elif change.fields:
        out.append(item("set", fields=_host_fields(change, base)))
    out += [item("add-pin", p, pin_fields(p)) for p in change.added]
    out += [item("remove-pin", p) for p in change.removed]
    for old, new in change.amended:
        diff = {
            k: v
            for k, v in schema.as_json(new, "pin", base).items()
            if v != schema.as_json(old, "pin", base)[k]
        }
        action = (
            "retire"
            if new.retired and not old.retired
            else "promote"
            if old.backup and not new.backup
            else "set"
        )
        out.append(item(action, new, diff))
    return out


def _host_fields(change: Change, base: Path) -> dict[str, Any]:
    return {
        k: (schema.key("host", k).json(v, base) if k in schema.names("host") else v)
        for k, v in change.fields.items()
    }
