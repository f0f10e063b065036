"""Shared fixtures: a trustme PKI, loopback TLS servers and a CliRunner that shows errors."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from hypothesis import settings

from tests.support.cli import Run, invoke
from tests.support.hermetic import sitecustomize as hermetic
from tests.support.tools import require

# Property tests check behaviour, not speed: hypothesis's default 200 ms deadline per
# example failed on Python 3.10, whose pin files are all read by tomlkit (no tomllib).
settings.register_profile("pinctl", deadline=None)
settings.load_profile("pinctl")

HERMETIC = Path(hermetic.__file__).parent


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


@pytest.fixture(scope="session", autouse=True)
def _hermetic_children() -> Iterator[None]:
    """Every Python child a test starts with the inherited environment loads the same
    resolver guard at start-up (tests/support/hermetic/sitecustomize.py)."""
    with pytest.MonkeyPatch.context() as patch:
        path = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERMETIC), path])))
        patch.setenv(hermetic.ENABLE, "1")
        yield


@pytest.fixture(autouse=True)
def _no_dns_but_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the system resolver about a name other than localhost: any other name
    fails as a name that does not exist would (EAI_NONAME), so the suite is hermetic and a
    test of an unresolvable host exercises pinctl's real failure path."""
    for name in hermetic.RESOLVERS:
        monkeypatch.setattr(socket, name, hermetic.guard(getattr(socket, name)))
