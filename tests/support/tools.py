"""Skips that depend on the machine, and only on it: a missing tool, an OpenSSL that
cannot serve a protocol. On CI (``CI=true``) a missing cross-check tool is a failure with
the reason, since CI installs every tool (.ci/run): a skip there would hide a regression.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> NoReturn:
    """Skip with `reason`; on CI, fail with it."""
    if on_ci():
        pytest.fail(f"CI=true and a cross-check tool is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def absent(*tools: str) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


def require(*tools: str, why: str = "") -> None:
    """Skip (on CI: fail) unless every one of `tools` is on PATH."""
    gone = absent(*tools)
    if gone:
        missing(", ".join(gone) + " is not installed" + (f" ({why})" if why else ""))


def needs(*tools: str) -> pytest.MarkDecorator:
    """A marker for a test or module: `require(*tools)` before it runs (tests/conftest.py)."""
    return pytest.mark.needs_tools(*tools)


def openssl_serves(address: str, flag: str) -> str | None:
    """None if `openssl s_client` completes a handshake with `flag` (``-tls1``, ``-tls1_1``)
    against the server at `address`, else why not: openssl, not pinctl, judges whether this
    machine's OpenSSL can speak that protocol at all."""
    require("openssl")
    done = subprocess.run(
        ["openssl", "s_client", "-connect", address, flag, "-cipher", "DEFAULT:@SECLEVEL=0"],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode == 0 and b"Cipher is (NONE)" not in done.stdout:
        return None
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"openssl s_client exited {done.returncode}"
