"""Shared fixtures: a trustme PKI, loopback TLS servers and a CliRunner that shows errors."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from hypothesis import settings

# Property tests check behaviour, not speed: hypothesis's default 200 ms deadline per
# example failed on Python 3.10, whose pin files are all read by tomlkit (no tomllib).
settings.register_profile("pinctl", deadline=None)
settings.load_profile("pinctl")


@dataclass
class Invocation:
    """What a user sees from one pinctl run: exit code, stdout and stderr apart."""

    exit_code: int
    stdout: str
    stderr: str


def _invoke(
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


@pytest.fixture
def run():
    """Run pinctl in-process through the real error boundary (`pinctl.cli._run`)."""
    return _invoke


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


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_pem(tmp_path: Path, ca: trustme.CA) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
