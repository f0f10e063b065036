"""Checking a parsed pin file against its schema: every error names the file and line.

Apart from `pinctl.pinfile.model` (the model and loading) because the rules, hints and
suggestions for mistyped keys are most of the code and none of the model.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pinctl.errors import PinFileError, PinFormatError
from pinctl.net.targets import is_ipv6
from pinctl.pinfile.model import (
    DEFAULTS_KEYS,
    HOST_KEYS,
    LEVELS,
    PIN_KEYS,
    TLS_VERSIONS,
    TOP_KEYS,
    VERSION,
    Defaults,
    HostEntry,
    PinEntry,
    PinFile,
)
from pinctl.pinfile.nodes import Node
from pinctl.pki.pins import PIN_KINDS, parse_pin

_NAME = re.compile(r"[^\s/@?#\[\]:\\%{}\"',;]+")
_CONNECT_TO = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s/@?#\[\]:\\%{}\"',;]+)(:[0-9]{1,5})?")


def _valid_name(value: object) -> bool:
    return isinstance(value, str) and (
        is_ipv6(value)
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


class Reader:
    """Checks parsed nodes against the schema and builds the model, naming the line."""

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
            **{k: self.value(values, k) for k in values if k != "pins"}, pins=pins, line=node.line
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
        fields = {k: self.value(values, k) for k in values if k != "pin"}
        return PinEntry(pin, **fields, line=node.line)


def _unique(items: Sequence[Any], key: Any, error: Any) -> None:
    seen: dict[Any, Any] = {}
    for item in items:
        first = seen.setdefault(key(item), item)
        if first is not item:
            raise error(item, first)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
