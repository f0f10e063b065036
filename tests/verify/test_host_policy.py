"""min_tls and forward_secrecy set per host (SPEC.md section 6) override [defaults], the
failure says how to allow the session, and `add` warns when it pins a host verify will
fail on its TLS policy. Real loopback TLS servers capped at TLS 1.2."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.cli import Run
from tests.support.hosts import certs, spki
from tests.support.servers import LoopbackServer, server_context, tls_server

OTHER = "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="


@pytest.fixture(scope="module")
def rsa_leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)


@pytest.fixture
def tls12(rsa_leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    ctx = server_context(rsa_leaf)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_server(ctx) as server:
        yield server


@pytest.fixture
def rsa_kx(rsa_leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    """TLS 1.2 with RSA key exchange: no forward secrecy."""
    ctx = server_context(rsa_leaf)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")
    with tls_server(ctx) as server:
        yield server


def _pins(
    tmp: Path, ca_pem: Path, server: LoopbackServer, leaf: trustme.LeafCert, **kw: str
) -> Path:
    defaults = kw.get("defaults", "")
    host = kw.get("host", "")
    pin = spki(certs(leaf.cert_chain_pems)[0])
    path = tmp / "pins.toml"
    path.write_text(
        f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n{defaults}\n'
        f'[[hosts]]\nhost = "127.0.0.1"\nport = {server.port}\n{host}'
        f'pins = [{{ pin = "{pin}" }}, {{ pin = "{OTHER}", backup = true }}]\n'
    )
    return path


def _verify(run: Run, path: Path) -> tuple[int, dict[str, object]]:
    result = run(["verify", "--timeout", "5", "--pin-file", str(path), "-o", "json"])
    document = json.loads(result.stdout)
    return result.exit_code, document["hosts"][0]


def test_a_hosts_min_tls_is_stricter_than_the_default(
    run: Run, tmp_path: Path, ca_pem: Path, tls12: LoopbackServer, rsa_leaf: trustme.LeafCert
) -> None:
    """min_tls = "1.3" on the host fails a TLS 1.2 session that [defaults] allows, and the
    reason gives the fix."""
    path = _pins(tmp_path, ca_pem, tls12, rsa_leaf, host='min_tls = "1.3"\n')
    code, host = _verify(run, path)
    assert (code, host["status"]) == (1, "tls-policy")
    assert host["error"] == (
        "negotiated TLSv1.2, below min_tls = '1.3'; "
        'set min_tls = "1.2" for the host (or in [defaults]) to allow it'
    )


def test_a_hosts_min_tls_loosens_the_default(
    run: Run, tmp_path: Path, ca_pem: Path, tls12: LoopbackServer, rsa_leaf: trustme.LeafCert
) -> None:
    """The twin: [defaults] min_tls = "1.3" fails the host, its own min_tls = "1.2" passes it."""
    strict = _pins(tmp_path, ca_pem, tls12, rsa_leaf, defaults='min_tls = "1.3"\n')
    assert _verify(run, strict)[0] == 1
    loosened = _pins(
        tmp_path, ca_pem, tls12, rsa_leaf, defaults='min_tls = "1.3"\n', host='min_tls = "1.2"\n'
    )
    code, host = _verify(run, loosened)
    assert (code, host["status"]) == (0, "pass")


def test_a_hosts_forward_secrecy_overrides_the_default(
    run: Run, tmp_path: Path, ca_pem: Path, rsa_kx: LoopbackServer, rsa_leaf: trustme.LeafCert
) -> None:
    """forward_secrecy = false on one host allows its RSA key exchange; without it the host
    fails and the reason names the per-host fix."""
    path = _pins(tmp_path, ca_pem, rsa_kx, rsa_leaf)
    code, host = _verify(run, path)
    assert (code, host["status"]) == (1, "tls-policy")
    assert "set forward_secrecy = false for the host (or in [defaults])" in str(host["error"])
    allowed = _pins(tmp_path, ca_pem, rsa_kx, rsa_leaf, host="forward_secrecy = false\n")
    assert _verify(run, allowed)[0] == 0


def test_a_bad_per_host_min_tls_names_its_line(run: Run, tmp_path: Path) -> None:
    """min_tls = 1.3 unquoted on a host is an error naming the line and the quoting fix."""
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n[[hosts]]\nhost = "a.test"\nmin_tls = 1.3\npins = [{{ pin = "{OTHER}" }}]\n'
    )
    result = run(["verify", "--pin-file", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f'pinctl: error: {path}:4: min_tls must be one of "1.0", "1.1", "1.2", "1.3", '
        'not the float 1.3 (quote it: min_tls = "1.3")\n'
    )


def test_add_warns_when_verify_will_fail_the_tls_policy(
    run: Run, tmp_path: Path, ca_pem: Path, tls12: LoopbackServer
) -> None:
    """Pinning a TLS 1.2 host under [defaults] min_tls = "1.3" adds the pins and warns."""
    path = tmp_path / "pins.toml"
    path.write_text(f'version = 1\n[defaults]\nca_file = "{ca_pem}"\nmin_tls = "1.3"\n')
    result = run(["add", "--timeout", "5", "--pin-file", str(path), tls12.address])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(
        f"pinctl: warning: {tls12.address}: pinned, but verify will fail it: "
        "negotiated TLSv1.2, below min_tls = '1.3'"
    )


def test_add_does_not_warn_when_the_policy_holds(
    run: Run, tmp_path: Path, ca_pem: Path, tls12: LoopbackServer
) -> None:
    """The twin: under the default min_tls = "1.2" the same host is pinned without a warning."""
    path = tmp_path / "pins.toml"
    path.write_text(f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n')
    result = run(["add", "--timeout", "5", "--pin-file", str(path), tls12.address])
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
