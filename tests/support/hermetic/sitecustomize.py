"""The resolver guard, for the test session and for every Python child it starts.

tests/conftest.py puts this directory first on the children's PYTHONPATH, so each
`python -m pinctl` a test runs imports this file as `sitecustomize` at start-up and
installs the guard before pinctl runs: no name but ``localhost`` and literal addresses
reaches the system resolver, in the test process or its children. Any other name fails
as a name that does not exist would (EAI_NONAME), which exercises pinctl's real failure
path and sends no query. The test process itself installs `guard` per test (monkeypatch).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any

ENABLE = "PINCTL_TEST_HERMETIC"
"""Set to 1 in the children's environment by tests/conftest.py."""


def allowed(host: object) -> bool:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name == "localhost":
        return True
    try:
        ipaddress.ip_address(str(name).split("%", 1)[0])
    except ValueError:
        return False
    return True


def guard(real: Callable[..., Any]) -> Callable[..., Any]:
    """`real` (socket.getaddrinfo, gethostbyname...) for the names `allowed` lets through."""

    def guarded(host: object, *args: object, **kwargs: object) -> Any:
        if allowed(host):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return guarded


RESOLVERS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex")


if __name__ == "sitecustomize" and os.environ.get(ENABLE) == "1":
    for _name in RESOLVERS:
        setattr(socket, _name, guard(getattr(socket, _name)))

if __name__ == "sitecustomize" and os.environ.get("PINCTL_MUTATE_SHARED"):
    # scripts/mutate.py's coverage run follows the tests into their children, which start
    # with the parent's coverage settings: name what this one runs by the test (and phase)
    # that started it, "tests/x.py::test_y (call)", which pytest keeps in the environment.
    import coverage

    _current = coverage.Coverage.current()
    if _current is not None:
        _current.switch_context(os.environ.get("PYTEST_CURRENT_TEST", ""))
