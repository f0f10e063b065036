"""Every key pins.toml may hold, declared once: the reader, the editor, the writer and
`list` all take their rules from `KEYS`.

A new key is one `Key(...)` line here (plus the model field and its tests): the reader then
accepts and checks it, `add` may set it if it is `editable`, the writer writes it when it
differs from its default, and `list -o json` shows it. `tests/pinfile/test_schema.py`
holds these rows against the model's dataclass fields, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pinctl.hostnames import is_host_name
from pinctl.pinfile.model import (
    CLIENTS,
    CT_MODES,
    CT_POLICIES,
    DEFAULT_PORT,
    LEVELS,
    TLS_VERSIONS,
    VERSION,
)
from pinctl.pki.pins import PIN_KINDS
from pinctl.pki.revocation import MODES as REVOCATION_MODES

Scope = Literal["top", "defaults", "host", "pin"]
Check = Callable[[object], bool]

_CONNECT_TO = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s/@?#\[\]:\\%{}\"',;]+)(:[0-9]{1,5})?")


def _valid_name(value: object) -> bool:
    return isinstance(value, str) and is_host_name(value)


def _valid_connect_to(value: object) -> bool:
    match = _CONNECT_TO.fullmatch(value) if isinstance(value, str) else None
    return match is not None and (not match[2] or 1 <= int(match[2][1:]) <= 65535)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(low: int, high: int) -> Check:
    return lambda v: _is_int(v) and low <= v <= high  # type: ignore[operator]


def _one_of(allowed: tuple[str, ...]) -> Check:
    return lambda v: isinstance(v, str) and v in allowed


def _words(allowed: tuple[str, ...]) -> str:
    return "one of " + ", ".join(f'"{a}"' for a in allowed)


def _is(kind: type) -> Check:
    return lambda v: isinstance(v, kind)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _host_hint(value: object) -> str:
    return (
        "; write the host alone and the port as port = N"
        if isinstance(value, str)
        and ("://" in value or value.startswith("[") or re.fullmatch(r"[^:]+:[0-9]*", value))
        else ""
    )


def _path_text(value: object, base: Path) -> str | None:
    """A path as written in the pin file (relative to it), not this machine's absolute path."""
    if value is None:
        return None
    path = Path(str(value))
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _date_text(value: object, base: Path) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _plain(value: object, base: Path) -> object:
    return value


@dataclass(frozen=True)
class Key:
    """One key of one scope of the file, and everything pinctl needs to know about it."""

    name: str
    """The TOML key, and the model's field of the same name."""
    scope: Scope
    check: Check
    """Whether a value read from the file is acceptable (before any conversion)."""
    expected: str
    """What a good value is, for ``KEY must be EXPECTED, not ...``."""
    default: Any = None
    """The model's value when the key is absent; a key equal to it is not written."""
    editable: bool = False
    """Whether `add` may set it on a host (``--servername``, ``--no-verify-chain`` ...)."""
    hint: Callable[[object], str] | None = None
    """Extra words for a common mistake, appended to the message."""
    required: str | None = None
    """The message when a table lacks the key; None for optional keys."""
    path: bool = False
    """A file path, resolved against the pin file's directory when read."""
    nested: bool = False
    """A table or array the reader descends into, not a value it checks here."""
    json: Callable[[object, Path], object] = _plain
    """The key's JSON (and `list`) form, given the pin file's directory."""
    written: Callable[[Any], bool] | None = None
    """When the writer spells the key out; by default when it differs from `default`."""

    def shown(self, entry: object) -> bool:
        if self.required or self.nested:
            return True
        if self.written is not None:
            return self.written(entry)
        return bool(getattr(entry, self.name) != self.default)


_BOOL = (_is(bool), "true or false")
_PATH = (lambda v: isinstance(v, str) and bool(v.strip()), "a path to a PEM file")
_CT_LIST = (lambda v: isinstance(v, str) and bool(v.strip()), "a path to a v3 log list (JSON)")
_NAME_WORDS = 'a host name such as "api.example.com"'
_HOST_WORDS = 'a host name or IP address such as "api.example.com"'
_CONNECT_WORDS = 'an address such as "10.0.0.5", "10.0.0.5:8443" or "[::1]:443"'
_PINS_WORDS = 'an array of { pin = "..." } tables'


def _min_tls_hint(value: object) -> str:
    return f' (quote it: min_tls = "{value}")' if isinstance(value, float) else ""


def _date_hint(value: object) -> str:
    return " (a TOML date has no quotes)" if isinstance(value, str) else ""


_CLIENT_NAMES = (*CLIENTS, "all")
_CLIENTS_WORDS = "an array of client names, " + _words(_CLIENT_NAMES)


def _client_names(value: object) -> list[object]:
    """The items of an array as read (the reader gives arrays as lists of nodes)."""
    return [getattr(item, "value", item) for item in value] if isinstance(value, list) else []


def _valid_clients(value: object) -> bool:
    return isinstance(value, list) and all(n in _CLIENT_NAMES for n in _client_names(value))


def _clients_hint(value: object) -> str:
    unknown = [n for n in _client_names(value) if n not in _CLIENT_NAMES]
    return f" (unknown: {', '.join(repr(n) for n in unknown)})" if unknown else ""


def _leaf_backup_implied(pin: Any) -> bool:
    """A backup is a leaf unless it says otherwise, so ``level = "leaf"`` is left out."""
    return not (pin.backup and pin.level == "leaf")


KEYS: tuple[Key, ...] = (
    Key("version", "top", _is_int, f"the integer {VERSION}", VERSION,
        required=f"missing `version = {VERSION}`; add it as the first line"),
    Key("defaults", "top", _is(dict), "a table", nested=True),
    Key("hosts", "top", _is(list), "[[hosts]] tables", nested=True),
    Key("warn_days", "defaults", _int_in(0, 100_000), "a whole number of days, 0 or more", 30),
    Key("min_tls", "defaults", _one_of(TLS_VERSIONS), _words(TLS_VERSIONS), "1.2",
        hint=_min_tls_hint),
    Key("forward_secrecy", "defaults", *_BOOL, True),
    Key("ca_file", "defaults", *_PATH, path=True, json=_path_text),
    Key("clients", "defaults", _valid_clients, _CLIENTS_WORDS, (), hint=_clients_hint),
    Key("rotate_days", "defaults", _int_in(1, 100_000), "a whole number of days, 1 or more", 90),
    Key("release_lead_days", "defaults", _int_in(0, 100_000), "a whole number of days", 30),
    Key("audit_log", "defaults", _PATH[0], "a path to a JSON lines file", path=True,
        json=_path_text),
    Key("ct", "defaults", _one_of(CT_MODES), _words(CT_MODES), "off"),
    Key("ct_policy", "defaults", _one_of(CT_POLICIES), _words(CT_POLICIES), "both"),
    Key("ct_log_list", "defaults", *_CT_LIST, path=True, json=_path_text),
    Key("revocation", "defaults", _one_of(REVOCATION_MODES), _words(REVOCATION_MODES), "soft"),
    Key("host", "host", _valid_name, _HOST_WORDS, hint=_host_hint,
        required='a [[hosts]] table has no host; add host = "NAME"'),
    Key("port", "host", _int_in(1, 65535), "an integer from 1 to 65535", DEFAULT_PORT),
    Key("servername", "host", _valid_name, _NAME_WORDS, editable=True),
    Key("connect_to", "host", _valid_connect_to, _CONNECT_WORDS, editable=True),
    Key("include_subdomains", "host", *_BOOL, False, editable=True),
    Key("verify_chain", "host", *_BOOL, True, editable=True),
    Key("ca_file", "host", *_PATH, editable=True, path=True, json=_path_text),
    Key("revocation", "host", _one_of(REVOCATION_MODES), _words(REVOCATION_MODES)),
    Key("pins", "host", _is(list), _PINS_WORDS, (), nested=True),
    Key("clients", "host", _valid_clients, _CLIENTS_WORDS, hint=_clients_hint),
    Key("ct", "host", _one_of(CT_MODES), _words(CT_MODES)),
    Key("ct_policy", "host", _one_of(CT_POLICIES), _words(CT_POLICIES)),
    Key("pin", "pin", _is(str), 'a string such as "sha256/BASE64"', json=lambda v, _: str(v),
        required='a pin table has no pin; write { pin = "sha256/BASE64", ... }'),
    Key("kind", "pin", _one_of(PIN_KINDS), _words(PIN_KINDS), "spki"),
    Key("level", "pin", _one_of(LEVELS), _words(LEVELS), "leaf",
        written=_leaf_backup_implied),
    Key("backup", "pin", *_BOOL, False),
    Key("note", "pin", _is(str), "a string"),
    Key("expires", "pin", _is_date, "a date such as 2026-03-01", hint=_date_hint,
        json=_date_text),
    Key("reencoded", "pin", _is(str), 'a string such as "sha256/BASE64"',
        json=lambda v, _: None if v is None else str(v)),
    Key("retired", "pin", *_BOOL, False),
)  # fmt: skip


def keys(scope: Scope) -> tuple[Key, ...]:
    """The keys of one scope, in the order pinctl writes them."""
    return tuple(key for key in KEYS if key.scope == scope)


def names(scope: Scope) -> tuple[str, ...]:
    return tuple(key.name for key in keys(scope))


def key(scope: Scope, name: str) -> Key:
    return _BY_NAME[scope, name]


_BY_NAME = {(k.scope, k.name): k for k in KEYS}
EDITABLE_FIELDS: tuple[str, ...] = tuple(k.name for k in keys("host") if k.editable)
"""What `add` may set on a host; host and port are the entry's identity."""


def as_json(entry: object, scope: Scope, base: Path) -> dict[str, Any]:
    """A model object's keys of `scope` in their JSON form; nested keys are the caller's."""
    return {k.name: k.json(getattr(entry, k.name), base) for k in keys(scope) if not k.nested}
