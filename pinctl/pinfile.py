"""The pin file (pins.toml): its model, loading with line-precise errors, and safe edits.

The model below is what the rest of pinctl (verify, export, backup-keygen) reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pinctl.pins import Pin, PinKind

Level = Literal["leaf", "intermediate", "root"]
LEVELS: tuple[Level, ...] = ("leaf", "intermediate", "root")


@dataclass(frozen=True)
class PinEntry:
    """One pin of a host, as written in the file."""

    pin: Pin
    kind: PinKind = "spki"
    level: Level = "leaf"
    backup: bool = False
    note: str | None = None
    expires: date | None = None
    line: int | None = None
    """1-based line in the pin file, for messages; None for pins not read from a file."""

    def expired(self, today: date) -> bool:
        """A pin is usable through its `expires` day and dead the day after."""
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class HostEntry:
    """A ``[[hosts]]`` table: where to connect, what to check, and the pins."""

    host: str
    port: int = 443
    servername: str | None = None
    """SNI and the name checked; None means the host (or no SNI for an IP address)."""
    connect_to: str | None = None
    include_subdomains: bool = False
    verify_chain: bool = True
    ca_file: Path | None = None
    """Resolved against the pin file's directory; overrides [defaults] ca_file."""
    pins: tuple[PinEntry, ...] = ()
    line: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        """Hosts are unique by host name (case-insensitive) and port."""
        return (self.host.lower(), self.port)


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
    version: int = 1
    defaults: Defaults = field(default_factory=Defaults)
    hosts: tuple[HostEntry, ...] = ()

    def ca_file_for(self, host: HostEntry) -> Path | None:
        return host.ca_file or self.defaults.ca_file
