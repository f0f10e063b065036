"""`pinctl fetch` end to end on loopback: what users see on stdout, stderr and in the exit code."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pinctl.inspect.hosts import inspect_all
from pinctl.net.tls import ConnectOptions
from tests.support.proxy import connect_proxy
from tests.support.servers import (
    LoopbackServer,
    closed_port,
    hostile_server,
    ipv6_available,
    pem_context,
    server_context,
    sni_context,
    tls_server,
)

PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "SSL_CERT_FILE")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests decide about proxies themselves; the machine's settings must not leak in."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[LoopbackServer]:
    """A server for localhost and 127.0.0.1, leaf issued by the session CA."""
    with tls_server(server_context(ca.issue_cert("localhost", "127.0.0.1"))) as srv:
        yield srv


def load_all(pem: bytes | str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode() if isinstance(pem, str) else pem)


def spki_pin(cert: x509.Certificate, alg: str = "sha256") -> str:
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"{alg}/" + base64.b64encode(hashlib.new(alg, der).digest()).decode()


def cert_pin(cert: x509.Certificate) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def served(leaf: trustme.LeafCert) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(blob.bytes()) for blob in leaf.cert_chain_pems]


def test_trusted_chain_table(run: Any, any_ca: trustme.CA, tmp_path: Path) -> None:
    """With --ca-file, an RSA or EC leaf shows as trusted, with its pins and the store's anchor."""
    ca_file = tmp_path / "ca.pem"
    any_ca.cert_pem.write_to_path(str(ca_file))
    leaf = any_ca.issue_cert("localhost")
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "--ca-file", str(ca_file)])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith(f"localhost:{srv.port}  TLSv1.3  TLS_")
    assert spki_pin(served(leaf)[0]) in result.stdout
    assert cert_pin(served(leaf)[0]) in result.stdout
    assert "trust anchor (from the trust store, not served)" in result.stdout
    assert "validation: trusted, hostname matches" in result.stdout


def test_trusted_chain_with_a_name_mismatch_keeps_the_anchor(
    run: Any, ca: trustme.CA, ca_pem: Path
) -> None:
    """A chain that is trusted but names another host still shows the store's anchor, so
    its root pin is offered (table, json and pins); only the name fails."""
    leaf = ca.create_child_ca().issue_cert("other.test")
    root = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    with tls_server(server_context(leaf)) as srv:
        target = f"localhost:{srv.port}"
        table = run(["fetch", target, "--ca-file", str(ca_pem)])
        doc = run(["fetch", target, "--ca-file", str(ca_pem), "-o", "json"])
        pins = run(["fetch", target, "--ca-file", str(ca_pem), "-o", "pins"])
    assert (table.exit_code, doc.exit_code, pins.exit_code) == (0, 0, 0)
    assert "trust anchor (from the trust store, not served)" in table.stdout
    assert "validation: trusted, hostname does NOT match" in table.stdout
    (source,) = json.loads(doc.stdout)["sources"]
    assert (source["validation"]["trusted"], source["validation"]["hostname_match"]) == (
        True,
        False,
    )
    assert "name localhost not in the certificate" in source["validation"]["error"]
    assert [e["served"] for e in source["entries"]] == [True, True, False]
    assert source["entries"][-1]["spki"]["sha256"] == spki_pin(root)
    expected = [spki_pin(c) for c in [*served(leaf), root]]
    assert pins.stdout.splitlines() == expected


def test_a_name_mismatch_on_an_untrusted_chain_has_no_anchor(run: Any, ca: trustme.CA) -> None:
    """The twin: without a trusted path there is no anchor to show, only what was served."""
    leaf = ca.create_child_ca().issue_cert("other.test")
    with tls_server(server_context(leaf)) as srv:
        doc = run(["fetch", f"localhost:{srv.port}", "-o", "json"])
    (source,) = json.loads(doc.stdout)["sources"]
    assert source["validation"]["trusted"] is False
    assert [e["served"] for e in source["entries"]] == [True, True]


def test_untrusted_chain_is_reported_not_fatal(run: Any, any_ca: trustme.CA) -> None:
    """Against the system store the same chain is untrusted: reported with why, exit 0."""
    with tls_server(server_context(any_ca.issue_cert("localhost"))) as srv:
        result = run(["fetch", f"localhost:{srv.port}"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "validation: NOT trusted, hostname matches: unable to find the issuer" in result.stdout
    assert "trust anchor" not in result.stdout


def test_json_matches_spec(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """-o json has exactly SPEC section 3's and 14's keys and types, entries leaf first, anchor
    last."""
    leaf = ca.create_child_ca().issue_cert("localhost")
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "--ca-file", str(ca_pem), "-o", "json"])
    assert result.exit_code == 0
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert list(document) == ["sources"]
    (source,) = document["sources"]
    assert set(source) == {
        "source", "error", "tls", "validation", "entries", "stapled_ocsp", "revocation",
        "chain_remarks",
        "starttls",
    }  # fmt: skip
    assert (source["stapled_ocsp"], source["revocation"]) == (None, None), "no staple, off"
    assert source["source"] == f"localhost:{srv.port}"
    assert source["error"] is None
    assert source["tls"] == {
        "version": "TLSv1.3",
        "cipher": source["tls"]["cipher"],
        "group": source["tls"]["group"],
    }
    assert source["chain_remarks"] == []
    assert source["validation"] == {"trusted": True, "hostname_match": True, "error": None}
    chain = [*served(leaf), x509.load_pem_x509_certificate(ca_pem.read_bytes())]
    assert [e["index"] for e in source["entries"]] == [0, 1, 2]
    assert [e["served"] for e in source["entries"]] == [True, True, False]
    for entry, cert in zip(source["entries"], chain, strict=True):
        assert set(entry) == {
            "index", "kind", "served", "subject", "issuer", "serial",
            "not_before", "not_after", "key", "spki", "cert",
            "san", "signature_algorithm", "fingerprint_sha256",
        }  # fmt: skip
        assert entry["kind"] == "certificate"
        assert entry["subject"] == cert.subject.rfc4514_string()
        assert entry["issuer"] == cert.issuer.rfc4514_string()
        assert entry["serial"] == format(cert.serial_number, "X")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["not_before"])
        assert entry["not_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert entry["key"] == {"type": "ec", "bits": 256}
        assert entry["spki"] == {"sha256": spki_pin(cert)}
        assert entry["cert"] == {"sha256": cert_pin(cert)}


def test_json_failure_entry(run: Any, server: LoopbackServer) -> None:
    """A failed target appears in JSON with its error and no entries, in input order."""
    refused = f"127.0.0.1:{closed_port()}"
    result = run(["fetch", refused, f"127.0.0.1:{server.port}", "-o", "json"])
    assert result.exit_code == 3
    first, second = json.loads(result.stdout)["sources"]
    assert first["source"] == refused
    assert "connection refused" in first["error"]
    assert (first["tls"], first["validation"], first["entries"]) == (None, None, [])
    assert second["error"] is None
    assert second["entries"]
    assert result.stderr == f"pinctl: error: {refused}: {first['error']}\n"


def test_several_hashes(run: Any, server: LoopbackServer) -> None:
    """--hash is repeatable; every pin is given in each algorithm, in the order asked."""
    result = run(
        ["fetch", f"127.0.0.1:{server.port}", "--hash", "sha512", "--hash", "sha384", "-o", "json"]
    )
    entry = json.loads(result.stdout)["sources"][0]["entries"][0]
    assert list(entry["spki"]) == ["sha512", "sha384"]
    assert entry["spki"]["sha384"].startswith("sha384/")


def test_pins_output(run: Any, ca: trustme.CA) -> None:
    """-o pins prints one SPKI pin per line, leaf first, nothing else."""
    leaf = ca.create_child_ca().issue_cert("localhost")
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "-o", "pins"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [spki_pin(cert) for cert in served(leaf)]
    assert result.stderr == ""


def test_pem_output_is_the_served_chain(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """-o pem prints the chain as served, never the anchor taken from the store."""
    leaf = ca.create_child_ca().issue_cert("localhost")
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "--ca-file", str(ca_pem), "-o", "pem"])
    assert result.exit_code == 0
    assert load_all(result.stdout) == served(leaf)


def test_save_writes_the_served_chain(run: Any, ca: trustme.CA, tmp_path: Path) -> None:
    """--save writes the served chain as valid PEM, equal to what the server sent."""
    leaf = ca.create_child_ca().issue_cert("localhost")
    saved = tmp_path / "chain.pem"
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "--save", str(saved), "-o", "pins"])
    assert result.exit_code == 0
    assert load_all(saved.read_bytes()) == served(leaf)
    assert saved.read_text().count("-----BEGIN CERTIFICATE-----") == 2


def test_save_of_a_failed_target_writes_nothing(run: Any, tmp_path: Path) -> None:
    """--save for a target that cannot be reached leaves no file, and exits 3."""
    saved = tmp_path / "chain.pem"
    result = run(["fetch", f"127.0.0.1:{closed_port()}", "--save", str(saved)])
    assert result.exit_code == 3
    assert not saved.exists()


def test_save_takes_one_target(run: Any, server: LoopbackServer, tmp_path: Path) -> None:
    """--save with several targets is a usage error, and nothing is contacted."""
    target = f"127.0.0.1:{server.port}"
    result = run(["fetch", target, target, "--save", str(tmp_path / "c.pem")])
    assert result.exit_code == 2
    assert result.stderr.startswith("pinctl: error: --save writes one chain")
    assert server.connections == 0


def _self_signed_pems(
    name: str, subject: x509.Name | None = None, patch: tuple[bytes, bytes] = (b"", b"")
) -> tuple[bytes, bytes]:
    """A self-signed certificate for `name` (its SAN) and its key, as PEM; `patch` replaces
    bytes of the signed DER, to serve what no honest signer writes."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    if patch[0]:
        der = der.replace(*patch)
    body = base64.encodebytes(der).decode()
    cert_pem = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def _self_signed_context(name: str) -> tuple[Any, bytes]:
    cert_pem, key_pem = _self_signed_pems(name)
    return pem_context(cert_pem, key_pem), cert_pem


def test_self_signed(run: Any, tmp_path: Path) -> None:
    """A self-signed server is inspected and reported as such; trusted once it is the --ca-file."""
    ctx, cert_pem = _self_signed_context("localhost")
    ca_file = tmp_path / "self.pem"
    ca_file.write_bytes(cert_pem)
    with tls_server(ctx) as srv:
        untrusted = run(["fetch", f"localhost:{srv.port}", "-o", "json"])
        trusted = run(["fetch", f"localhost:{srv.port}", "-o", "json", "--ca-file", str(ca_file)])
    assert untrusted.exit_code == trusted.exit_code == 0
    bad = json.loads(untrusted.stdout)["sources"][0]
    assert bad["validation"] == {
        "trusted": False,
        "hostname_match": True,
        "error": "self-signed certificate not in the trust store",
    }
    good = json.loads(trusted.stdout)["sources"][0]
    assert good["validation"]["trusted"]
    assert [e["served"] for e in good["entries"]] == [True]


def test_expired(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """An expired leaf is shown with the day it expired, and fetch still exits 0."""
    expiry = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    leaf = ca.issue_cert("localhost", not_after=expiry)
    with tls_server(server_context(leaf)) as srv:
        result = run(["fetch", f"localhost:{srv.port}", "--ca-file", str(ca_pem)])
    assert result.exit_code == 0
    assert f"expired on {expiry:%Y-%m-%d}" in result.stdout
    assert "NOT trusted" in result.stdout


def test_wrong_hostname(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """A trusted chain for another name is trusted but fails the name check, with the names."""
    with tls_server(server_context(ca.issue_cert("localhost"))) as srv:
        good = run(["fetch", f"localhost:{srv.port}", "--ca-file", str(ca_pem), "-o", "json"])
        bad = run(
            [
                "fetch",
                f"127.0.0.1:{srv.port}",
                "--servername",
                "api.example.test",
                "--ca-file",
                str(ca_pem),
                "-o",
                "json",
            ]
        )
    assert json.loads(good.stdout)["sources"][0]["validation"]["hostname_match"]
    validation = json.loads(bad.stdout)["sources"][0]["validation"]
    assert validation == {
        "trusted": True,
        "hostname_match": False,
        "error": "name api.example.test not in the certificate (it is valid for localhost)",
    }


def test_ip_target_checks_the_ip_san(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """An IP target without --servername is checked against the leaf's IP SANs."""
    with tls_server(server_context(ca.issue_cert("127.0.0.1"))) as srv:
        ok = run(["fetch", f"127.0.0.1:{srv.port}", "--ca-file", str(ca_pem), "-o", "json"])
    with tls_server(server_context(ca.issue_cert("localhost"))) as srv:
        bad = run(["fetch", f"127.0.0.1:{srv.port}", "--ca-file", str(ca_pem), "-o", "json"])
    assert json.loads(ok.stdout)["sources"][0]["validation"]["hostname_match"]
    assert not json.loads(bad.stdout)["sources"][0]["validation"]["hostname_match"]


def test_sni_dependent_certificates(run: Any, ca: trustme.CA) -> None:
    """--servername picks the certificate an SNI-dependent server presents."""
    default_leaf, api_leaf = ca.issue_cert("default.test"), ca.issue_cert("api.test")
    ctx = sni_context(server_context(default_leaf), {"api.test": server_context(api_leaf)})
    with tls_server(ctx) as srv:
        api = run(["fetch", f"127.0.0.1:{srv.port}", "--servername", "api.test", "-o", "pins"])
        plain = run(["fetch", f"127.0.0.1:{srv.port}", "-o", "pins"])
    assert api.stdout.splitlines() == [spki_pin(served(api_leaf)[0])]
    assert plain.stdout.splitlines() == [spki_pin(served(default_leaf)[0])]


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """An [::1]:port target is fetched over IPv6 and labelled with brackets."""
    with tls_server(server_context(ca.issue_cert("::1")), host="::1") as srv:
        result = run(["fetch", f"[::1]:{srv.port}", "--ca-file", str(ca_pem), "-o", "json"])
    source = json.loads(result.stdout)["sources"][0]
    assert source["source"] == f"[::1]:{srv.port}"
    assert source["validation"]["trusted"]
    assert source["validation"]["hostname_match"]


def test_family_flags(run: Any, server: LoopbackServer) -> None:
    """-4 reaches an IPv4 server; -6 refuses an IPv4 address without dialling (exit 3)."""
    assert run(["fetch", "-4", f"localhost:{server.port}"]).exit_code == 0
    result = run(["fetch", "-6", f"127.0.0.1:{server.port}"])
    assert result.exit_code == 3
    assert "not an IPv6 address" in result.stderr
    assert server.connections == 1


def test_connect_to(run: Any, ca: trustme.CA, ca_pem: Path) -> None:
    """--connect-to dials the given address but names and checks the target host."""
    with tls_server(server_context(ca.issue_cert("api.example.test"))) as srv:
        result = run(
            [
                "fetch",
                "api.example.test",
                "--connect-to",
                f"127.0.0.1:{srv.port}",
                "--ca-file",
                str(ca_pem),
                "-o",
                "json",
            ]
        )
    assert result.exit_code == 0
    source = json.loads(result.stdout)["sources"][0]
    assert source["source"] == "api.example.test:443"
    assert source["validation"] == {"trusted": True, "hostname_match": True, "error": None}


def test_connect_to_nowhere(run: Any) -> None:
    """--connect-to a closed port fails for that target, named by its host, exit 3."""
    result = run(["fetch", "api.example.test", "--connect-to", f"127.0.0.1:{closed_port()}"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: api.example.test:443: connection refused")


def test_url_target(run: Any, server: LoopbackServer) -> None:
    """A URL target is reduced to its host and port; the path is ignored."""
    result = run(["fetch", f"https://localhost:{server.port}/some/path?q=1", "-o", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["sources"][0]["source"] == f"localhost:{server.port}"


def test_bad_target_contacts_nothing(run: Any, server: LoopbackServer) -> None:
    """A bad TARGET among good ones is a usage error before any connection (exit 2)."""
    result = run(["fetch", f"127.0.0.1:{server.port}", "http://localhost/"])
    assert result.exit_code == 2
    assert result.stderr.startswith("pinctl: error: TARGET 'http://localhost/': unsupported scheme")
    assert result.stderr.count("\n") == 1
    assert server.connections == 0


def test_bad_ca_file_contacts_nothing(run: Any, server: LoopbackServer, tmp_path: Path) -> None:
    """An unusable --ca-file is exit 2 with the file named, before any connection."""
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    result = run(["fetch", f"127.0.0.1:{server.port}", "--ca-file", str(empty)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: --ca-file {empty} holds no certificates; "
        "it must be a PEM bundle of trusted roots\n"
    )
    assert server.connections == 0


def test_proxy_option(run: Any, server: LoopbackServer) -> None:
    """--proxy sends the connection through HTTP CONNECT; the proxy saw the request."""
    with connect_proxy() as (url, log):
        result = run(["fetch", f"localhost:{server.port}", "--proxy", url, "-o", "pins"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    assert log.connects == [f"localhost:{server.port}"]


def test_https_proxy_environment(run: Any, server: LoopbackServer) -> None:
    """HTTPS_PROXY is used by default, as curl does."""
    with connect_proxy() as (url, log):
        result = run(["fetch", f"127.0.0.1:{server.port}"], env={"HTTPS_PROXY": url})
    assert result.exit_code == 0
    assert log.connects == [f"127.0.0.1:{server.port}"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.0/8"])
def test_no_proxy_environment(run: Any, server: LoopbackServer, no_proxy: str) -> None:
    """NO_PROXY exempts a matching host: the connection goes direct, the proxy sees nothing."""
    with connect_proxy() as (url, log):
        env = {"https_proxy": url, "NO_PROXY": no_proxy}
        result = run(["fetch", f"127.0.0.1:{server.port}"], env=env)
    assert result.exit_code == 0
    assert log.requests == []


def test_empty_proxy_option_goes_direct(run: Any, server: LoopbackServer) -> None:
    """--proxy '' turns off a proxy set in the environment."""
    with connect_proxy() as (url, log):
        result = run(["fetch", f"127.0.0.1:{server.port}", "--proxy", ""], env={"HTTPS_PROXY": url})
    assert result.exit_code == 0
    assert log.requests == []


def test_refusing_proxy(run: Any, server: LoopbackServer) -> None:
    """A proxy that refuses CONNECT makes the target unreachable: exit 3, one line on stderr."""
    with connect_proxy(status=403) as (url, log):
        result = run(["fetch", f"127.0.0.1:{server.port}", "--proxy", url])
    assert result.exit_code == 3
    assert result.stderr == (
        f"pinctl: error: 127.0.0.1:{server.port}: proxy {url.removeprefix('http://')} refused "
        f"CONNECT to 127.0.0.1:{server.port}: HTTP/1.1 403 Refused by test proxy\n"
    )
    assert log.connects == [f"127.0.0.1:{server.port}"]
    assert server.connections == 0


def test_unsupported_proxy_from_environment(run: Any, server: LoopbackServer) -> None:
    """A SOCKS proxy in HTTPS_PROXY is a usage error naming the variable, nothing is dialled."""
    result = run(["fetch", f"127.0.0.1:{server.port}"], env={"HTTPS_PROXY": "socks5://p:1080"})
    assert result.exit_code == 2
    assert result.stderr.startswith("pinctl: error: HTTPS_PROXY 'socks5://p:1080': only http://")
    assert server.connections == 0


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("silent", "timed out after 1 s during the TLS handshake"),
        ("drip", "timed out after 1 s during the TLS handshake"),
        ("garbage", "the server does not speak TLS on this port"),
        ("reset", "connection reset by the peer during the TLS handshake"),
    ],
)
def test_hostile_servers(run: Any, mode: str, reason: str) -> None:
    """Each hostile peer ends within timeout + 1 s: exit 3, one error line, no traceback."""
    with hostile_server(mode, drip_interval=0.2) as srv:
        start = time.monotonic()
        result = run(["fetch", srv.address, "--timeout", "1"])
        elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"pinctl: error: {srv.address}: {reason}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_refused_port(run: Any) -> None:
    """A closed port exits 3 with the reason on one line."""
    port = closed_port()
    result = run(["fetch", f"127.0.0.1:{port}"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"pinctl: error: 127.0.0.1:{port}: connection refused when connecting to "
        f"127.0.0.1:{port}; is the port right?\n"
    )


def test_one_of_several_fails(run: Any, ca: trustme.CA) -> None:
    """When one target fails, the others are still shown, and the exit code is 3."""
    with (
        tls_server(server_context(ca.issue_cert("localhost"))) as one,
        tls_server(server_context(ca.issue_cert("localhost"))) as two,
        hostile_server("silent") as silent,
    ):
        start = time.monotonic()
        result = run(
            [
                "fetch",
                f"localhost:{one.port}",
                silent.address,
                f"localhost:{two.port}",
                "--timeout",
                "1",
            ]
        )
        elapsed = time.monotonic() - start
    assert result.exit_code == 3
    assert f"localhost:{one.port}  TLSv1.3" in result.stdout
    assert f"localhost:{two.port}  TLSv1.3" in result.stdout
    assert result.stdout.index(f"localhost:{one.port}") < result.stdout.index(f"{two.port}  TLS")
    assert result.stderr == (
        f"pinctl: error: {silent.address}: timed out after 1 s during the TLS handshake\n"
    )
    assert elapsed < 2.0  # concurrently: the silent host costs one timeout, not more


def test_inspect_all_keeps_input_order(ca: trustme.CA) -> None:
    """Concurrent inspection still reports targets in the order they were given."""
    from datetime import datetime, timezone

    from pinctl.net.targets import parse_target

    with tls_server(server_context(ca.issue_cert("localhost"))) as srv:
        targets = [parse_target(f"127.0.0.1:{srv.port}", servername=f"n{i}.test") for i in range(6)]
        targets.insert(2, parse_target(f"127.0.0.1:{closed_port()}"))
        now = datetime.now(timezone.utc)
        results = inspect_all(targets, ConnectOptions(timeout=2), [], ("sha256",), now)
    assert [r.source for r in results] == [t.label for t in targets]
    assert type(results[2]).__name__ == "SourceFailure"


def test_pins_equal_openssl(ca: trustme.CA, run: Any) -> None:
    """Every SPKI pin fetch reports equals the openssl s_client | x509 | pkey | dgst pipeline."""
    leaf = ca.create_child_ca(key_type=trustme.KeyType.RSA).issue_cert("localhost")
    with tls_server(server_context(leaf)) as srv:
        ours = run(["fetch", f"127.0.0.1:{srv.port}", "-o", "pins"]).stdout.splitlines()
        shown = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{srv.port}", "-showcerts"],
            input=b"",
            capture_output=True,
            check=True,
            timeout=20,
        ).stdout
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", shown, re.DOTALL
    )
    assert len(blocks) == 2
    theirs = []
    for block in blocks:
        pubkey = _openssl("x509", "-pubkey", "-noout", data=block)
        der = _openssl("pkey", "-pubin", "-outform", "der", data=pubkey)
        digest = _openssl("dgst", "-sha256", "-binary", data=der)
        theirs.append("sha256/" + _openssl("base64", data=digest).decode().strip())
    assert ours == theirs


def _openssl(*args: str, data: bytes) -> bytes:
    return subprocess.run(
        ["openssl", *args], input=data, capture_output=True, check=True, timeout=20
    ).stdout


def test_entry_point_subprocess(server: LoopbackServer) -> None:
    """The installed entry point fetches a live chain and pipes plain pins."""
    done = subprocess.run(
        [sys.executable, "-m", "pinctl", "fetch", f"127.0.0.1:{server.port}", "-o", "pins"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"sha256/[A-Za-z0-9+/]{43}=\n", done.stdout)
    assert done.stderr == ""


def test_inspect_all_reraises_errors_from_workers(server: LoopbackServer) -> None:
    """An error that is not a connection failure surfaces in the caller, not lost in a thread."""
    from datetime import datetime, timezone

    from pinctl.errors import UsageError
    from pinctl.net.targets import Target, parse_target

    def options(target: Target) -> ConnectOptions:
        if target.servername == "bad.test":
            raise UsageError("bad proxy for bad.test")
        return ConnectOptions(timeout=2)

    targets = [
        parse_target(f"127.0.0.1:{server.port}", servername=name)
        for name in ("a.test", "bad.test", "c.test")
    ]
    with pytest.raises(UsageError, match=r"bad proxy for bad\.test"):
        inspect_all(targets, options, [], ("sha256",), datetime.now(timezone.utc))


@pytest.mark.parametrize(("no_proxy", "proxied"), [("", True), ("127.0.0.1", False)])
def test_proxy_with_connect_to(
    run: Any, ca: trustme.CA, ca_pem: Path, no_proxy: str, proxied: bool
) -> None:
    """Through a proxy, --connect-to is the CONNECT authority; NO_PROXY may name it to go direct."""
    with (
        tls_server(server_context(ca.issue_cert("api.example.test"))) as srv,
        connect_proxy() as (url, log),
    ):
        args = ["fetch", "api.example.test", "--connect-to", f"127.0.0.1:{srv.port}"]
        args += ["--ca-file", str(ca_pem), "-o", "json"]
        result = run(args, env={"HTTPS_PROXY": url, "NO_PROXY": no_proxy})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["sources"][0]["validation"]["hostname_match"]
    assert log.connects == ([f"127.0.0.1:{srv.port}"] if proxied else [])


def test_a_certificate_only_openssl_accepts_is_a_tls_error(run: Any, ca: trustme.CA) -> None:
    """A served certificate cryptography cannot parse fails that target; the others still show."""
    leaf = ca.issue_cert("localhost")
    der = bytearray(
        x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    at = der.find(b"\x01\x01\xff")  # the first critical = TRUE of an extension
    assert at > 0
    der[at + 2] = 0x01  # still TRUE to OpenSSL, not valid DER to cryptography
    body = base64.encodebytes(bytes(der)).decode()
    odd_pem = f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()
    with (
        tls_server(pem_context(odd_pem, leaf.private_key_pem.bytes())) as odd,
        tls_server(server_context(leaf)) as good,
    ):
        result = run(["fetch", "-o", "pins", f"localhost:{odd.port}", f"localhost:{good.port}"])
    assert result.exit_code == 3
    assert "internal error" not in result.stderr
    assert f"localhost:{odd.port}: the server sent a certificate that cannot be parsed" in (
        result.stderr
    )
    assert result.stdout.count("sha256/") == 1


def _undecodable_name() -> tuple[bytes, bytes]:
    """A self-signed localhost certificate (PEM) and its key, whose organizationName is an
    IA5String holding the byte 0xFF: OpenSSL loads and serves it, cryptography refuses
    the name only when it is first read."""
    from cryptography.x509.name import _ASN1Type

    odd = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zq", _type=_ASN1Type.IA5String)
    return _self_signed_pems("localhost", x509.Name([odd]), (b"zq", b"z\xff"))


def test_a_served_name_cryptography_cannot_decode_is_a_tls_error(
    run: Any, tmp_path: Path, ca: trustme.CA
) -> None:
    """fetch and verify name the fault of the server (exit 3), never an internal error; the
    same certificate saved and judged with --chain is a file error naming its line (exit 2).
    The twin, a server with a readable name, is fetched."""
    pem, key = _undecodable_name()
    pins = tmp_path / "pins.toml"
    with (
        tls_server(pem_context(pem, key)) as odd,
        tls_server(server_context(ca.issue_cert("localhost"))) as good,
    ):
        pins.write_text(
            f'version = 1\n[[hosts]]\nhost = "localhost"\nport = {odd.port}\n'
            'pins = [{ pin = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=" }]\n'
        )
        fetched = run(["fetch", "-o", "pins", f"localhost:{odd.port}", f"localhost:{good.port}"])
        verified = run(["verify", "--pin-file", str(pins)])
    reason = "the server sent a certificate that cannot be parsed (a name cannot be decoded: "
    assert fetched.exit_code == 3
    assert f"localhost:{odd.port}: {reason}" in fetched.stderr
    assert fetched.stdout.count("sha256/") == 1  # the good server's pins still show
    assert verified.exit_code == 3, verified.stdout
    assert f"localhost:{odd.port}  tls-error: {reason}" in verified.stdout
    assert "internal error" not in fetched.stderr + verified.stdout + verified.stderr
    saved = tmp_path / "chain.pem"
    saved.write_bytes(pem)
    judged = run(["verify", "--pin-file", str(pins), "--chain", str(saved)])
    assert judged.exit_code == 2
    reason = "(a name cannot be decoded: DER invalid value in subject)"
    assert judged.stderr == f"pinctl: error: --chain {saved}:1: unreadable certificate {reason}\n"
    # The same as a trust store, and as one DER certificate: refused the same way.
    good_chain = tmp_path / "good.pem"
    good_chain.write_bytes(ca.issue_cert("localhost").cert_chain_pems[0].bytes())
    store = run(
        ["verify", "--pin-file", str(pins), "--chain", str(good_chain), "--ca-file", str(saved)]
    )
    assert store.exit_code == 2
    assert f"--ca-file {saved}:1: unreadable certificate {reason}" in store.stderr
    der = tmp_path / "chain.der"
    der.write_bytes(x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))
    one = run(["verify", "--pin-file", str(pins), "--chain", str(der)])
    assert one.stderr == f"pinctl: error: --chain {der}: unreadable DER certificate {reason}\n"


@pytest.mark.parametrize(
    ("no_proxy", "code", "stderr"),
    [
        ("127.0.0.1", 0, ""),
        (
            "",
            2,
            "pinctl: error: HTTPS_PROXY 'http://[::1:3128': the proxy host has an unclosed "
            "'['; write an IPv6 proxy as http://[addr]:port\n",
        ),
    ],
)
def test_malformed_https_proxy_matters_only_to_a_target_that_uses_it(
    run: Any,
    server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
    code: int,
    stderr: str,
) -> None:
    """A malformed HTTPS_PROXY (curl's rule) breaks only runs that would use it: a target
    NO_PROXY exempts is fetched; one that would go through it is a usage error naming it."""
    monkeypatch.setenv("HTTPS_PROXY", "http://[::1:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    result = run(["fetch", f"127.0.0.1:{server.port}", "-o", "pins"])
    assert (result.exit_code, result.stderr) == (code, stderr)
    assert result.stdout.startswith("sha256/") is (code == 0)


def _duplicated_san_servers(tmp_path: Path) -> tuple[Path, bytes, bytes, bytes]:
    """A root file; a chain whose second certificate has two SANs; a well-formed chain; a key.

    OpenSSL refuses to load such a certificate as a server's own, so it is served where a
    misconfigured server really sends one: after the leaf, in the chain.
    """
    from tests.support import malformed
    from tests.support.pki import issue

    root, root_key = issue("Faulty Root")
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    dup_der, _ = malformed.duplicated_san("other.test", root.subject, root_key)
    good, key = malformed.leaf("localhost", root.subject, root_key)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    good_pem = good.public_bytes(serialization.Encoding.PEM)
    return ca_file, good_pem + malformed.pem(dup_der), good_pem, key_pem


def test_a_certificate_with_a_duplicated_extension_fails_only_its_target(
    run: Any, tmp_path: Path
) -> None:
    """`fetch A B` where A serves a certificate with two SANs: A untrusted and why, B trusted."""
    ca_file, dup_chain, good_chain, key = _duplicated_san_servers(tmp_path)
    with (
        tls_server(pem_context(dup_chain, key)) as dup,
        tls_server(pem_context(good_chain, key)) as good,
    ):
        result = run(
            ["fetch", "-o", "json", "--ca-file", str(ca_file),
             f"localhost:{dup.port}", f"localhost:{good.port}"]
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    bad_source, good_source = json.loads(result.stdout)["sources"]
    assert len(bad_source["entries"]) == 2  # still described, pins and all
    assert not bad_source["validation"]["trusted"]
    assert "duplicated extension (2.5.29.17)" in bad_source["validation"]["error"]
    assert good_source["validation"] == {"trusted": True, "hostname_match": True, "error": None}


def test_add_refuses_a_chain_with_a_duplicated_extension_cleanly(run: Any, tmp_path: Path) -> None:
    """`add` refuses the two-SAN chain with one clean line and writes nothing; the good one adds."""
    ca_file, dup_chain, good_chain, key = _duplicated_san_servers(tmp_path)
    pins = tmp_path / "pins.toml"
    with (
        tls_server(pem_context(dup_chain, key)) as dup,
        tls_server(pem_context(good_chain, key)) as good,
    ):
        common = ["add", "--pin-file", str(pins), "--ca-file", str(ca_file)]
        refused = run([*common, f"localhost:{dup.port}"])
        assert not pins.exists()
        added = run([*common, f"localhost:{good.port}"])
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"pinctl: error: localhost:{dup.port}: refusing to pin")
    assert "duplicated extension" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert added.exit_code == 0, added.stderr
    assert "sha256/" in pins.read_text()


def test_a_served_certificate_dated_year_zero_is_shown_not_a_crash(
    run: Any, tmp_path: Path
) -> None:
    """A chain carrying a notAfter in year 0000 is fetched: the date shown, the chain expired."""
    from tests.support import malformed

    issuer, issuer_key = malformed.self_signed_key()
    leaf, key = malformed.leaf("localhost", issuer, issuer_key)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + malformed.pem(malformed.year_zero())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(malformed.pem(malformed.year_zero()))
    with tls_server(pem_context(chain, key_pem)) as srv:
        result = run(["fetch", "-o", "json", "--ca-file", str(ca_file), f"localhost:{srv.port}"])
        text = run(["fetch", "--ca-file", str(ca_file), f"localhost:{srv.port}"])
    assert result.exit_code == 0, result.stderr
    source = json.loads(result.stdout)["sources"][0]
    assert source["entries"][1]["not_after"] == "0000-01-01T00:00:00Z"
    assert not source["validation"]["trusted"]
    assert text.exit_code == 0, text.stderr
    assert "to 0000-01-01 00:00:00 UTC (expired" in text.stdout
