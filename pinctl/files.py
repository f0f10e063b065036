"""Writing files so that nothing is lost: atomic replacement and exclusive creation.

A pin file is replaced atomically (temporary file in the same directory, fsync, rename)
so a crash leaves the old file or the new one, never half of either. Only a regular file
(or a missing one) is ever replaced: a rename over `/dev/null` or a FIFO would destroy
the node (as root, the machine's `/dev/null`) and leave its reader with nothing, so
character devices, FIFOs and `/dev/stdout` are written in place, and directories,
sockets and block devices are refused. Keys are created exclusively with their final
mode from the first byte, and never overwrite anything.

Every write goes through `os.write` and `os.fsync`, so that a full disk or an
interrupt surfaces here, where it becomes a one-line error and the temporary file goes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

from pinctl.errors import FileExistsRefusal, InputError

NEW_FILE_MODE = 0o644
"""The most a new file gets, whatever the umask: a pin file or report others can rewrite
is a pin file anyone on the machine can change."""

_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_DESCRIPTOR = re.compile(r"/(?:dev|proc/(?:self|thread-self|(?P<pid>[0-9]+)))/fd/(?P<fd>[0-9]+)")
_MAX_LINKS = 40  # the kernel's own limit on a chain of symbolic links


def check_target(option: str, path: Path) -> None:
    """Refuse, before any work, a file to write whose directory is missing (or a link
    loop): the one wording for --output-file, --save and --junit-xml alike (exit 2)."""
    from pinctl.errors import UsageError

    target = os.path.realpath(path)
    if os.path.islink(target):
        raise UsageError(f"{option} {path}: a loop of symbolic links; fix the link")
    if not os.path.isdir(os.path.dirname(target)):
        raise UsageError(f"{option} {path}: its directory does not exist; create it first")


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace (or create) `path` with `data`, keeping an existing file's mode and owner.

    A symbolic link stays a link: its final target is what gets replaced, from a
    temporary file beside that target (a rename never crosses filesystems)."""
    path = Path(path)
    descriptor = _descriptor_alias(path)
    if descriptor is not None:
        _write_descriptor(descriptor, data, shown=path)
        return
    target = Path(os.path.realpath(path))
    if os.path.islink(target):
        raise InputError(f"cannot write {path}: it is a loop of symbolic links; fix the link")
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        _write_in_place(target, existing, data, shown=path)
        return
    _replace(target, existing, data, mode, shown=path)


def create_exclusive(path: Path, data: bytes, *, mode: int) -> None:
    """Create `path` with `mode` from its first byte; refuse if anything is there already."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise FileExistsRefusal(
            f"{path} already exists; pinctl never overwrites a file — move it away "
            "or choose another --prefix/--out-dir"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        _fill(fd, data, mode, owner=None)
    except BaseException as exc:  # Ctrl-C included: a key half written is no key at all
        with contextlib.suppress(OSError):
            os.unlink(path)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


def new_file_mode() -> int:
    """0644 less the umask: what an editor would create, but never group- or world-writable."""
    umask = os.umask(0)
    os.umask(umask)
    return NEW_FILE_MODE & ~umask


def _replace(
    target: Path, existing: os.stat_result | None, data: bytes, mode: int | None, *, shown: Path
) -> None:
    if mode is None:
        mode = stat.S_IMODE(existing.st_mode) if existing is not None else new_file_mode()
    owner = (existing.st_uid, existing.st_gid) if existing is not None else None
    prefix = f".{target.name[:200]}."  # the longest legal name still leaves room for the suffix
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(shown, exc) from None
    try:
        _fill(fd, data, mode, owner=owner)
        os.replace(tmp_name, target)
    except BaseException as exc:  # Ctrl-C and SIGTERM included: never leave the .tmp behind
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise _cannot_write(shown, exc) from None
        raise
    _fsync_directory(target.parent)


def _fill(fd: int, data: bytes, mode: int, *, owner: tuple[int, int] | None) -> None:
    """Give the new file its owner and exact mode, write it whole, fsync and close it."""
    try:
        if owner is not None:
            _keep_owner(fd, owner)
        os.fchmod(fd, mode)  # exactly `mode`, whatever the umask made of it
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_owner(fd: int, owner: tuple[int, int]) -> None:
    """Hand the replacement to the original's owner and group, as far as we may.

    Root may give a file to anyone; a user may still give it a group they belong to. What
    is not permitted is left as it is: the edit matters more than who owns the result."""
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) == owner:
        return
    try:
        os.fchown(fd, *owner)
    except PermissionError:
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, owner[1])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_in_place(target: Path, existing: os.stat_result, data: bytes, *, shown: Path) -> None:
    """Write a character device or FIFO as it is: no rename, no truncation.

    A FIFO is opened without blocking first, so a FIFO nobody reads is an error now
    rather than a run that never ends; the descriptor then blocks as usual for writing."""
    if not (stat.S_ISCHR(existing.st_mode) or stat.S_ISFIFO(existing.st_mode)):
        raise InputError(
            f"cannot write {shown}: it is {file_kind(existing.st_mode)}, not a file; "
            "give the path of a regular file"
        )
    flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO and stat.S_ISFIFO(existing.st_mode):
            raise InputError(
                f"cannot write {shown}: it is a FIFO that no process is reading; "
                "start its reader first"
            ) from None
        raise _cannot_write(shown, exc) from None
    try:
        os.set_blocking(fd, True)
        _write_all(fd, data)
    except OSError as exc:
        raise _cannot_write(shown, exc) from None
    finally:
        os.close(fd)


def _write_descriptor(number: int, data: bytes, *, shown: Path) -> None:
    """`/dev/stdout` and `/dev/fd/N` mean this process's descriptor, not a file to replace:
    writing a duplicate keeps the shell's redirection, its offset and its append mode."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()  # what was printed before comes before the file's bytes
    try:
        fd = os.dup(number)
    except OSError as exc:
        raise _cannot_write(shown, exc) from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise _cannot_write(shown, exc) from None
    finally:
        os.close(fd)


def _descriptor_alias(path: Path) -> int | None:
    """The descriptor that `path` names, following links to it, or None for a real path."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        if current in _STANDARD:
            return _STANDARD[current]
        match = _DESCRIPTOR.fullmatch(current)
        if match is not None and match["pid"] in {None, str(os.getpid())}:
            return int(match["fd"])
        if not os.path.islink(current):
            return None
        try:
            link = os.readlink(current)
        except OSError:
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return None


def _cannot_write(shown: Path, exc: OSError) -> InputError:
    return InputError(f"cannot write {shown}: {exc.strerror or exc}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some filesystems refuse, which is harmless."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_regular(
    path: Path,
    *,
    what: str,
    limit: int,
    remedy: str,
    error: type[InputError] = InputError,
) -> tuple[bytes, os.stat_result] | None:
    """A regular file's bytes and its stat, or None when there is no file at `path`.

    Opened without blocking and checked with fstat before a byte is read, so a FIFO cannot
    hang pinctl and /dev/urandom cannot exhaust its memory; at most `limit` bytes are read
    (the size is read, not trusted: the file may be growing). `what` names the file in
    messages ("pin file", "--ca-file"), `remedy` says how to point at the right one.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise error(f"cannot read {what} {_shown(path)}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path} is {file_kind(info.st_mode)}, not a regular file; {remedy}")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise error(
            f"{what} {path} is larger than {limit // (1024 * 1024)} MiB, too large for a "
            f"{what}; {remedy}"
        )
    return b"".join(chunks), info


def file_kind(mode: int) -> str:
    """What a path is, in words, for a message that refuses it."""
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def _shown(path: Path) -> str:
    return str(path).replace("\x00", "\\x00")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValueError):
        return "the path contains a NUL byte; fix the file name"
    return str(getattr(exc, "strerror", None) or exc)
