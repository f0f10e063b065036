"""Reopening encrypted keys gives back exactly the plaintext openssl would have decrypted."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from pinctl.pki.sealed import Unopened, pem_plaintext, pkcs8_plaintext

SECRET = b"correct horse battery staple"


def _plain(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _spki(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    "envelope",
    [["-v2", "aes-256-cbc"], ["-v2", "des3"], ["-scrypt"], ["-v1", "PBE-SHA1-3DES"]],
    ids=["pbes2-aes", "pbes2-3des", "pbes2-scrypt", "pbes1-sha1-3des"],
)
def test_pkcs8_plaintext_is_the_unencrypted_pkcs8(tmp_path: Path, envelope: list[str]) -> None:
    """Each envelope openssl writes opens to the very PrivateKeyInfo that was sealed."""
    key = ec.generate_private_key(ec.SECP256R1())
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(key))
    sealed = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         *envelope, "-passout", f"pass:{SECRET.decode()}"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    assert pkcs8_plaintext(sealed, SECRET) == plain.read_bytes()


def test_legacy_pem_plaintext_is_the_unencrypted_key(tmp_path: Path) -> None:
    """A DEK-Info AES body opens to the DER of the same key, as `openssl ec` wrote it;
    with a stray character in its base64 it does not open."""
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
    # A stray character in the base64 is damage, not something to skip over.
    head, _, data = body.partition(b"\n\n")
    damaged = head + b"\n\n" + data[:8] + b"!" + data[8:]
    assert pem_plaintext(damaged, SECRET) == Unopened("PEM encryption AES-128-CBC")


@pytest.mark.parametrize(
    ("dek_info", "why"),
    [
        (b"AES-128-CBC,00112233", "PEM encryption AES-128-CBC"),
        (b"CAMELLIA-128-CBC,00112233445566778899AABBCCDDEEFF", "PEM encryption CAMELLIA-128-CBC"),
        (b"AES-128-CBC,not hex", "PEM encryption AES-128-CBC"),
    ],
    ids=["iv-too-short", "unknown-cipher", "iv-not-hex"],
)
def test_a_legacy_pem_body_pinctl_cannot_open_says_why(dek_info: bytes, why: str) -> None:
    """An IV shorter than the 8 bytes the key derivation salts with, a cipher pinctl does
    not know, an IV that is no hex: no plaintext is guessed, and the envelope is named."""
    body = b"Proc-Type: 4,ENCRYPTED\nDEK-Info: " + dek_info + b"\n\nAAAAAAAAAAAAAAAAAAAAAA==\n"
    unopened = pem_plaintext(body, SECRET)
    assert isinstance(unopened, Unopened)
    assert unopened.envelope == why


def test_scrypt_envelope_opens_to_the_unencrypted_key() -> None:
    """cryptography's scrypt-sealed Ed25519 vector, written by openssl, opens to its PKCS#8."""
    import cryptography_vectors

    pem = (
        Path(cryptography_vectors.__file__).parent / "asymmetric/PKCS8/ed25519-scrypt.pem"
    ).read_bytes()
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    plain = pkcs8_plaintext(base64.b64decode(body), b"hunter42")
    assert isinstance(plain, bytes)
    opened = serialization.load_der_private_key(plain, password=None).public_key()
    sealed = serialization.load_pem_private_key(pem, password=b"hunter42").public_key()
    assert _spki(opened) == _spki(sealed)
    assert isinstance(pkcs8_plaintext(base64.b64decode(body), b"hunter43"), Unopened)


def test_what_it_cannot_open_is_named_rather_than_guessed() -> None:
    """The twin: no envelope at all, or a damaged PEM body, is `Unopened`, never a plaintext."""
    assert isinstance(
        pkcs8_plaintext(_plain(ec.generate_private_key(ec.SECP256R1())), SECRET), Unopened
    )
    assert isinstance(pem_plaintext(b"MIIB\n", SECRET), Unopened)


@pytest.mark.parametrize(("iterations", "opens"), [(1, True), (2048, True), (2049, False)])
def test_a_pbes1_count_past_the_bound_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, iterations: int, opens: bool
) -> None:
    """A PBES1 envelope asking more iterations than the bound is left unopened rather than
    run (a file may ask for billions); exactly the bound is run, as is a single one. The
    bound (10 million, a few seconds of Python) is lowered here to keep the test fast."""
    from pinctl.pki import sealed

    monkeypatch.setattr(sealed, "_MAX_ITERATIONS", 2048)
    key = ec.generate_private_key(ec.SECP256R1())
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(key))
    sealed_der = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-v1", "PBE-SHA1-3DES", "-iter", str(iterations), "-passout", f"pass:{SECRET.decode()}"],
        check=True,
        capture_output=True,
    ).stdout  # fmt: skip
    opened = pkcs8_plaintext(sealed_der, SECRET)
    if opens:
        assert opened == plain.read_bytes()
    else:
        assert opened == Unopened("PBES1 pbeWithSHAAnd3-KeyTripleDES-CBC")


def _pbes1_envelope(tmp_path: Path) -> bytes:
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(ec.generate_private_key(ec.SECP256R1())))
    return subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-v1", "PBE-SHA1-3DES", "-passout", f"pass:{SECRET.decode()}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip


_PBES1 = "PBES1 pbeWithSHAAnd3-KeyTripleDES-CBC"
_PBE_3DES_OID = bytes.fromhex("2a864886f70d010c0103")
_PBES2_OID = bytes.fromhex("2a864886f70d01050d")


def _envelope(oid: bytes, params: bytes, sealed: bytes = b"\x00" * 48) -> bytes:
    from pinctl.pki.der import encode

    alg_id = encode(0x30, encode(0x06, oid) + params)
    return encode(0x30, alg_id + encode(0x04, sealed))


@pytest.mark.parametrize(
    ("case", "named"),
    [("pbes1-params-without-a-count", _PBES1), ("pbes1-empty-salt", _PBES1),
     ("pbes1-non-utf8-passphrase", _PBES1),
     ("pbes2-without-a-scheme", "an unreadable PBES2 envelope")],
)  # fmt: skip
def test_an_envelope_pinctl_cannot_reopen_is_named_not_guessed(
    tmp_path: Path, case: str, named: str
) -> None:
    """Damaged parameters, an empty salt (no openssl writes one) or a passphrase that is
    not UTF-8 (as openssl reads it) leave the key `Unopened`, named, and never raise:
    the twin, test_pkcs8_plaintext_is_the_unencrypted_pkcs8, opens openssl's envelopes."""
    from pinctl.pki.der import elements, encode

    secret = SECRET
    if case == "pbes2-without-a-scheme":
        pbkdf2 = encode(0x30, encode(0x06, bytes.fromhex("2a864886f70d01050c")))
        der = _envelope(_PBES2_OID, encode(0x30, pbkdf2))
    else:
        real = _pbes1_envelope(tmp_path)
        (_, alg_id, _), (_, _, sealed) = elements(real)
        (_, _, salt), (_, count, _) = elements(elements(alg_id)[1][1])
        if case == "pbes1-params-without-a-count":
            der = _envelope(_PBE_3DES_OID, encode(0x30, encode(0x04, salt)), sealed)
        elif case == "pbes1-empty-salt":
            der = _envelope(_PBE_3DES_OID, encode(0x30, encode(0x04, b"") + count), sealed)
        else:
            der, secret = real, b"\xff\xfe not UTF-8"
    assert pkcs8_plaintext(der, secret) == Unopened(named)


def _rebuilt(der: bytes, path: tuple[int, ...], extra: bytes) -> bytes:
    """`der` with `extra` appended inside the element at `path` (child indexes from the
    top), every enclosing length redone."""
    from pinctl.pki.der import elements, encode

    if not path:
        tag = der[0]
        return encode(tag, b"".join(whole for _, whole, _ in elements(der)) + extra)
    parts = elements(der)
    children = [whole for _, whole, _ in parts]
    children[path[0]] = _rebuilt(children[path[0]], path[1:], extra)
    return encode(der[0], b"".join(children))


def test_a_scrypt_envelope_stating_its_key_length_opens_too(tmp_path: Path) -> None:
    """RFC 7914 lets scrypt's parameters state the key length after N, r and p; an
    envelope that does (openssl reads it) opens like one that does not."""
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(ec.generate_private_key(ec.SECP256R1())))
    sealed = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-scrypt", "-scrypt_N", "1024", "-passout", f"pass:{SECRET.decode()}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    from pinctl.pki.der import encode

    # EncryptedPrivateKeyInfo > algorithm > PBES2 params > keyDerivationFunc > scrypt params
    stated = _rebuilt(sealed, (0, 1, 0, 1), encode(0x02, b"\x20"))
    assert len(stated) == len(sealed) + 3
    reads = subprocess.run(
        ["openssl", "pkcs8", "-inform", "der", "-in", "/dev/stdin", "-outform", "der",
         "-passin", f"pass:{SECRET.decode()}"],
        input=stated, check=True, capture_output=True,
    ).stdout  # fmt: skip
    key = serialization.load_der_private_key(plain.read_bytes(), None)
    assert _spki(serialization.load_der_private_key(reads, None).public_key()) == _spki(
        key.public_key()
    )  # openssl takes the stated length
    assert pkcs8_plaintext(stated, SECRET) == plain.read_bytes()


def test_a_pbkdf2_envelope_with_an_unknown_prf_is_left_unopened(tmp_path: Path) -> None:
    """PBKDF2 keyed by a PRF pinctl has no name for (here a made-up sibling of
    hmacWithSHA256) is left unopened, named, not guessed at or crashed on; the twin is
    openssl's own envelope, which opens."""
    plain = tmp_path / "plain.der"
    plain.write_bytes(_plain(ec.generate_private_key(ec.SECP256R1())))
    sealed = subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256", "-passout", f"pass:{SECRET.decode()}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert pkcs8_plaintext(sealed, SECRET) == plain.read_bytes()
    hmac_sha256 = bytes.fromhex("06082a864886f70d0209")
    assert sealed.count(hmac_sha256) == 1
    made_up = sealed.replace(hmac_sha256, bytes.fromhex("06082a864886f70d027f"))
    assert pkcs8_plaintext(made_up, SECRET) == Unopened("PBES2 (PBKDF2, AES-256-CBC)")
    once = subprocess.run(  # a single iteration is a count like any other
        ["openssl", "pkcs8", "-topk8", "-inform", "der", "-in", str(plain), "-outform", "der",
         "-v2", "aes-256-cbc", "-iter", "1", "-passout", f"pass:{SECRET.decode()}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert pkcs8_plaintext(once, SECRET) == plain.read_bytes()
