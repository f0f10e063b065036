"""Running a program on a real pseudo-terminal, as a person at a keyboard would.

Prompts that must not echo can only be tested on a real terminal; the passphrase and
backup-keygen tests both drive one, so the harness lives here rather than in either.
"""

from __future__ import annotations

import os
import pty
import select
import time
import warnings


def run_on_pty(argv: list[str], replies: list[tuple[bytes, bytes]], timeout: float = 30) -> bytes:
    """Run argv with a pty as its controlling terminal; answer each prompt; return the screen."""
    with warnings.catch_warnings():
        # Python 3.12 warns about forking while threads run; the child only calls exec.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvp(argv[0], argv)  # noqa: S606  # a fixed argv, no shell involved
        finally:
            os._exit(127)
    screen = b""
    pending = list(replies)
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            at = screen.find(pending[0][0], seen) if pending else -1
            if at >= 0:
                prompt, reply = pending.pop(0)
                seen = at + len(prompt)
                os.write(fd, reply)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert not pending, f"never saw prompt {pending[0][0]!r}; screen: {screen!r}"
    assert os.waitstatus_to_exitcode(status) == 0, screen
    return screen


def watch_on_pty(
    argv: list[str],
    until: bytes,
    then: bytes | None = None,
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> tuple[bytes, int]:
    """Run argv on a pty until the screen shows `until`, then type `then` (Ctrl-C is
    b"\\x03"); return the whole screen and the exit status once the program ends."""
    return converse_on_pty(argv, [(until, then or b"")], timeout=timeout, env=env)


def converse_on_pty(
    argv: list[str],
    replies: list[tuple[bytes, bytes]],
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> tuple[bytes, int]:
    """As `run_on_pty`, answering each prompt in turn, but any exit status is returned
    with the screen (for refusals) instead of being asserted to be 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            if env is not None:
                os.execvpe(argv[0], argv, env)  # noqa: S606  # a fixed argv, no shell
            os.execvp(argv[0], argv)  # noqa: S606  # a fixed argv, no shell involved
        finally:
            os._exit(127)
    screen = b""
    pending = list(replies)
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            at = screen.find(pending[0][0], seen) if pending else -1
            if at >= 0:
                prompt, reply = pending.pop(0)
                seen = at + len(prompt)
                if reply:
                    os.write(fd, reply)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert not pending, f"never saw {pending[0][0]!r}; screen: {screen!r}"
    return screen, os.waitstatus_to_exitcode(status)
