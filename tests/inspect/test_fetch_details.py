"""fetch shows what inspectors show (SPEC.md section 14), checked against openssl's own view
of the same certificates and sessions: SANs, signature algorithm, times to the second, the
colon-hex SHA-256 fingerprint, the key-exchange group, and remarks on the served chain."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.support.cli import Run
from tests.support.servers import pem_context, server_context, tls_server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _openssl(*args: str, data: bytes = b"") -> str:
    return subprocess.run(
        ["openssl", *args], input=data, capture_output=True, check=True, timeout=20
    ).stdout.decode()


def _fetch(run: Run, address: str, ca_pem: Path | None = None) -> dict[str, Any]:
    args = ["fetch", "--timeout", "5", address, "-o", "json"]
    result = run(args + (["--ca-file", str(ca_pem)] if ca_pem else []))
    assert result.exit_code == 0, result.stderr
    source: dict[str, Any] = json.loads(result.stdout)["sources"][0]
    return source


@pytest.mark.parametrize("key_type", [trustme.KeyType.ECDSA, trustme.KeyType.RSA])
def test_certificate_details_equal_openssls(
    run: Run, tmp_path: Path, key_type: trustme.KeyType
) -> None:
    """san, signature_algorithm, fingerprint_sha256 and the validity times of each served
    certificate are what `openssl x509` prints for it."""
    ca = trustme.CA(key_type=key_type)
    leaf = ca.create_child_ca(key_type=key_type).issue_cert(
        "localhost", "127.0.0.1", "admin@example.test", key_type=key_type
    )
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with tls_server(server_context(leaf)) as srv:
        source = _fetch(run, f"localhost:{srv.port}", ca_pem)
    served = [e for e in source["entries"] if e["served"]]
    assert len(served) == 2
    for entry, blob in zip(served, leaf.cert_chain_pems, strict=True):
        pem = blob.bytes()
        fingerprint = _openssl("x509", "-noout", "-fingerprint", "-sha256", data=pem)
        assert f"sha256 Fingerprint={entry['fingerprint_sha256']}" in fingerprint
        text = _openssl("x509", "-noout", "-text", data=pem)
        assert f"Signature Algorithm: {entry['signature_algorithm']}\n" in text
        dates = _openssl("x509", "-noout", "-startdate", "-enddate", data=pem)
        for field, key in (("notBefore", "not_before"), ("notAfter", "not_after")):
            stated = re.search(rf"{field}=(.+)", dates)
            assert stated is not None
            moment = datetime.strptime(stated[1].strip(), "%b %d %H:%M:%S %Y GMT")
            assert entry[key] == moment.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    sans = _openssl(
        "x509", "-noout", "-ext", "subjectAltName", data=leaf.cert_chain_pems[0].bytes()
    )
    theirs = [n.strip().replace("IP Address:", "IP:") for n in sans.splitlines()[1].split(",")]
    assert (
        served[0]["san"] == theirs == ["DNS:localhost", "IP:127.0.0.1", "email:admin@example.test"]
    )
    assert served[1]["san"] == []
    assert served[0]["signature_algorithm"] in ("ecdsa-with-SHA256", "sha256WithRSAEncryption")


def test_the_table_shows_the_same_details(run: Run, tmp_path: Path, ca: trustme.CA) -> None:
    """The plain table has each detail on its own labelled line, and the times to the second."""
    leaf = ca.issue_cert("localhost")
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with tls_server(server_context(leaf)) as srv:
        source = _fetch(run, f"localhost:{srv.port}", ca_pem)
        text = run(["fetch", "--ca-file", str(ca_pem), f"localhost:{srv.port}"]).stdout
    leaf_json = source["entries"][0]
    assert "      san       DNS:localhost\n" in text
    assert f"      signature {leaf_json['signature_algorithm']}\n" in text
    assert f"      sha256 fp {leaf_json['fingerprint_sha256']}\n" in text
    start = leaf_json["not_before"].replace("T", " ").removesuffix("Z")
    assert f"      validity  {start} to " in text
    assert text.splitlines()[0].endswith(f"  {source['tls']['group']}")


@pytest.mark.parametrize(
    ("curve", "maximum", "expected"),
    [(None, None, "X25519"), ("secp384r1", ssl.TLSVersion.TLSv1_2, "secp384r1")],
)
def test_the_key_exchange_group_equals_openssls(
    run: Run, ca: trustme.CA, curve: str | None, maximum: ssl.TLSVersion | None, expected: str
) -> None:
    """tls.group is the group `openssl s_client` reports as the server's temporary key."""
    ctx = server_context(ca.issue_cert("127.0.0.1"))
    if curve is not None:
        ctx.set_ecdh_curve(curve)
    if maximum is not None:
        ctx.maximum_version = maximum
    with tls_server(ctx) as srv:
        ours = _fetch(run, srv.address)["tls"]["group"]
        shown = subprocess.run(
            ["openssl", "s_client", "-connect", srv.address],
            input=b"",
            capture_output=True,
            timeout=20,
            check=False,
        ).stdout.decode()
    temp_key = re.search(r"Server Temp Key: (.+)", shown)
    assert temp_key is not None, shown
    assert ours == expected
    assert expected in temp_key[1].split(", ")


def test_rsa_key_exchange_has_no_group(run: Run) -> None:
    """The twin: a TLS 1.2 session with RSA key exchange has no group (null)."""
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "127.0.0.1", key_type=trustme.KeyType.RSA
    )
    ctx = server_context(leaf)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-GCM-SHA256")
    with tls_server(ctx) as srv:
        assert _fetch(run, srv.address)["tls"]["group"] is None


class Chains:
    """A root, an intermediate, a leaf under it, and an unrelated certificate, as PEM."""

    def __init__(self, tmp_path: Path) -> None:
        self.ca = trustme.CA()
        leaf = self.ca.create_child_ca().issue_cert("localhost")
        self.leaf, self.intermediate = (blob.bytes() for blob in leaf.cert_chain_pems)
        self.key = leaf.private_key_pem.bytes()
        self.root = self.ca.cert_pem.bytes()
        self.stranger = trustme.CA().cert_pem.bytes()
        self.ca_pem = tmp_path / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))

    def source(self, run: Run, *chain: bytes) -> dict[str, Any]:
        with tls_server(pem_context(b"".join(chain), self.key)) as srv:
            fetched: dict[str, Any] = _fetch(run, f"localhost:{srv.port}", self.ca_pem)
        return fetched

    def remarks(self, run: Run, *chain: bytes) -> list[str]:
        with tls_server(pem_context(b"".join(chain), self.key)) as srv:
            source = _fetch(run, f"localhost:{srv.port}", self.ca_pem)
        remarks: list[str] = source["chain_remarks"]
        return remarks


@pytest.fixture
def chains(tmp_path: Path) -> Chains:
    return Chains(tmp_path)


def test_a_clean_chain_has_no_remarks(run: Run, chains: Chains) -> None:
    """Leaf then its issuer, no anchor, nothing extra: chain_remarks is []."""
    assert chains.remarks(run, chains.leaf, chains.intermediate) == []


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (
            ("leaf", "intermediate", "root"),
            ["certificate [2] is the trust anchor; clients need not be sent it"],
        ),
        (
            ("leaf", "intermediate", "intermediate"),
            ["certificate [2] is a duplicate of [1]"],
        ),
        (
            ("leaf", "intermediate", "intermediate", "root"),
            [
                "certificate [2] is a duplicate of [1]",
                "certificate [3] is the trust anchor; clients need not be sent it",
            ],
        ),
        (
            ("leaf", "stranger", "intermediate"),
            ["certificate [1] is not part of the validated path (unneeded)"],
        ),
        (
            ("leaf", "root", "intermediate"),
            [
                "certificates are out of order: each should be followed by its issuer",
                "certificate [1] is the trust anchor; clients need not be sent it",
            ],
        ),
    ],
)
def test_remarks_on_the_served_chain(
    run: Run, chains: Chains, order: tuple[str, ...], expected: list[str]
) -> None:
    """A sent anchor, a duplicate, a certificate off the path, and the wrong order are each
    remarked on, and the chain is still shown."""
    assert chains.remarks(run, *(getattr(chains, name) for name in order)) == expected


@pytest.mark.parametrize("shape", ["leaf-under-the-root", "self-signed"])
def test_a_two_certificate_path_remarks_the_sent_root_and_a_self_signed_leaf_is_not(
    run: Run, tmp_path: Path, shape: str
) -> None:
    """A leaf issued by the root itself, sent with the root: the root is remarked as the
    anchor clients need not be sent. A self-signed server certificate, trusted as its own
    anchor, must be sent, and is not remarked."""
    from cryptography.hazmat.primitives import serialization

    from tests.support.pki import issue

    ca_pem = tmp_path / "ca.pem"
    pem = serialization.Encoding.PEM
    if shape == "self-signed":
        cert, key = issue("localhost", sans=["localhost"])
        chain, expected = cert.public_bytes(pem), []
        ca_pem.write_bytes(chain)
    else:
        root, root_key = issue("Root")
        cert, key = issue("leaf", (root, root_key), sans=["localhost"])
        chain = cert.public_bytes(pem) + root.public_bytes(pem)
        expected = ["certificate [1] is the trust anchor; clients need not be sent it"]
        ca_pem.write_bytes(root.public_bytes(pem))
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tls_server(pem_context(chain, key_pem)) as srv:
        source = _fetch(run, f"localhost:{srv.port}", ca_pem)
    assert source["validation"]["trusted"], source["validation"]
    assert source["chain_remarks"] == expected


@pytest.mark.parametrize("sent", [True, False], ids=["root-sent", "root-not-sent"])
def test_the_anchor_is_listed_once_whether_or_not_it_was_sent(
    run: Run, chains: Chains, sent: bool
) -> None:
    """A root the server sends is its own row; one it does not send is added after the
    chain, marked as not served: either way the anchor is there exactly once."""
    chain = (chains.leaf, chains.intermediate, *((chains.root,) if sent else ()))
    entries = chains.source(run, *chain)["entries"]
    assert [e["served"] for e in entries] == [True, True, sent]


@pytest.mark.parametrize(
    ("order", "out_of_order"),
    [
        (("leaf", "intermediate"), False),
        (("leaf", "stranger", "intermediate"), True),  # the issuer comes, but late
        (("leaf", "intermediate", "stranger"), False),  # an extra at the end: still in order
        (("leaf", "intermediate", "root", "stranger"), False),  # a self-signed root is no loop
    ],
)
def test_an_untrusted_chain_is_judged_on_its_order_alone(
    run: Run, chains: Chains, order: tuple[str, ...], out_of_order: bool
) -> None:
    """Without a trusted path (no --ca-file: the store does not know this CA), a chain is
    out of order when a certificate's issuer is sent, but not right after it."""
    chain = [getattr(chains, name) for name in order]
    with tls_server(pem_context(b"".join(chain), chains.key)) as srv:
        remarks = _fetch(run, f"localhost:{srv.port}")["chain_remarks"]
    ordered = "certificates are out of order: each should be followed by its issuer"
    assert (ordered in remarks) == out_of_order
