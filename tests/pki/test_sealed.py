"""Reopening encrypted keys gives back exactly the plaintext openssl would have decrypted."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pinctl.pki.sealed import pem_plaintext, pkcs8_plaintext

SECRET = b"correct horse battery staple"


def _plain(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_pbes2_plaintext_is_the_unencrypted_pkcs8(tmp_path: Path) -> None:
    """openssl's PBES2 envelope opens to the very PrivateKeyInfo `openssl pkcs8 -nocrypt` gives."""
    key = ec.generate_private_key(ec.SECP256R1())
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(key))
    sealed = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-v2", "aes-256-cbc", "-passout", f"pass:{SECRET.decode()}"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    assert pkcs8_plaintext(sealed, SECRET) == plain.read_bytes()


def test_legacy_pem_plaintext_is_the_unencrypted_key(tmp_path: Path) -> None:
    """A DEK-Info AES body opens to the DER of the same key, as `openssl ec` wrote it."""
    key = tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        check=True,
    )
    sealed = subprocess.run(
        ["openssl", "ec", "-in", str(key), "-aes128", "-passout", f"pass:{SECRET.decode()}"],
        check=True,
        capture_output=True,
    ).stdout
    body = sealed.split(b"-----\n", 1)[1].split(b"-----END", 1)[0]
    expected = subprocess.run(
        ["openssl", "ec", "-in", str(key), "-outform", "der"], check=True, capture_output=True
    ).stdout
    assert pem_plaintext(body, SECRET) == expected


def test_envelopes_it_does_not_know_are_left_to_cryptography() -> None:
    """The twin: a scrypt envelope, or no envelope at all, gives None rather than a guess."""
    import cryptography_vectors  # its scrypt-sealed Ed25519 key, written by openssl

    pem = (
        Path(cryptography_vectors.__file__).parent / "asymmetric/PKCS8/ed25519-scrypt.pem"
    ).read_bytes()
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    assert pkcs8_plaintext(base64.b64decode(body), b"hunter42") is None
    assert pkcs8_plaintext(_plain(ec.generate_private_key(ec.SECP256R1())), SECRET) is None
    assert pem_plaintext(b"MIIB\n", SECRET) is None
