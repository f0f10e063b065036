"""Backup keys' pins into the pin file: what `backup-keygen --host` records.

Key generation (`pinctl.pki.keygen`) knows nothing of pins.toml; it calls a recorder inside
its all-or-nothing step, so a pin that cannot be recorded removes the keys again and no
key is ever left whose pin the file does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pinctl.pinfile.edit import transaction
from pinctl.pinfile.model import Change, PinEntry
from pinctl.pinfile.nodes import decode, read_bytes
from pinctl.pinfile.reader import loads
from pinctl.pki.keygen import BackupKey


@dataclass(frozen=True)
class BackupRecorder:
    """Adds the keys' pins to host:port as ``backup = true``, the key file as the note."""

    path: Path
    host: str
    port: int

    def check(self) -> None:
        """An invalid pin file is refused before any key is made, not after. (Recording
        reads it again under the file's lock, which is not held while keys are made.)"""
        data = read_bytes(self.path)
        if data is not None:  # a missing pin file is created
            loads(decode(data, self.path)[0], self.path)

    def __call__(self, keys: tuple[BackupKey, ...]) -> Change:
        entries = [PinEntry(key.pin, backup=True, note=str(key.key_file)) for key in keys]
        with transaction(self.path) as edit:
            return edit.add_pins(self.host, self.port, entries)
