"""The v3 log list (Google's and Apple's files): logs, their keys, operators and states.

pinctl never downloads or bundles a list (Chrome's terms forbid using its list to enforce
CT outside Chrome): the user names one they fetched. Both `logs` (RFC 6962) and
`tiled_logs` (the static-CT API) are read. A log whose entry cannot be used (no id, a key
that does not parse) is left out with a warning naming it, so that one bad entry does not
refuse the whole list; a file that is not JSON, or not a v3 list, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    LogKey = EllipticCurvePublicKey | RSAPublicKey

STALE_DAYS = 70
"""Chrome stops enforcing CT with a list older than this; so does pinctl."""

CURRENT = frozenset({"qualified", "usable", "readonly"})
"""States in which a log's new SCTs count (the browsers' "currently approved")."""
STATES = (*sorted(CURRENT), "retired", "pending", "rejected")

MAX_BYTES = 16 * 1024 * 1024
REMEDY = "download a v3 log list (see the README: Certificate Transparency)"


@dataclass(frozen=True)
class Log:
    """One log of the list: who runs it, its key, and what state it is in."""

    log_id: bytes
    """SHA-256 of the log's DER public key, as SCTs name it."""
    description: str
    operator: str
    key: LogKey
    state: str | None
    """One of `STATES`; None when the list gives none (test and monitoring-only logs)."""
    state_since: datetime | None
    rfc6962: bool
    """False for a static-CT (tiled) log."""

    @property
    def retired_at(self) -> datetime | None:
        return self.state_since if self.state == "retired" else None


@dataclass(frozen=True)
class LogList:
    file: Path
    timestamp: datetime | None
    """`log_list_timestamp`; None when the file has none (Apple's list, a stripped copy)."""
    logs: Mapping[bytes, Log]
    warnings: tuple[str, ...] = ()
    """Entries left out, each naming the log and the file."""

    def age_days(self, now: datetime) -> float | None:
        if self.timestamp is None:
            return None
        return (now - self.timestamp).total_seconds() / 86400

    def stale(self, now: datetime) -> bool:
        age = self.age_days(now)
        return age is not None and age > STALE_DAYS


def load(path: Path) -> LogList:
    """Read a list from a file; a file that cannot be a v3 list is an error naming it."""
    from pinctl.files import read_regular

    read = read_regular(path, what="CT log list", limit=MAX_BYTES, remedy=REMEDY)
    if read is None:
        raise InputError(f"CT log list {path} does not exist; {REMEDY}")
    return parse(read[0], path)


def parse(data: bytes, path: Path) -> LogList:
    """The list in `data` (read from `path`, which messages name)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"CT log list {path} is not JSON ({_first_line(exc)}); {REMEDY}") from None
    operators = document.get("operators") if isinstance(document, dict) else None
    if not isinstance(operators, list) or not all(
        isinstance(o, dict) and isinstance(o.get("logs", []), list) and "logs" in o
        for o in operators
    ):
        raise InputError(
            f"CT log list {path} is not a v3 log list (no operators with logs); {REMEDY}"
        )
    logs: dict[bytes, Log] = {}
    warnings: list[str] = []
    for operator in operators:
        name = operator.get("name")
        name = name if isinstance(name, str) and name else "(unnamed operator)"
        for kind, rfc6962 in (("logs", True), ("tiled_logs", False)):
            entries = operator.get(kind, [])
            for entry in entries if isinstance(entries, list) else ():
                try:
                    log = _log(entry, name, rfc6962)
                except ValueError as exc:
                    warnings.append(f"CT log list {path}: {exc}; its SCTs count as unknown")
                    continue
                logs.setdefault(log.log_id, log)
    timestamp = document.get("log_list_timestamp")
    when = _time(timestamp) if isinstance(timestamp, str) else None
    if timestamp is not None and when is None:
        warnings.append(f"CT log list {path}: log_list_timestamp {timestamp!r} is not a time")
    return LogList(path, when, logs, tuple(warnings))


def _log(entry: Any, operator: str, rfc6962: bool) -> Log:
    """One entry; ValueError names the log when it cannot be used."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not isinstance(entry, dict):
        raise ValueError(f"a log of {operator} is not an object")
    description = entry.get("description")
    label = description if isinstance(description, str) else f"a log of {operator}"
    try:
        log_id = base64.b64decode(str(entry["log_id"]), validate=True)
        der = base64.b64decode(str(entry["key"]), validate=True)
    except (KeyError, binascii.Error):
        raise ValueError(f"log {label!r} has no base64 log_id and key") from None
    if len(log_id) != 32:
        raise ValueError(f"log {label!r} has a log_id of {len(log_id)} bytes, not 32")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"log {label!r} has a key that does not parse ({exc})") from None
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise ValueError(f"log {label!r} has a {type(key).__name__}, not an ECDSA or RSA key")
    state, since = _state(entry.get("state"))
    return Log(log_id, label, operator, key, state, since, rfc6962)


def _state(value: object) -> tuple[str | None, datetime | None]:
    if not isinstance(value, dict) or len(value) != 1:
        return None, None
    ((name, detail),) = value.items()
    if name not in STATES:
        return None, None
    when = detail.get("timestamp") if isinstance(detail, dict) else None
    return name, _time(when) if isinstance(when, str) else None


def _time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
