"""One writer at a time per pin file: an exclusive lock from the first read to the rename.

Two edits that each read, change and replace pins.toml would otherwise both succeed and
one change would be gone. The lock is `flock` on a sidecar file beside the pin file
(``.pins.toml.lock``), never on the pin file itself, because the pin file is replaced by
a rename and a lock on the old inode would guard nothing. The sidecar is never deleted:
deleting it would let a third writer lock a new inode while a second still waits on the
old one. Its content is the holder's pid, so that a writer that gives up can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from pinctl.errors import PinFileError

WAIT = 10.0
"""Seconds a writer waits for another to finish before it gives up."""
_POLL = 0.05
LOCK_MODE = 0o644


def lock_path(path: Path) -> Path:
    """The sidecar beside the file a write would replace (a symlink's target, as
    `pinctl.files.write_atomic` does), so every name for one file shares one lock."""
    target = Path(os.path.realpath(path))
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def locked(path: Path, *, wait: float = WAIT) -> Iterator[None]:
    """Hold the pin file's lock; after `wait` seconds of another holder, refuse with exit 2.

    While the lock is held nobody else is writing this pin file, so temporary files left
    by a killed run are removed here."""
    sidecar = lock_path(path)
    if not sidecar.parent.is_dir():
        # No directory, no pin file to read and none to write: the edit fails on its own
        # terms ("no pin file", "cannot write"), and there is nothing to guard.
        yield
        return
    fd = _open(sidecar, path)
    held = False
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise PinFileError(
                    f"{path} is being edited by another pinctl run ({_holder(fd)}); "
                    f"waited {wait:g} s for it: let it finish, then run the command again "
                    f"(if no pinctl is running, the lock {sidecar} is held by whatever "
                    "process has it open)"
                )
            time.sleep(_POLL)
        held = True
        _record_holder(fd, os.getpid())
        remove_stale_temporaries(path)
        yield
    finally:
        if held:
            _record_holder(fd, None)  # a waiter must not name a run that has finished
        os.close(fd)  # closing the descriptor releases the lock


def _open(sidecar: Path, path: Path) -> int:
    flags = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(sidecar, flags | os.O_RDWR | os.O_CREAT | os.O_EXCL, LOCK_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _cannot(sidecar, path, exc) from None
    else:
        os.fchmod(fd, LOCK_MODE)  # exactly 0644, whatever the umask
        return fd
    try:
        return os.open(sidecar, flags | os.O_RDWR)
    except PermissionError:  # another user's lock file: a read-only descriptor locks too
        try:
            return os.open(sidecar, flags | os.O_RDONLY)
        except OSError as exc:
            raise _cannot(sidecar, path, exc) from None
    except OSError as exc:
        raise _cannot(sidecar, path, exc) from None


def _cannot(sidecar: Path, path: Path, exc: OSError) -> PinFileError:
    return PinFileError(
        f"cannot lock {path} for editing: {sidecar}: {exc.strerror or exc}; "
        "pinctl needs to create that file beside the pin file"
    )


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _record_holder(fd: int, pid: int | None) -> None:
    """Best effort: a read-only lock file (another user's) simply names no holder."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        if pid is not None:
            os.pwrite(fd, f"{pid}\n".encode(), 0)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "its pid is not known yet"


def remove_stale_temporaries(path: Path) -> None:
    """Delete ``.pins.toml.XXXXXXXX.tmp`` files beside the pin file: `write_atomic`'s own
    name pattern for this file only, left by a run killed before its rename."""
    target = Path(os.path.realpath(path))
    pattern = re.compile(re.escape(f".{target.name[:200]}.") + r"[a-z0-9_]{8}\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
