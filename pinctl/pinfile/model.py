"""The pin file (pins.toml): its model, and loading it with errors that name the line.

The model is what the rest of pinctl (verify, export, backup-keygen) reads. Edits
(`add_pins`, `remove`) live in `pinctl.pinfile.edit`, and where each value sits in the
text (`read_text`, `parse_nodes`, `Node`) in `pinctl.pinfile.nodes`; both are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pinctl.errors import PinFileError
from pinctl.pinfile.nodes import Node as Node
from pinctl.pinfile.nodes import Span as Span
from pinctl.pinfile.nodes import fast_nodes
from pinctl.pinfile.nodes import parse_nodes as parse_nodes
from pinctl.pinfile.nodes import read_text as read_text
from pinctl.pki.pins import Pin, PinKind

if TYPE_CHECKING:
    from pinctl.pinfile.reader import Reader

Level = Literal["leaf", "intermediate", "root"]
LEVELS: tuple[Level, ...] = ("leaf", "intermediate", "root")
VERSION = 1
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULT_PORT = 443

TOP_KEYS = ("version", "defaults", "hosts")
DEFAULTS_KEYS = ("warn_days", "min_tls", "forward_secrecy", "ca_file")
HOST_KEYS = (
    "host",
    "port",
    "servername",
    "connect_to",
    "include_subdomains",
    "verify_chain",
    "ca_file",
    "pins",
)
PIN_KEYS = ("pin", "kind", "level", "backup", "note", "expires")


@dataclass(frozen=True)
class PinEntry:
    """One pin of a host, as written in the file."""

    pin: Pin
    kind: PinKind = "spki"
    level: Level = "leaf"
    backup: bool = False
    note: str | None = None
    expires: date | None = None
    line: int | None = field(default=None, compare=False)
    """1-based line in the pin file, for messages; None for pins not read from a file.
    Not part of equality: a pin is the same pin wherever it is written."""

    def expired(self, today: date) -> bool:
        """A pin is usable through its `expires` day and dead the day after."""
        return self.expires is not None and today > self.expires

    def days_left(self, today: date) -> int | None:
        return None if self.expires is None else (self.expires - today).days

    @property
    def identity(self) -> tuple[Pin, PinKind]:
        """Two entries with the same digest, algorithm and kind are the same pin."""
        return (self.pin, self.kind)


@dataclass(frozen=True)
class HostEntry:
    """A ``[[hosts]]`` table: where to connect, what to check, and the pins."""

    host: str
    port: int = DEFAULT_PORT
    servername: str | None = None
    """SNI and the name checked; None means the host (or no SNI for an IP address)."""
    connect_to: str | None = None
    include_subdomains: bool = False
    verify_chain: bool = True
    ca_file: Path | None = None
    """Resolved against the pin file's directory; overrides [defaults] ca_file."""
    pins: tuple[PinEntry, ...] = ()
    line: int | None = field(default=None, compare=False)
    """The line of the ``[[hosts]]`` header (or of the inline table)."""

    @property
    def key(self) -> tuple[str, int]:
        """Hosts are unique by host name (case-insensitive) and port."""
        return (self.host.lower(), self.port)

    @property
    def label(self) -> str:
        """``host:port``, ``[::1]:443`` for IPv6: how messages and `list` name a host."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Defaults:
    warn_days: int = 30
    min_tls: str = "1.2"
    """``1.0``, ``1.1``, ``1.2`` or ``1.3``."""
    forward_secrecy: bool = True
    ca_file: Path | None = None


@dataclass(frozen=True)
class PinFile:
    path: Path
    version: int = VERSION
    defaults: Defaults = field(default_factory=Defaults)
    hosts: tuple[HostEntry, ...] = ()

    def ca_file_for(self, host: HostEntry) -> Path | None:
        return host.ca_file or self.defaults.ca_file

    def find_host(self, host: str, port: int) -> HostEntry | None:
        key = (host.lower(), port)
        return next((entry for entry in self.hosts if entry.key == key), None)


@dataclass(frozen=True)
class Change:
    """What one edit of the pin file did, or in a dry run would do."""

    path: Path
    host: str
    port: int
    added: tuple[PinEntry, ...] = ()
    present: tuple[PinEntry, ...] = ()
    """Pins asked for that the host already had: adding them again changes nothing."""
    removed: tuple[PinEntry, ...] = ()
    fields: Mapping[str, object] = field(default_factory=dict)
    """Host settings written, such as ``verify_chain = False``."""
    created_file: bool = False
    added_host: bool = False
    removed_host: bool = False
    dry_run: bool = False
    pins_left: int | None = None
    """How many pins the host has after the edit; None when the host is gone."""

    @property
    def changed(self) -> bool:
        return bool(
            self.added or self.removed or self.fields or self.added_host or self.removed_host
        )

    @property
    def label(self) -> str:
        return HostEntry(self.host, self.port).label


@dataclass(frozen=True)
class Listing:
    """What `list` shows: the pin file, and the day its expiry counts are for."""

    pin_file: PinFile
    today: date


def resolve_path(option: str | None) -> Path:
    """``--pin-file``, else ``$PINCTL_PIN_FILE``, else ``./pins.toml``."""
    return Path(option or os.environ.get("PINCTL_PIN_FILE") or "pins.toml")


def load(path: Path) -> PinFile:
    """Read and check a pin file; every problem is a `PinFileError` naming file and line."""
    return loads(read_text(path)[0], path)


def loads(text: str, path: Path = Path("pins.toml")) -> PinFile:
    """A sound file is read with the standard library's parser, ten times faster than
    tomlkit's (verify reads the file on every run); tomlkit is needed to place an error."""
    return _fast(text, Path(path)) or read_nodes(text, path)[0]


def add_pins(
    path: Path,
    host: str,
    port: int,
    pins: Sequence[PinEntry],
    *,
    host_fields: Mapping[str, object] | None = None,
    dry_run: bool = False,
) -> Change:
    """Add pins to a host (creating the host, and the file, if new); see `pinfile_edit`."""
    from pinctl.pinfile import edit as pinfile_edit

    return pinfile_edit.add_pins(path, host, port, pins, host_fields=host_fields, dry_run=dry_run)


def remove(
    path: Path, host: str, port: int | None = None, pin: Pin | None = None, *, dry_run: bool = False
) -> Change:
    """Remove a host, or one of its pins; see `pinfile_edit`."""
    from pinctl.pinfile import edit as pinfile_edit

    return pinfile_edit.remove(path, host, port, pin, dry_run=dry_run)


def read_nodes(text: str, path: Path) -> tuple[PinFile, Node]:
    """The checked model and the nodes it came from (edits need the nodes' positions)."""
    root = parse_nodes(text, path)
    return _reader(Path(path)).pin_file(root), root


def _fast(text: str, path: Path) -> PinFile | None:
    """Any doubt of the fast path, a checking error included, is left to the precise one."""
    root = fast_nodes(text)
    if root is None:
        return None
    try:
        return _reader(path).pin_file(root)
    except PinFileError:
        return None


def _reader(path: Path) -> Reader:
    from pinctl.pinfile.reader import Reader

    return Reader(path)
