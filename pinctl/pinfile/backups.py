"""Backup keys' pins into the pin file: what `backup-keygen --host` records.

Key generation (`pinctl.pki.keygen`) knows nothing of pins.toml; it calls a recorder inside
its all-or-nothing step, so a pin that cannot be recorded removes the keys again and no
key is ever left whose pin the file does not hold. HOST is resolved as every command
resolves it (`pinctl.pinfile.selection`): ``localhost`` names the file's one
``localhost:20143`` entry, and a host the file lacks is refused unless `create_host`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pinctl.errors import UsageError
from pinctl.pinfile.edit import Journal, transaction
from pinctl.pinfile.model import DEFAULT_PORT, Change, PinEntry, PinFile
from pinctl.pinfile.nodes import decode, read_bytes
from pinctl.pinfile.reader import loads
from pinctl.pinfile.selection import matching, one_host, split_host, unknown_host
from pinctl.pki.keygen import BackupKey


@dataclass(frozen=True)
class BackupRecorder:
    """Adds the keys' pins to HOST as ``backup = true``, the key file as the note."""

    path: Path
    host: str
    """As the user wrote it: ``host``, ``host:port`` or ``[v6]:port``."""
    create_host: bool = False
    journal: Journal | None = None

    def check(self) -> None:
        """An invalid pin file or an unknown host is refused before any key is made, not
        after. (Recording reads the file again under its lock, which is not held while
        keys are made.)"""
        split_host(self.host)  # a bad port is refused even when the file is still to come
        data = read_bytes(self.path)
        if data is not None:  # a missing pin file is created
            self.target(loads(decode(data, self.path)[0], self.path))

    def target(self, pin_file: PinFile) -> tuple[str, int]:
        """The entry HOST names, or the new one `create_host` (or a new file) allows."""
        if matching(pin_file, self.host) or (pin_file.hosts and not self.create_host):
            if not matching(pin_file, self.host):
                known = unknown_host(pin_file, self.host)
                raise UsageError(f"{known}, or add it as a new host with --create-host")
            entry = one_host(pin_file, self.host)
            return entry.host, entry.port
        host, port = split_host(self.host)
        return host, port or DEFAULT_PORT

    def __call__(self, keys: tuple[BackupKey, ...]) -> Change:
        base = self.path.absolute().parent
        entries = [
            PinEntry(key.pin, backup=True, note=key_note(key.key_file, base)) for key in keys
        ]
        with transaction(self.path, journal=self.journal) as edit:
            host, port = self.target(edit.pin_file)
            return edit.add_pins(host, port, entries)


def key_note(key_file: Path, base: Path) -> str:
    """The key file as the pin file's directory sees it: relative, never this machine's
    absolute path (a pin file is read on other machines and checkouts)."""
    try:
        return Path(os.path.relpath(os.path.abspath(key_file), base)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return str(key_file)
