"""The suite is hermetic: no test, and no Python child a test starts, asks the system
resolver about a name other than localhost (tests/support/hermetic/sitecustomize.py)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.support.cli import run_process

PROBE = """
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 443)
except socket.gaierror as exc:
    print("refused", exc.errno)
else:
    print("resolved")
"""


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("example.com", f"refused {socket.EAI_NONAME}"),
        ("nonexistent.invalid", f"refused {socket.EAI_NONAME}"),
        ("localhost", "resolved"),
        ("127.0.0.1", "resolved"),
        ("::1", "resolved"),
    ],
)
def test_a_python_child_resolves_only_localhost_and_literals(name: str, answer: str) -> None:
    """A child started with the test's environment carries the same guard at start-up."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, name], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == answer


def test_the_test_process_resolves_only_localhost_and_literals() -> None:
    with pytest.raises(socket.gaierror) as refused:
        socket.getaddrinfo("example.com", 443)
    assert refused.value.errno == socket.EAI_NONAME
    with pytest.raises(socket.gaierror):
        socket.gethostbyname("example.com")
    assert socket.getaddrinfo("localhost", 443)


def test_pinctl_in_a_child_sees_an_unknown_name_and_says_so() -> None:
    """`python -m pinctl fetch` of a public name: unreachable (exit 3), no query sent."""
    done = run_process(["fetch", "example.com:443", "--timeout", "5"], timeout=30)
    assert done.exit_code == 3, done.stderr
    assert "example.com" in done.stderr + done.stdout
