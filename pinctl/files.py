"""Writing files so that nothing is lost: atomic replacement and exclusive creation.

A pin file is replaced atomically (temporary file in the same directory, fsync, rename)
so a crash leaves the old file or the new one, never half of either. Keys are created
exclusively with their final mode from the first byte, and never overwrite anything.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from pinctl.errors import FileExistsRefusal, InputError


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace (or create) `path` with `data`, keeping an existing file's mode.

    A symbolic link stays a link: its final target is what gets replaced, from a
    temporary file beside that target (a rename never crosses filesystems)."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    if os.path.islink(target):
        raise InputError(f"cannot write {path}: it is a loop of symbolic links; fix the link")
    if mode is None:
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    directory = target.parent
    prefix = f".{target.name[:200]}."  # the longest legal name still leaves room for the suffix
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    _fill(fd, data, mode, written=tmp_name, shown=path)
    try:
        os.replace(tmp_name, target)
    except BaseException as exc:  # Ctrl-C included: never leave the temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(directory)


def create_exclusive(path: Path, data: bytes, *, mode: int) -> None:
    """Create `path` with `mode` from its first byte; refuse if anything is there already."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise FileExistsRefusal(
            f"{path} already exists; pinctl never overwrites a file — move it away "
            "or choose another --prefix/--out-dir"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc}") from None
    _fill(fd, data, mode, written=path, shown=path)


def _fill(fd: int, data: bytes, mode: int, *, written: str | Path, shown: Path) -> None:
    """Write, set the exact mode and fsync; on any failure remove what was created."""
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # exactly `mode`, whatever the umask made of it
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(written)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {shown}: {exc.strerror or exc}") from None
        raise


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some filesystems refuse, which is harmless."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
