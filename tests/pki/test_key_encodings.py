"""Pins of keys whose encoding cryptography would change: hashed as carried, like openssl."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import Run
from tests.support.judges import openssl


def _self_signed(tmp_path: Path, key: Path, name: str) -> Path:
    cert = tmp_path / f"{name}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            str(key),
            "-subj",
            f"/CN={name}",
            "-days",
            "2",
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert


def _pin(run: Run, path: Path) -> str:
    result = run(["pin", "-o", "json", str(path)])
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["sources"][0]["entries"][0]["spki"]["sha256"])


def _openssl_spki_pin(cert: Path) -> str:
    """openssl's own DER of the certificate's key, as `x509 -pubkey` prints it."""
    pem = openssl("x509", "-in", str(cert), "-pubkey", "-noout")
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    digest = openssl("dgst", "-sha256", "-binary", data=base64.b64decode(body))
    return "sha256/" + base64.b64encode(digest).decode()


def test_compressed_ec_point_is_pinned_as_served(tmp_path: Path, run: Run) -> None:
    """A certificate with a compressed EC point pins to openssl's value, not a re-encoding."""
    key = tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
    )
    compressed = tmp_path / "kc.pem"
    subprocess.run(
        ["openssl", "ec", "-in", str(key), "-conv_form", "compressed", "-out", str(compressed)],
        check=True,
        capture_output=True,
    )
    cert = _self_signed(tmp_path, compressed, "compressed")
    point = openssl("x509", "-in", str(cert), "-noout", "-text")
    if (
        b"pub:\n                    02" not in point
        and b"pub:\n                    03" not in point
    ):
        pytest.skip("this openssl wrote an uncompressed point into the certificate")
    assert _pin(run, cert) == _openssl_spki_pin(cert)
    assert "spki*" not in run(["pin", str(cert)]).stdout  # no re-encoded second pin either
    # A CSR for the same key carries the same compressed point, and pins to it as well.
    csr = tmp_path / "compressed.csr"
    openssl("req", "-new", "-key", str(compressed), "-subj", "/CN=compressed", "-out", str(csr))
    spki = openssl("req", "-in", str(csr), "-noout", "-pubkey")
    body = b"".join(line for line in spki.splitlines() if not line.startswith(b"-----"))
    digest = openssl("dgst", "-sha256", "-binary", data=base64.b64decode(body))
    assert _pin(run, csr) == "sha256/" + base64.b64encode(digest).decode() == _pin(run, cert)
    # So does the key itself, as SEC1 and as PKCS#8 (whose inner key omits the curve).
    pkcs8 = tmp_path / "kc8.pem"
    openssl("pkey", "-in", str(compressed), "-out", str(pkcs8))
    assert _pin(run, compressed) == _pin(run, pkcs8) == _pin(run, cert)


def test_rsa_pss_key_is_pinned_as_served(tmp_path: Path, run: Run) -> None:
    """An RSA-PSS certificate's SPKI keeps its parameters in the pin, as openssl hashes it,
    and so does the private key's file."""
    key = tmp_path / "pss.key"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA-PSS",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-pkeyopt",
            "rsa_pss_keygen_md:sha256",
            "-out",
            str(key),
        ],
        check=True,
        capture_output=True,
    )
    cert = _self_signed(tmp_path, key, "pss")
    assert _pin(run, cert) == _openssl_spki_pin(cert)
    # The private key file itself pins the same: its stated identifier, parameters and all.
    assert _pin(run, key) == _openssl_spki_pin(cert)


def test_a_pkcs8_key_with_attributes_is_pinned_as_openssl_does(tmp_path: Path, run: Run) -> None:
    """PKCS#8 may carry attributes after the key ([0], as NSS and Java keytool write a
    friendlyName): an RSA-PSS key so written still pins to its stated SPKI, the one
    `openssl pkey -pubout` gives, not cryptography's rsaEncryption re-encoding."""
    from pinctl.pki.der import elements, encode

    key = tmp_path / "pss.key"
    options = ["-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_pss_keygen_md:sha256"]
    openssl("genpkey", "-algorithm", "RSA-PSS", *options, "-outform", "DER", "-out", str(key))
    friendly = encode(0x31, encode(0x1E, "k".encode("utf-16-be")))
    attribute = encode(0x30, bytes.fromhex("06092a864886f70d010914") + friendly)
    parts = b"".join(whole for _, whole, _ in elements(key.read_bytes()))
    with_attributes = tmp_path / "pss-attributes.der"
    with_attributes.write_bytes(encode(0x30, parts + encode(0xA0, attribute)))
    spki = openssl("pkey", "-inform", "DER", "-in", str(with_attributes), "-pubout",
                   "-outform", "DER")  # fmt: skip
    digest = openssl("dgst", "-sha256", "-binary", data=spki)
    assert _pin(run, with_attributes) == "sha256/" + base64.b64encode(digest).decode()


def test_public_key_file_is_hashed_as_written(tmp_path: Path, run: Run) -> None:
    """A SubjectPublicKeyInfo file with a compressed point is hashed byte for byte."""
    key = tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
    )
    pub = tmp_path / "pub.der"
    subprocess.run(
        [
            "openssl",
            "ec",
            "-in",
            str(key),
            "-pubout",
            "-conv_form",
            "compressed",
            "-outform",
            "der",
            "-out",
            str(pub),
        ],
        check=True,
        capture_output=True,
    )
    digest = openssl("dgst", "-sha256", "-binary", data=pub.read_bytes())
    assert _pin(run, pub) == "sha256/" + base64.b64encode(digest).decode()
