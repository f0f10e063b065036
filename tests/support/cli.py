"""Running pinctl as a user does, through its real error boundary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from click.testing import CliRunner


@dataclass
class Invocation:
    """What a user sees from one pinctl run: exit code, stdout and stderr apart."""

    exit_code: int
    stdout: str
    stderr: str


def invoke(
    args: list[str], input: str | bytes | None = None, env: dict[str, str] | None = None
) -> Invocation:
    from pinctl.cli import _run

    runner = CliRunner()
    debug = "--debug" in args
    with runner.isolation(input=input, env=env) as (out, err, *_):
        code = _run(args, debug)
        stdout = out.getvalue().decode()
        stderr = err.getvalue().decode() if err is not None else ""
    return Invocation(code, stdout, stderr)


Run: TypeAlias = Callable[..., Invocation]
"""The `run` fixture: `invoke`, called as `run(args, input=..., env=...)`."""


def run_process(
    args: list[str], *, timeout: float = 60, env: dict[str, str] | None = None
) -> Invocation:
    """Run `python -m pinctl ARGS` in a child process, killed at `timeout`: a pinctl that
    hangs fails the test (pytest.fail) instead of holding the suite."""
    import os
    import subprocess
    import sys

    import pytest

    try:
        done = subprocess.run(
            [sys.executable, "-m", "pinctl", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"pinctl {' '.join(args)} still ran after {timeout:g} s", pytrace=False)
    return Invocation(done.returncode, done.stdout, done.stderr)
