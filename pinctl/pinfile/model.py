"""The pin file (pins.toml) as the rest of pinctl reads it: hosts, pins and defaults.

Only data lives here, so that verify, export and the renderers depend on nothing that
parses or writes. Which keys the file may hold is `pinctl.pinfile.schema`; loading is
`pinctl.pinfile.reader`; edits are `pinctl.pinfile.edit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, get_args

from pinctl.pki.pins import Pin, PinKind

Level = Literal["leaf", "intermediate", "root"]
LEVELS: tuple[Level, ...] = ("leaf", "intermediate", "root")
VERSION = 1
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULT_PORT = 443
Client = Literal["okhttp", "curl", "android", "ios", "trustkit"]
CLIENTS: tuple[Client, ...] = get_args(Client)
"""The clients `verify --as` and `clients = [...]` judge for (`pinctl.exports.clients`)."""
CT_MODES = ("off", "report", "require")
CT_POLICIES = ("chrome", "apple", "both")


@dataclass(frozen=True)
class PinEntry:
    """One pin of a host, as written in the file."""

    pin: Pin
    kind: PinKind = "spki"
    level: Level = "leaf"
    backup: bool = False
    note: str | None = None
    expires: date | None = None
    reencoded: Pin | None = None
    """The key's pin as OkHttp, Android, iOS and TrustKit compute it, where that differs
    from `pin`: they hash their own re-encoding of the key, which restores the NULL
    parameter an RSA key may lack. `pin` is the key as carried (RFC 7469, curl, HPKP)."""
    retired: bool = False
    """Kept on record but never matches and is never exported (a leaked or replaced key)."""
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
    revocation: str | None = None
    """Overrides [defaults] revocation; None follows it."""
    pins: tuple[PinEntry, ...] = ()
    clients: tuple[str, ...] | None = None
    """The clients verify judges this host for; None takes [defaults] clients."""
    ct: str | None = None
    """``off``, ``report`` or ``require`` for this host; None follows [defaults]."""
    ct_policy: str | None = None
    """``chrome``, ``apple`` or ``both`` for this host; None follows [defaults]."""
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
    clients: tuple[str, ...] = ()
    """The clients verify judges every host for (names of `CLIENTS`, or "all")."""
    rotate_days: int = 90
    """A leaf certificate older than this is due for rotation (`plan`'s rotation-due)."""
    release_lead_days: int = 30
    """Days an app release needs to carry a new pin: `plan`'s deadlines come this early."""
    audit_log: Path | None = None
    """Where every change is recorded (`pinctl.audit`), resolved against the pin file."""
    ct: str = "off"
    """Certificate Transparency: ``off``, ``report`` (warn) or ``require`` (fail)."""
    ct_policy: str = "both"
    """Which CT policy `require` enforces: ``chrome``, ``apple`` or ``both``."""
    ct_log_list: Path | None = None
    """The v3 log list the user downloads (resolved against the pin file's directory)."""
    revocation: str = "soft"
    """``off``, ``soft``, ``hard`` or ``require`` (SPEC.md section 7)."""


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
    amended: tuple[tuple[PinEntry, PinEntry], ...] = ()
    """Pins whose keys were set (`promote`), each as it was and as it is now."""
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
            self.added
            or self.removed
            or self.amended
            or self.fields
            or self.added_host
            or self.removed_host
        )

    @property
    def label(self) -> str:
        return HostEntry(self.host, self.port).label


@dataclass(frozen=True)
class Listing:
    """What `list` shows: the pin file, and the day its expiry counts are for."""

    pin_file: PinFile
    today: date
