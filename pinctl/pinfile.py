"""The pin file (pins.toml): its model, and loading it with errors that name the line.

The model is what the rest of pinctl (verify, export, backup-keygen) reads. Edits
(`add_pins`, `remove`) live in `pinctl.pinfile_edit`, and where each value sits in the
text (`read_text`, `parse_nodes`, `Node`) in `pinctl.pinfile_text`; both are re-exported here.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pinctl.errors import PinFileError, PinFormatError
from pinctl.pinfile_text import Node as Node
from pinctl.pinfile_text import Span as Span
from pinctl.pinfile_text import fast_nodes
from pinctl.pinfile_text import parse_nodes as parse_nodes
from pinctl.pinfile_text import read_text as read_text
from pinctl.pins import PIN_KINDS, Pin, PinKind, parse_pin

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

_NAME = re.compile(r"[^\s/@?#\[\]:\\%{}\"',;]+")
_CONNECT_TO = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s/@?#\[\]:\\%{}\"',;]+)(:[0-9]{1,5})?")


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
    from pinctl import pinfile_edit

    return pinfile_edit.add_pins(path, host, port, pins, host_fields=host_fields, dry_run=dry_run)


def remove(
    path: Path, host: str, port: int | None = None, pin: Pin | None = None, *, dry_run: bool = False
) -> Change:
    """Remove a host, or one of its pins; see `pinfile_edit`."""
    from pinctl import pinfile_edit

    return pinfile_edit.remove(path, host, port, pin, dry_run=dry_run)


def read_nodes(text: str, path: Path) -> tuple[PinFile, Node]:
    """The checked model and the nodes it came from (edits need the nodes' positions)."""
    root = parse_nodes(text, path)
    return _Reader(Path(path)).pin_file(root), root


def _fast(text: str, path: Path) -> PinFile | None:
    """Any doubt of the fast path, a checking error included, is left to the precise one."""
    root = fast_nodes(text)
    if root is None:
        return None
    try:
        return _Reader(path).pin_file(root)
    except PinFileError:
        return None


def _valid_name(value: object) -> bool:
    return isinstance(value, str) and (
        _is_ipv6(value)
        or (bool(_NAME.fullmatch(value)) and not value.startswith(".") and ".." not in value)
    )


def _valid_connect_to(value: object) -> bool:
    match = _CONNECT_TO.fullmatch(value) if isinstance(value, str) else None
    return match is not None and (not match[2] or 1 <= int(match[2][1:]) <= 65535)


def _one_of(*allowed: str) -> tuple[Callable[[object], bool], str]:
    return (lambda v: isinstance(v, str) and v in allowed), "one of " + ", ".join(
        f'"{a}"' for a in allowed
    )


def _int_in(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


_BOOL = (lambda v: isinstance(v, bool)), "true or false"
_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "port": (_int_in(1, 65535), "an integer from 1 to 65535"),
    "warn_days": (_int_in(0, 100_000), "a whole number of days, 0 or more"),
    "min_tls": _one_of(*TLS_VERSIONS),
    "kind": _one_of(*PIN_KINDS),
    "level": _one_of(*LEVELS),
    "host": (_valid_name, 'a host name or IP address such as "api.example.com"'),
    "servername": (_valid_name, 'a host name such as "api.example.com"'),
    "connect_to": (
        _valid_connect_to,
        'an address such as "10.0.0.5", "10.0.0.5:8443" or "[::1]:443"',
    ),
    "ca_file": ((lambda v: isinstance(v, str) and bool(v.strip())), "a path to a PEM file"),
    "note": ((lambda v: isinstance(v, str)), "a string"),
    "pin": ((lambda v: isinstance(v, str)), 'a string such as "sha256/BASE64"'),
    "expires": (
        (lambda v: isinstance(v, date) and not isinstance(v, datetime)),
        "a date such as 2026-03-01",
    ),
    **dict.fromkeys(("forward_secrecy", "include_subdomains", "verify_chain", "backup"), _BOOL),
}
_HINTS: dict[str, Callable[[object], str]] = {
    "min_tls": lambda v: f' (quote it: min_tls = "{v}")' if isinstance(v, float) else "",
    "expires": lambda v: " (a TOML date has no quotes)" if isinstance(v, str) else "",
    "host": lambda v: (
        "; write the host alone and the port as port = N"
        if isinstance(v, str)
        and ("://" in v or v.startswith("[") or re.fullmatch(r"[^:]+:[0-9]*", v))
        else ""
    ),
}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: Node | int | None, message: str) -> PinFileError:
        line = where.line if isinstance(where, Node) else where
        return PinFileError(f"{self.path}:{line}: {message}")

    def value(self, values: Mapping[str, Node], key: str, default: Any = None) -> Any:
        """The checked value of `key`, or `default` when the key is absent."""
        node = values.get(key)
        if node is None:
            return default
        check, expected = _CHECKS[key]
        if not check(node.value):
            hint = _HINTS[key](node.value) if key in _HINTS else ""
            raise self.fail(node, f"{key} must be {expected}, not {_kind(node)}{hint}")
        if key == "ca_file":
            given = Path(node.value)
            return given if given.is_absolute() else self.path.absolute().parent / given
        return node.value

    def table(self, node: Node, allowed: tuple[str, ...], where: str) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.fail(node, f"{where} must be a table, not {_kind(node)}")
        for key, child in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(
                    child, f"unknown key {key!r} in {where}{hint}; allowed: {', '.join(allowed)}"
                )
        return dict(node.value)

    def array(self, values: Mapping[str, Node], key: str, example: str) -> list[Node]:
        node = values.get(key)
        if node is not None and not isinstance(node.value, list):
            raise self.fail(node, f"{key} must be {example}, not {_kind(node)}")
        return [] if node is None else list(node.value)

    def pin_file(self, root: Node) -> PinFile:
        top = self.table(root, TOP_KEYS, "the top level")
        if "version" not in top:
            raise self.fail(1, f"missing `version = {VERSION}`; add it as the first line")
        version = top["version"]
        if not _is_int(version.value):
            raise self.fail(version, f"version must be the integer {VERSION}, not {_kind(version)}")
        if version.value != VERSION:
            raise self.fail(
                version,
                f"unsupported version {version.value}; this pinctl reads version {VERSION} "
                "(a file from a newer pinctl? upgrade pinctl)",
            )
        defaults = Defaults()
        if "defaults" in top:
            values = self.table(top["defaults"], DEFAULTS_KEYS, "[defaults]")
            defaults = Defaults(**{k: self.value(values, k, getattr(defaults, k)) for k in values})
        hosts = [self.host(node) for node in self.array(top, "hosts", "[[hosts]] tables")]
        _unique(
            hosts,
            lambda h: h.key,
            lambda h, first: self.fail(
                h.line,
                f"duplicate host {h.label} (first at line {first.line}); "
                "merge the two tables or give one a different port",
            ),
        )
        return PinFile(self.path, VERSION, defaults, tuple(hosts))

    def host(self, node: Node) -> HostEntry:
        values = self.table(node, HOST_KEYS, "[[hosts]]")
        if "host" not in values:
            raise self.fail(node, 'a [[hosts]] table has no host; add host = "NAME"')
        pins = tuple(
            self.pin(item)
            for item in self.array(values, "pins", 'an array of { pin = "..." } tables')
        )
        entry = HostEntry(
            **{k: self.value(values, k, getattr(HostEntry, k, None)) for k in HOST_KEYS[:-1]},
            pins=pins,
            line=node.line,
        )
        _unique(
            pins,
            lambda p: p.identity,
            lambda p, first: self.fail(
                p.line,
                f"pin {p.pin} ({p.kind}) is listed twice for {entry.label} "
                f"(first at line {first.line}); remove one",
            ),
        )
        return entry

    def pin(self, node: Node) -> PinEntry:
        if isinstance(node.value, str):
            raise self.fail(node, f'write each pin as a table: {{ pin = "{node.value[:60]}" }}')
        values = self.table(node, PIN_KEYS, "a pin")
        if "pin" not in values:
            raise self.fail(node, 'a pin table has no pin; write { pin = "sha256/BASE64", ... }')
        try:
            pin = parse_pin(self.value(values, "pin"))
        except PinFormatError as exc:
            raise self.fail(values["pin"], str(exc)) from None
        fields = {k: self.value(values, k, getattr(PinEntry, k)) for k in PIN_KEYS[1:]}
        return PinEntry(pin, **fields, line=node.line)


def _unique(items: Sequence[Any], key: Any, error: Any) -> None:
    seen: dict[Any, Any] = {}
    for item in items:
        first = seen.setdefault(key(item), item)
        if first is not item:
            raise error(item, first)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_ipv6(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _kind(node: Node) -> str:
    """Describe a value for a message, quoting scalars so the user can find them."""
    value = node.value
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the {'integer' if isinstance(value, int) else 'float'} {value!r}"
    if isinstance(value, str):
        return f"the string {value if len(value) <= 60 else value[:57] + '...'!r}"
    if isinstance(value, datetime):
        return "a date-time"
    kinds = {date: "a date", list: "an array", dict: "a table"}
    return next((name for t, name in kinds.items() if isinstance(value, t)), "a time")
