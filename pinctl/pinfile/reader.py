"""Loading pins.toml: the model from the text, every error naming the file and the line.

The rules come from `pinctl.pinfile.schema`; this module walks the parsed nodes, applies
them and builds the model. A sound file is read with the standard library's parser
(verify reads the file on every run); tomlkit's precise parse places an error.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.errors import PinFileError, PinFormatError
from pinctl.pinfile import schema
from pinctl.pinfile.model import VERSION, Defaults, HostEntry, PinEntry, PinFile
from pinctl.pinfile.nodes import Node, fast_nodes, parse_nodes, read_text
from pinctl.pki.pins import Pin, parse_pin

if TYPE_CHECKING:
    from cryptography import x509


def resolve_path(option: str | None) -> Path:
    """``--pin-file``, else ``$PINCTL_PIN_FILE``, else ``./pins.toml``."""
    return Path(option or os.environ.get("PINCTL_PIN_FILE") or "pins.toml")


def load(path: Path) -> PinFile:
    """Read and check a pin file; every problem is a `PinFileError` naming file and line."""
    return loads(read_text(path)[0], path)


def loads(text: str, path: Path = Path("pins.toml")) -> PinFile:
    """The fast parser when it is sure, else the precise one, which places the error."""
    return _fast(text, Path(path)) or read_nodes(text, path)[0]


def read_nodes(text: str, path: Path) -> tuple[PinFile, Node]:
    """The checked model and the nodes it came from (edits need the nodes' positions)."""
    root = parse_nodes(text, path)
    return Reader(Path(path)).pin_file(root), root


def pin_file_roots(pin_file: PinFile, host: HostEntry | None) -> tuple[x509.Certificate, ...]:
    """The roots the pin file's ca_file names for `host` (else the system store); an
    unusable one is named by the pin file, its line and the key, not as --ca-file."""
    from pinctl.errors import InputError
    from pinctl.pki.validation import load_roots

    ca = pin_file.ca_file_for(host) if host is not None else pin_file.defaults.ca_file
    if ca is None:
        return load_roots(None)
    try:
        return load_roots(ca, what="ca_file")
    except InputError as exc:
        line = key_line(pin_file, host, "ca_file")
        where = f"{pin_file.path}:{line}" if line is not None else str(pin_file.path)
        raise InputError(f"{where}: {exc}; fix the path or the file") from None


def key_line(pin_file: PinFile, host: HostEntry | None, key: str) -> int | None:
    """The line of the `key` that applies to `host` (its own, else [defaults]'s), found by
    the precise parser: for messages about a value that was sound TOML but unusable."""
    try:
        root = parse_nodes(read_text(pin_file.path)[0], pin_file.path)
    except PinFileError:  # changed since it was read: name no line rather than a wrong one
        return None
    top = root.value if isinstance(root.value, dict) else {}
    tables: list[Node] = []
    hosts = top.get("hosts")
    if host is not None and host in pin_file.hosts and isinstance(hosts, Node):
        index = pin_file.hosts.index(host)
        if isinstance(hosts.value, list) and index < len(hosts.value):
            tables.append(hosts.value[index])
    if isinstance(top.get("defaults"), Node):
        tables.append(top["defaults"])
    for table in tables:
        found = table.value.get(key) if isinstance(table.value, dict) else None
        if isinstance(found, Node):
            return found.line
    return None


def _fast(text: str, path: Path) -> PinFile | None:
    """Any doubt of the fast path, a checking error included, is left to the precise one."""
    root = fast_nodes(text)
    if root is None:
        return None
    try:
        return Reader(path).pin_file(root)
    except PinFileError:
        return None


class Reader:
    """Checks parsed nodes against the schema and builds the model, naming the line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: Node | int | None, message: str) -> PinFileError:
        line = where.line if isinstance(where, Node) else where
        return PinFileError(f"{self.path}:{line}: {message}")

    def value(self, key: schema.Key, node: Node) -> Any:
        """The checked value of `key` as the model holds it."""
        if not key.check(node.value):
            hint = key.hint(node.value) if key.hint else ""
            raise self.fail(node, f"{key.name} must be {key.expected}, not {_kind(node)}{hint}")
        if key.path:
            given = Path(node.value)
            return given if given.is_absolute() else self.path.absolute().parent / given
        if isinstance(node.value, list):  # an array of plain values (clients): a tuple of them
            return tuple(item.value for item in node.value)
        return node.value

    def fields(self, scope: schema.Scope, values: Mapping[str, Node]) -> dict[str, Any]:
        """The checked values of a table's plain keys, in the file's order (the first fault in
        the file is the one reported), for the model's constructor."""
        keys = {k.name: k for k in schema.keys(scope) if not k.nested}
        return {name: self.value(keys[name], node) for name, node in values.items() if name in keys}

    def table(self, node: Node, scope: schema.Scope, where: str) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            raise self.fail(node, f"{where} must be a table, not {_kind(node)}")
        allowed = schema.names(scope)
        for key, child in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(
                    child, f"unknown key {key!r} in {where}{hint}; allowed: {', '.join(allowed)}"
                )
        return dict(node.value)

    def array(self, scope: schema.Scope, values: Mapping[str, Node], name: str) -> list[Node]:
        node = values.get(name)
        if node is None:
            return []
        if not isinstance(node.value, list):
            expected = schema.key(scope, name).expected
            raise self.fail(node, f"{name} must be {expected}, not {_kind(node)}")
        return list(node.value)

    def require(self, scope: schema.Scope, values: Mapping[str, Node], where: Node | int) -> None:
        for key in schema.keys(scope):
            if key.required and key.name not in values:
                raise self.fail(where, key.required)

    def pin_file(self, root: Node) -> PinFile:
        top = self.table(root, "top", "the top level")
        self.require("top", top, 1)
        version = top["version"]
        self.value(schema.key("top", "version"), version)
        if version.value != VERSION:
            raise self.fail(
                version,
                f"unsupported version {version.value}; this pinctl reads version {VERSION} "
                "(a file from a newer pinctl? upgrade pinctl)",
            )
        defaults = Defaults()
        if "defaults" in top:
            defaults = Defaults(
                **self.fields("defaults", self.table(top["defaults"], "defaults", "[defaults]"))
            )
        hosts = [self.host(node) for node in self.array("top", top, "hosts")]
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
        values = self.table(node, "host", "[[hosts]]")
        self.require("host", values, node)
        pins = tuple(self.pin(item) for item in self.array("host", values, "pins"))
        entry = HostEntry(**self.fields("host", values), pins=pins, line=node.line)
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
        if isinstance(node.value, str):  # the table to write, whole for any pin (sha512's is 95)
            value = node.value if len(node.value) <= 100 else node.value[:97] + "..."
            raise self.fail(node, f"write each pin as a table: {{ pin = {json.dumps(value)} }}")
        values = self.table(node, "pin", "a pin")
        self.require("pin", values, node)
        fields = self.fields("pin", values)
        try:
            pin = parse_pin(fields.pop("pin"))
        except PinFormatError as exc:
            raise self.fail(values["pin"], str(exc)) from None
        if "reencoded" in fields:
            fields["reencoded"] = self.reencoded(pin, fields, values["reencoded"])
        return PinEntry(pin, **fields, line=node.line)

    def reencoded(self, pin: Pin, fields: Mapping[str, Any], node: Node) -> Pin:
        """A second spelling of the same key's pin, so it names the same hash and kind."""
        try:
            again = parse_pin(node.value)
        except PinFormatError as exc:
            raise self.fail(node, f"reencoded: {exc}") from None
        if fields.get("kind", "spki") != "spki" or again.alg != pin.alg:
            raise self.fail(
                node,
                f"reencoded must be a {pin.alg} pin of the same spki key as pin; "
                "remove it, or write it as `pinctl add` does",
            )
        return again


def _unique(items: Sequence[Any], key: Any, error: Any) -> None:
    seen: dict[Any, Any] = {}
    for item in items:
        first = seen.setdefault(key(item), item)
        if first is not item:
            raise error(item, first)


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
