"""The real shells completing a pinctl command line, as a person pressing TAB would.

fish answers `complete -C LINE` directly; bash and zsh only complete inside their line
editor, so they run interactively on a pseudo-terminal: the line is typed, TAB pressed,
and the edited line is read back by turning it into an `echo` (Ctrl-A, then Enter).
The shipped scripts in completions/ are loaded, and they call back the `pinctl` on PATH.
"""

from __future__ import annotations

import functools
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
COMPLETIONS = ROOT / "completions"
MARK = "@@"
"""Printed before the completed line, so it can be found on the screen."""
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


def missing(shell: str) -> str | None:
    """Why `shell` cannot be tested here, or None."""
    if shutil.which(shell) is None:
        return f"{shell} is not installed"
    if shutil.which("pinctl") is None:
        return "the pinctl console script is not on PATH (pip install -e .)"
    return None


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PINCTL_PIN_FILE", "VISUAL")}
    env.update({"TERM": "dumb", "EDITOR": "", "HOME": env.get("HOME", "/tmp")})
    env.update(extra or {})
    return env


def fish_complete(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What fish proposes for `line` (values only, descriptions dropped)."""
    program = f"source {COMPLETIONS / 'pinctl.fish'}; complete -C {_fish_quote(line)}"
    out = subprocess.run(
        ["fish", "--no-config", "-c", program],
        capture_output=True,
        text=True,
        env=_env(env),
        timeout=60,
        check=False,
    )
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    return [w.split("\t", 1)[0] for w in out.stdout.splitlines() if w]


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Screen:
    """What an interactive shell showed after `typed` and TAB."""

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def line(self) -> str:
        """The command line after completion (what was echoed back)."""
        found = re.findall(rf"^{MARK}(.*)$", self.text, re.MULTILINE)
        assert found, f"the line was never echoed; screen: {self.text!r}"
        last: str = found[-1]
        return last.rstrip()


def interactive_complete(
    shell: str, typed: str, workdir: Path, env: dict[str, str] | None = None, tabs: int = 1
) -> Screen:
    """Type `typed` in an interactive bash or zsh, press TAB `tabs` times, echo the line.

    pinctl is reached through a wrapper on PATH that counts its runs, so each TAB is
    waited for until its pinctl has answered, however slow the machine."""
    real = shutil.which("pinctl")
    assert real is not None
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    runs = workdir / "runs"
    wrapper = bindir / "pinctl"
    wrapper.write_text(f'#!/bin/sh\n"{real}" "$@"; rc=$?; echo >> "{runs}"; exit $rc\n')
    wrapper.chmod(0o755)
    full_env = _env({**(env or {}), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    if shell == "bash":
        argv = ["bash", "--norc", "--noprofile", "-i"]
        setup = f"PS1='$ '; bind 'set bell-style none'; source {COMPLETIONS / 'pinctl.bash'}\n"
    else:
        argv = ["zsh", "-f", "-i"]
        setup = (
            "PS1='$ '; unsetopt beep; bindkey -e; autoload -Uz compinit; compinit -u -D; "
            f"source {COMPLETIONS / '_pinctl'}\n"
        )
    with warnings.catch_warnings():
        # Python 3.12 warns about forking while threads run; the child only calls exec.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(argv[0], argv, full_env)  # noqa: S606  # a fixed argv, no shell
        finally:
            os._exit(127)
    screen = b""
    try:
        screen += _read_until(fd, lambda seen: seen.endswith((b"# ", b"$ ", b"% ")))
        os.write(fd, setup.encode())
        screen += _read_until(fd, lambda seen: b"\n" in seen and seen.rstrip().endswith(b"$"))
        os.write(fd, typed.encode())
        for n in range(1, tabs + 1):
            os.write(fd, b"\t")
            screen += _read_until(fd, functools.partial(_ran, runs, n))
            screen += _read_until(fd, lambda _: False, limit=0.3)
        os.write(fd, f"\x01echo {MARK}\n".encode())
        screen += _read_until(fd, lambda seen: MARK.encode() + b"pinctl" in seen)
        screen += _read_until(fd, lambda _: False, limit=0.3)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    return Screen(_ANSI.sub(b"", screen).decode("utf-8", "replace"))


def _ran(path: Path, n: int, _: bytes) -> bool:
    return _count(path) >= n


def _count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _read_until(fd: int, done: Callable[[bytes], bool], limit: float = 30) -> bytes:
    """Read what the terminal shows until `done(what was read)` holds, or `limit` seconds."""
    out = b""
    end = time.monotonic() + limit
    while time.monotonic() < end and not done(_ANSI.sub(b"", out)):
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the shell exited
                break
            if not chunk:
                break
            out += chunk
    return out
