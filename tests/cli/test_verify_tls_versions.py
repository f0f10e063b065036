"""TLS 1.0 and 1.1 servers against every `min_tls`: the version table decides, end to end.

Each server speaks one legacy protocol only, and openssl itself proves it does before
pinctl is asked (tests/support/servers.py `legacy_tls_server`). Whatever pinctl then
does is asserted, never skipped: a pinctl that refused TLS 1.0 outright fails here.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from pinctl.pinfile.model import TLS_VERSIONS
from tests.support.cli import Run
from tests.support.pinfiles import ANOTHER_KEY, host, spki_pin, write_pins
from tests.support.servers import LoopbackServer, legacy_tls_server


def hosts_json(stdout: str) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = json.loads(stdout)["hosts"]
    return hosts


def verdicts(entry: dict[str, Any]) -> dict[str, str]:
    """The result of each check in the host's `checks` list, by check name."""
    return {c["check"]: c["result"] for c in entry["checks"]}


LEGACY = {"TLSv1": (ssl.TLSVersion.TLSv1, (1, 0)), "TLSv1.1": (ssl.TLSVersion.TLSv1_1, (1, 1))}


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost")


@pytest.fixture(scope="module", params=sorted(LEGACY))
def legacy(request: pytest.FixtureRequest, leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    with legacy_tls_server(leaf, LEGACY[request.param][0]) as server:
        server.protocol = request.param  # type: ignore[attr-defined]
        yield server


@pytest.mark.parametrize("min_tls", TLS_VERSIONS)
def test_legacy_server_against_every_min_tls(
    run: Run,
    legacy: LoopbackServer,
    leaf: trustme.LeafCert,
    tmp_path: Path,
    ca_pem: Path,
    min_tls: str,
) -> None:
    """At or above min_tls the host passes (exit 0); below it, exit 1 with tls-policy."""
    protocol: str = legacy.protocol  # type: ignore[attr-defined]
    pins = write_pins(
        tmp_path / "pins.toml",
        host("localhost", legacy.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
        defaults=f'min_tls = "{min_tls}"\n',
        ca=ca_pem,
    )
    result = run(["verify", "--pin-file", str(pins), "-o", "json", "--retries", "0"])
    entry = hosts_json(result.stdout)[0]
    assert entry["tls"]["version"] == protocol, entry["error"]
    allowed = LEGACY[protocol][1] >= tuple(int(p) for p in min_tls.split("."))
    if allowed:
        assert (result.exit_code, entry["status"], entry["ok"]) == (0, "pass", True), entry
        assert verdicts(entry)["tls-policy"] == "pass"
    else:
        assert (result.exit_code, entry["status"], entry["ok"]) == (1, "tls-policy", False)
        assert verdicts(entry)["tls-policy"] == "fail"
        lowest = {"TLSv1": "1.0", "TLSv1.1": "1.1"}[protocol]
        assert entry["error"] == (
            f"negotiated {protocol}, below min_tls = '{min_tls}'; set min_tls = "
            f'"{lowest}" for the host (or in [defaults]) to allow it'
        )
        # The policy alone failed: the chain and the pin were fine.
        assert (verdicts(entry)["chain"], verdicts(entry)["pins"]) == ("pass", "pass")


def test_legacy_server_in_plain_text(
    run: Run, legacy: LoopbackServer, leaf: trustme.LeafCert, tmp_path: Path, ca_pem: Path
) -> None:
    """The default min_tls (1.2) refuses both, and the line says what was negotiated."""
    protocol: str = legacy.protocol  # type: ignore[attr-defined]
    pins = write_pins(
        tmp_path / "pins.toml",
        host("localhost", legacy.port, spki_pin(leaf.cert_chain_pems[0])),
        ca=ca_pem,
    )
    result = run(["verify", "--pin-file", str(pins), "--retries", "0"])
    assert result.exit_code == 1
    assert f"tls-policy: negotiated {protocol}, below min_tls = '1.2'" in result.stdout
