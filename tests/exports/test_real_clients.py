"""`verify --as okhttp,curl` against what the real OkHttp and curl do with the same server.

Each scenario is a live loopback server with a root, an intermediate and a leaf, and a pin
file; pinctl judges it with `verify --as okhttp,curl -o json`, then the OkHttp jar and
curl connect to the same server with exactly the pins `pinctl export` writes. A verdict of
accept must be a client that connects, a reject one that fails on the pin; a curl verdict
of not-pinned is a host whose pins curl cannot use (its export is refused, and the CA pin
a user might try instead fails in curl).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.apps import OkHttp, curl, needs_curl, needs_okhttp
from tests.support.cli import Run
from tests.support.pki import issue
from tests.support.servers import LoopbackServer, pem_context, tls_server

pytestmark = [needs_okhttp, needs_curl]

Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


@dataclass(frozen=True)
class Pki:
    root: Issued
    intermediate: Issued
    leaf: Issued
    rotated: Issued
    """A new leaf key under the same intermediate."""
    backup: Issued
    """A leaf whose key was generated ahead, as `pinctl backup-keygen` does."""
    ca_file: Path


def pin(cert: x509.Certificate) -> str:
    return str(compute(spki_der(cert.public_key())))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = issue("Judges Root")
    intermediate = issue("Judges Intermediate", root)
    leaves = [issue("localhost", intermediate, sans=["localhost"]) for _ in range(2)]
    backup_key = ec.generate_private_key(ec.SECP256R1())
    backup = issue("localhost", intermediate, sans=["localhost"], key=backup_key)
    ca_file = tmp_path_factory.mktemp("judges") / "root.pem"
    ca_file.write_bytes(root[0].public_bytes(serialization.Encoding.PEM))
    return Pki(root, intermediate, leaves[0], leaves[1], backup, ca_file)


@pytest.fixture(scope="module")
def okhttp(tmp_path_factory: pytest.TempPathFactory) -> OkHttp:
    return OkHttp(tmp_path_factory.mktemp("okhttp-judge"))


@dataclass(frozen=True)
class Scenario:
    name: str
    pins: tuple[tuple[str, str], ...]
    """(which certificate or key, pin-file fields) for each pin."""
    serves: str
    """Which leaf the server presents, with the intermediate (never the root)."""
    okhttp: str
    curl: str


SCENARIOS = [
    Scenario("leaf pin only", (("leaf", 'level = "leaf"'),), "leaf", "accept", "accept"),
    Scenario(
        "intermediate pin only",
        (("intermediate", 'level = "intermediate"'),),
        "leaf",
        "accept",
        "not-pinned",
    ),
    Scenario(
        "root pin, root not sent", (("root", 'level = "root"'),), "leaf", "accept", "not-pinned"
    ),
    Scenario(
        "leaf rotated under the same CA",
        (("leaf", 'level = "leaf"'), ("intermediate", 'level = "intermediate"')),
        "rotated",
        "accept",
        "reject",
    ),
    Scenario(
        "backup key deployed",
        (("leaf", 'level = "leaf"'), ("backup", "backup = true")),
        "backup",
        "accept",
        "accept",
    ),
    Scenario(
        "wrong pins (failing twin)",
        (("rotated", 'level = "leaf"'), ("backup", "backup = true")),
        "leaf",
        "reject",
        "reject",
    ),
]
OUTCOME = {"accept": "connects", "reject": "pin-failure"}


@pytest.fixture
def server(request: pytest.FixtureRequest, pki: Pki) -> Iterator[LoopbackServer]:
    scenario: Scenario = request.param
    cert, key = getattr(pki, scenario.serves)
    chain = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (cert, pki.intermediate[0])
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with tls_server(pem_context(chain, key_pem)) as running:
        yield running


def pin_file(path: Path, pki: Pki, scenario: Scenario, port: int) -> Path:
    entries = "".join(
        f'  {{ pin = "{pin(getattr(pki, which)[0])}", {fields} }},\n'
        for which, fields in scenario.pins
    )
    path.write_text(
        f'version = 1\n[defaults]\nca_file = "{pki.ca_file}"\n\n'
        f'[[hosts]]\nhost = "localhost"\nport = {port}\npins = [\n{entries}]\n'
    )
    return path


@pytest.mark.parametrize(
    ("scenario", "server"),
    [(s, s) for s in SCENARIOS],
    ids=[s.name for s in SCENARIOS],
    indirect=["server"],
)
def test_verdicts_are_what_okhttp_and_curl_do(
    run: Run,
    tmp_path: Path,
    pki: Pki,
    okhttp: OkHttp,
    scenario: Scenario,
    server: LoopbackServer,
) -> None:
    """pinctl's okhttp and curl verdicts equal the real clients' outcome on the same server."""
    pins = pin_file(tmp_path / "pins.toml", pki, scenario, server.port)
    judged = run(["verify", "--pin-file", str(pins), "--as", "okhttp,curl", "-o", "json"])
    [host] = json.loads(judged.stdout)["hosts"]
    verdicts = {name: v["verdict"] for name, v in host["clients"].items()}
    assert verdicts == {"okhttp": scenario.okhttp, "curl": scenario.curl}, host
    url = f"https://localhost:{server.port}/"

    java = run(["export", "--format", "okhttp-java", "--pin-file", str(pins)])
    assert java.exit_code == 0, java.stderr
    assert okhttp.judge(pki.ca_file, url, java.stdout) == OUTCOME[scenario.okhttp]

    value = run(["export", "--format", "curl", "--pin-file", str(pins)])
    if scenario.curl == "not-pinned":
        assert value.exit_code == 2
        assert "curl checks the leaf key only" in value.stderr
        ca_pins = ";".join(f"sha256//{pin(getattr(pki, w)[0])[7:]}" for w, _ in scenario.pins)
        assert curl(pki.ca_file, url, ca_pins) == "pin-failure"
    else:
        assert value.exit_code == 0, value.stderr
        assert curl(pki.ca_file, url, value.stdout) == OUTCOME[scenario.curl]

    expected_status = {
        ("accept", "reject"): "client-reject",
        ("reject", "reject"): "pin-mismatch",
    }.get((scenario.okhttp, scenario.curl), "pass")
    assert host["status"] == expected_status
    assert judged.exit_code == (0 if expected_status == "pass" else 1)
