"""Pin-failure reports as apps send them: TrustKit (iOS, Android) and HPKP's report-uri.

A file holds one JSON object, a JSON array of them, or JSON lines (what a collector
appending each POST body writes). JSON lines are read one line at a time, so a file of
a million reports costs the memory of one; a report that cannot be read is `Malformed`,
named `file:line` (or `file:[index]` in an array) with the reason, and the reading goes
on: one broken report from the field never hides the others.

The fields are TrustKit's (`app-bundle-id`, `app-version`, `hostname`, `port`,
`noted-hostname`, `validated-certificate-chain`, `served-certificate-chain` on Android,
`known-pins`, `date-time`, ...) and RFC 7469 section 3's, which TrustKit's are modelled
on; a report has no `app-bundle-id` only when it is HPKP's.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import BinaryIO, Literal, NamedTuple

from pinctl.errors import InputError

MAX_REPORT = 1024 * 1024
"""A TrustKit or HPKP report is a few KiB (a chain of a handful of PEM certificates);
one of more than 1 MiB is not a report, and is skipped without being held in memory."""
MAX_DOCUMENT = 64 * 1024 * 1024
"""A JSON array is read whole; beyond this, JSON lines are the way to send many."""

Source = Literal["trustkit-ios", "trustkit-android", "hpkp"]


class Report(NamedTuple):
    """One report, as far as triage needs it (a tuple: a run reads hundreds of thousands)."""

    where: str
    source: Source
    hostname: str
    port: int | None
    """None when the report gives none: 443 is then assumed."""
    app_version: str | None
    """None for HPKP reports, which come from browsers, not apps."""
    chain: tuple[str, ...]
    """PEM certificates as the report lists them, leaf first: the served chain when the
    report has one (Android, HPKP), else the chain the app validated (iOS)."""
    chain_field: str
    """Which field `chain` came from, for messages."""
    seen_at: datetime | None
    """The report's `date-time`: when the app saw the chain."""


class Malformed(NamedTuple):
    where: str
    error: str


Read = Report | Malformed


STDIN = "-"
BOM = b"\xef\xbb\xbf"


def read_sources(paths: Sequence[str], stdin: BinaryIO) -> Iterator[Read]:
    """The reports of every file in turn (`-` is stdin). Every path is checked before the
    first is read, so a mistyped name exits 2 at once, not after a long file."""
    for path in paths:
        if path != STDIN:
            _check(path)
    for path in paths:
        if path == STDIN:
            yield from read_stream("<stdin>", stdin)
            continue
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below, after the generator
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        with stream:
            try:
                yield from read_stream(path, stream)
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check(path: str) -> None:
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read report file {path}: {reason}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(
            f"report file {path} is a directory; name the files in it (for example {path}/*)"
        )


Line = tuple[int, bytes | None]
"""A line's number and bytes; None for a line longer than MAX_REPORT (skipped unread)."""


def read_stream(name: str, stream: BinaryIO) -> Iterator[Read]:
    """Every report in one file or stdin, in order; what cannot be read is `Malformed`."""
    lines = _lines(stream)
    found = next((item for item in lines if item[1] is None or item[1].strip()), None)
    if found is None:
        return  # an empty file holds no report, and that is no error
    lineno, first = found
    if first is not None and first.startswith(BOM):
        first = first[len(BOM) :]  # what Windows tools put before UTF-8 text
    if first is not None and first.lstrip().startswith(b"["):
        yield from _array(name, first, stream)
        return
    pending: list[Line] = [(lineno, first)]
    if first is not None and first.lstrip().startswith(b"{") and not _parses(first):
        # One pretty-printed object, or JSON lines whose first line is broken.
        size = len(first)
        for item in lines:
            pending.append(item)
            size += len(item[1]) if item[1] is not None else MAX_REPORT
            if size > MAX_REPORT:
                break
        else:
            text = b"".join(part or b"" for _, part in pending)
            try:
                document = json.loads(text)
            except ValueError as exc:
                if not any(part is not None and _parses(part) for _, part in pending[1:]):
                    yield Malformed(name, _not_json(exc))  # one broken document, not lines
                    return
            else:
                yield report(name, document)
                return
    for lineno, line in itertools.chain(pending, lines):
        where = f"{name}:{lineno}"
        if line is None:
            yield Malformed(where, TOO_LARGE)
        elif line.strip():
            try:
                document = json.loads(line)
            except ValueError as exc:
                yield Malformed(where, _not_json(exc))
                continue
            yield report(where, document)


TOO_LARGE = (
    f"more than {MAX_REPORT // 1024 // 1024} MiB, not a pin-failure report "
    "(TrustKit and HPKP reports are a few KiB)"
)


def _lines(stream: BinaryIO) -> Iterator[Line]:
    lineno = 0
    while True:
        line = stream.readline(MAX_REPORT + 1)
        if not line:
            return
        lineno += 1
        if len(line) > MAX_REPORT and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)  # the rest of the line, never held whole
            yield lineno, None
        else:
            yield lineno, line


def _array(name: str, first: bytes, stream: BinaryIO) -> Iterator[Read]:
    text = first + stream.read(MAX_DOCUMENT + 1 - len(first))
    if len(text) > MAX_DOCUMENT:
        limit = MAX_DOCUMENT // 1024 // 1024
        yield Malformed(name, f"a JSON array of more than {limit} MiB; send JSON lines instead")
        return
    try:
        document = json.loads(text)
    except ValueError as exc:
        yield Malformed(name, _not_json(exc))
        return
    for index, item in enumerate(document):
        yield report(f"{name}:[{index}]", item)


def _parses(line: bytes) -> bool:
    return _loads(line) is not _INVALID


_INVALID = object()


def _loads(text: bytes) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return _INVALID


def _not_json(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    return f"not JSON ({exc})"  # invalid UTF-8


def report(where: str, document: object) -> Read:
    """The fields triage reads from one report, checked; or what is wrong with it."""
    if not isinstance(document, dict):
        return Malformed(where, f"a report is a JSON object, not {_kind(document)}")
    hostname = document.get("hostname")
    if not isinstance(hostname, str) or not hostname.strip():
        return Malformed(where, _missing("hostname", document, "a host name string"))
    chain_field = next(
        (f for f in ("served-certificate-chain", "validated-certificate-chain") if f in document),
        None,
    )
    if chain_field is None:
        return Malformed(where, "missing field validated-certificate-chain (or served-...)")
    chain = document[chain_field]
    if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
        return Malformed(where, f"{chain_field} must be a non-empty list of PEM strings")
    port = document.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        return Malformed(where, f"port must be an integer, not {_kind(port)}")
    if port is not None and not 0 < port < 65536:
        return Malformed(where, f"port {port} is out of range (1 to 65535)")
    version = document.get("app-version")
    if version is not None and not isinstance(version, str):
        return Malformed(where, f"app-version must be a string, not {_kind(version)}")
    seen_at = _time(document.get("date-time"))
    if seen_at is _INVALID:
        return Malformed(where, f"date-time {document.get('date-time')!r} is not an ISO 8601 time")
    source: Source = "hpkp"
    if "app-bundle-id" in document:
        android = "served-certificate-chain" in document or (
            str(document.get("app-platform", "")).upper() == "ANDROID"
        )
        source = "trustkit-android" if android else "trustkit-ios"
    return Report(
        where,
        source,
        hostname.strip().rstrip(".").lower(),
        port,
        version,
        tuple(chain),
        chain_field,
        seen_at if isinstance(seen_at, datetime) else None,
    )


def _time(value: object) -> object:
    if value is None:
        return None
    if not isinstance(value, str):
        return _INVALID
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return _INVALID
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _missing(field: str, document: dict[str, object], wanted: str) -> str:
    if field not in document:
        return f"missing field {field}"
    return f"{field} must be {wanted}, not {_kind(document[field])}"


def _kind(value: object) -> str:
    kinds = [(bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string")]
    kinds += [(list, "a list"), (dict, "an object")]
    if value is None:
        return "null"
    return next((word for t, word in kinds if isinstance(value, t)), type(value).__name__)
