"""Writing pins.toml in pinctl's own layout: a new file, a new host table, a new pin.

Edits keep the user's layout (`pinctl.pinfile.splice`); what they insert, and every file
pinctl creates, is spelled here, key by key in `pinctl.pinfile.schema`'s order, leaving
out what equals its default so that a reviewer reads only what was chosen.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pinctl.errors import UsageError
from pinctl.pinfile import schema
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pinfile.splice import INDENT


def dumps(pin_file: PinFile) -> str:
    """The whole file in pinctl's own layout, as `add` writes a new one."""
    parts = [f"version = {pin_file.version}\n"]
    lines = [f"{k} = {v}\n" for k, v in _values(pin_file.defaults, "defaults", pin_file.path)]
    if lines:
        parts.append("[defaults]\n" + "".join(lines))
    parts.extend(host_table(host, pin_file.path) for host in pin_file.hosts)
    return "\n".join(parts)


def host_table(entry: HostEntry, path: Path) -> str:
    return "[[hosts]]\n" + "".join(f"{k} = {v}\n" for k, v in host_values(entry, path))


def host_inline(entry: HostEntry, path: Path) -> str:
    """A host as one inline table, for files that write their hosts as ``hosts = [...]``."""
    values = host_values(entry, path, inline=True)
    return "{ " + ", ".join(f"{k} = {v}" for k, v in values) + " }"


def pin_table(entry: PinEntry) -> str:
    """``{ pin = "sha256/...", level = "leaf" }``: level is spelled out, except on leaf backups."""
    return "{ " + ", ".join(f"{k} = {v}" for k, v in pin_values(entry)) + " }"


def pin_values(entry: PinEntry) -> list[tuple[str, str]]:
    return _values(entry, "pin", None)


def host_values(entry: HostEntry, path: Path, *, inline: bool = False) -> list[tuple[str, str]]:
    values = _values(entry, "host", path)
    tables = [pin_table(p) for p in entry.pins]
    if inline or not tables:
        values.append(("pins", "[" + ", ".join(tables) + "]"))
    else:
        values.append(("pins", "[\n" + "".join(f"{INDENT}{t},\n" for t in tables) + "]"))
    return values


def _values(entry: object, scope: schema.Scope, path: Path | None) -> list[tuple[str, str]]:
    return [
        (k.name, toml_value(getattr(entry, k.name), path))
        for k in schema.keys(scope)
        if not k.nested and k.shown(entry)
    ]


def toml_value(value: object, path: Path | None = None) -> str:
    """A TOML value; a path is written relative to the pin file when it lies below it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(item, path) for item in value) + "]"
    if isinstance(value, Path) and path is not None:
        base = path.absolute().parent
        value = value.relative_to(base).as_posix() if value.is_relative_to(base) else str(value)
    text = str(value)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise UsageError(f"{text!r} holds unpaired surrogates, which a TOML file cannot store")
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    escapes["\r"] = "\\r"
    return '"' + "".join(escapes.get(c) or _control(c) for c in text) + '"'


def _control(char: str) -> str:
    return f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char
