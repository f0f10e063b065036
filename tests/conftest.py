"""Shared fixtures: a trustme PKI, loopback TLS servers and a CliRunner that shows errors."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
import trustme
from hypothesis import settings

from tests.support.cli import Run, invoke
from tests.support.tools import require

# Property tests check behaviour, not speed: hypothesis's default 200 ms deadline per
# example failed on Python 3.10, whose pin files are all read by tomlkit (no tomllib).
settings.register_profile("pinctl", deadline=None)
settings.load_profile("pinctl")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_tools(*names): skip without these tools on PATH; fail on CI=true"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs_tools"):
        require(*mark.args)


@pytest.fixture
def run() -> Run:
    """Run pinctl in-process through the real error boundary (`pinctl.cli._run`)."""
    return invoke


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ec_ca() -> trustme.CA:
    return trustme.CA(key_type=trustme.KeyType.ECDSA)


@pytest.fixture(scope="session", params=["rsa", "ec"])
def any_ca(request: pytest.FixtureRequest) -> trustme.CA:
    """The same tests against an RSA and an EC hierarchy."""
    key_type = trustme.KeyType.RSA if request.param == "rsa" else trustme.KeyType.ECDSA
    return trustme.CA(key_type=key_type)


@pytest.fixture
def ca_pem(tmp_path: Path, ca: trustme.CA) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(autouse=True)
def _no_dns_but_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the system resolver about a name other than localhost: any other name
    fails as a name that does not exist would (EAI_NONAME), so the suite is hermetic and a
    test of an unresolvable host exercises pinctl's real failure path."""
    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "localhost" or _is_address(str(name)):
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True
