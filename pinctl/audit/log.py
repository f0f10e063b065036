"""The audit log file: hash-chained JSON lines, appended under a lock, read and checked.

Each line's ``prev`` is the SHA-256 of the previous line's bytes, newline included, so a
line changed, dropped or inserted breaks the chain at the line after it. A log that does
not end in a newline was cut short (a full disk, a killed writer outside pinctl): pinctl
refuses to append to it, because a line joined to half a line would damage both.

A change and its line are two writes, and no order of two writes survives every crash
on its own, so the line goes first with a marker beside the log (``.LOG.pending``) that
says which line is not yet backed by its change; the marker goes once the pin file is
renamed into place. Whoever next takes the log's lock settles a marker left by a killed
run (`settle`): if the pin file has the line's ``after_sha256``, the change was made and
the line stays; otherwise it was not, and the line is cut off again. So no line outlives
a change that was not made, and no change is renamed into place before its line is on
disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pinctl.errors import ExitCode, InputError, PinctlError
from pinctl.files import write_atomic
from pinctl.pinfile import lock

LIMIT = 256 << 20
"""A log larger than this is not read whole (a mistaken path to a disk image, say)."""
FIELDS = (
    "time",
    "user",
    "command",
    "pin_file",
    "before_sha256",
    "after_sha256",
    "changes",
    "prev",
)


class AuditLogError(InputError):
    """The log is damaged or cannot be written: nothing is changed (exit 2)."""


class AuditBreak(PinctlError):
    """`audit --verify` found the chain broken or the pin file edited outside pinctl."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class Line:
    """One line of the log, as read."""

    number: int
    record: Mapping[str, Any]
    raw: bytes
    """The line's bytes, newline included: what the next line's ``prev`` hashes."""

    @property
    def digest(self) -> str:
        return sha256(self.raw)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pending_path(log: Path) -> Path:
    return log.parent / f".{log.name}.pending"


def read(log: Path) -> list[Line]:
    """Every line of the log, checked: each is a JSON object with the fields of SPEC.md
    section 11, and the log ends in a newline. A missing log is an empty one."""
    try:
        data = log.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditLogError(f"cannot read audit log {log}: {exc.strerror or exc}") from None
    if len(data) > LIMIT:
        raise AuditLogError(f"audit log {log} is over {LIMIT >> 20} MiB; is that the right file?")
    lines = []
    rows = data.split(b"\n")
    for number, raw in enumerate(rows[:-1], start=1):
        lines.append(Line(number, _record(log, number, raw), raw + b"\n"))
    if rows[-1]:
        raise AuditLogError(
            f"{log}:{len(rows)}: the last line is cut short (no newline at its end); "
            "the log was damaged outside pinctl: restore it from version control or a backup"
        )
    return lines


def _record(log: Path, number: int, raw: bytes) -> Mapping[str, Any]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditLogError(
            f"{log}:{number}: not a JSON line ({exc}); the log was damaged outside pinctl"
        ) from None
    missing = [f for f in FIELDS if not isinstance(record, dict) or f not in record]
    if missing:
        raise AuditLogError(f"{log}:{number}: an audit line without {', '.join(missing)}")
    return record  # type: ignore[no-any-return]


def chain_break(log: Path, lines: list[Line]) -> str | None:
    """Where the hash chain breaks, or None when every ``prev`` is the line before it."""
    previous: str | None = None
    for line in lines:
        if line.record["prev"] != previous:
            return (
                f"{log}:{line.number}: the chain is broken (prev is {line.record['prev']}, "
                f"the line before hashes to {previous}): a line was changed, removed or "
                "inserted outside pinctl"
            )
        previous = line.digest
    return None


@contextlib.contextmanager
def appending(log: Path, record: Mapping[str, Any], pin_file: Path) -> Iterator[None]:
    """Append `record` as the next line, then let the block make the change it describes.

    The log's lock is held throughout, so lines are chained in the order changes are
    made. If the block raises, the line is cut off again: the change was not made."""
    with lock.locked(log):
        settle(log)
        lines = read(log)
        broken = chain_break(log, lines)
        if broken:
            raise AuditLogError(f"{broken}; refusing to record more (`pinctl audit --verify`)")
        line = _encode({**record, "prev": lines[-1].digest if lines else None})
        offset = sum(len(entry.raw) for entry in lines)
        marker = {
            "offset": offset,
            "line_sha256": sha256(line),
            "pin_file": str(Path(os.path.realpath(pin_file))),
            "after_sha256": record["after_sha256"],
        }
        marked = pending_path(log)
        _write_marker(marked, marker)
        try:
            _append(log, line)
        except BaseException:
            _clear(marked)
            raise
        try:
            yield
        except BaseException:
            _truncate(log, offset)
            _clear(marked)
            raise
        _clear(marked)


def settle(log: Path) -> None:
    """Finish what a killed run left between its line and its change (see the module)."""
    marked = pending_path(log)
    try:
        marker = json.loads(marked.read_bytes())
        offset, line_sha = int(marker["offset"]), marker["line_sha256"]
        target, after = Path(marker["pin_file"]), marker["after_sha256"]
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AuditLogError(
            f"{marked}: unreadable marker of an interrupted change ({exc}); compare the "
            f"last line of {log} with the pin file, then delete the marker"
        ) from None
    try:
        current: str | None = sha256(target.read_bytes())
    except FileNotFoundError:
        current = None
    if current != after:  # the change was never renamed into place: its line goes
        with contextlib.suppress(FileNotFoundError):
            data = log.read_bytes()
            tail = data[offset:]
            if tail and sha256(tail) != line_sha:
                raise AuditLogError(
                    f"{log}: a change was interrupted at byte {offset}, and the log holds "
                    "other lines after it; restore the log from a backup"
                )
            _truncate(log, offset)
    _clear(marked)


def _encode(record: Mapping[str, Any]) -> bytes:
    ordered = {name: record[name] for name in FIELDS}
    return (json.dumps(ordered, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _write_marker(path: Path, marker: Mapping[str, Any]) -> None:
    try:
        write_atomic(path, json.dumps(marker).encode() + b"\n", mode=0o644)
    except PinctlError as exc:
        raise AuditLogError(f"cannot record the change in the audit log: {exc}") from None


def _append(log: Path, line: bytes) -> None:
    try:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise AuditLogError(
            f"cannot write audit log {log}: {exc.strerror or exc}; the pin file is unchanged"
        ) from None
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(28, "short write (is the disk full?)")
        os.fsync(fd)
    except OSError as exc:
        raise AuditLogError(
            f"cannot write audit log {log}: {exc.strerror or exc}; the pin file is unchanged"
        ) from None
    finally:
        os.close(fd)


def _truncate(log: Path, offset: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        if offset == 0 and log.stat().st_size == 0:
            return
        fd = os.open(log, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, offset)
            os.fsync(fd)
        finally:
            os.close(fd)


def _clear(marked: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(marked)
