"""Where a key's SubjectPublicKeyInfo comes from when the input is not a certificate.

A pin hashes the SPKI bytes, so it must be the SPKI that openssl (`pkey -pubout`) and
the key's own certificate carry. Re-deriving the public key through cryptography loses
what it does not model: the RSA-PSS algorithm identifier and its parameters, explicit EC
curve parameters, the point form. So the SPKI is rebuilt from the private key's own
encoding (its algorithm identifier and public key), and cryptography only fills in what
the file does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pinctl.pki.der import SEQUENCE, elements, encode, oid_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_INTEGER, _BIT_STRING, _OCTET_STRING, _OID = 0x02, 0x03, 0x04, 0x06
_EC = bytes.fromhex("2a8648ce3d0201")
_RSA = bytes.fromhex("2a864886f70d010101")
_PSS = bytes.fromhex("2a864886f70d01010a")
_NAMES = {
    _EC: "ec",
    _RSA: "rsa",
    _PSS: "rsa-pss",
    bytes.fromhex("2a8648ce380401"): "dsa",
    bytes.fromhex("2a864886f70d010301"): "dh",
    bytes.fromhex("2a8648ce3e0201"): "dh",
    bytes.fromhex("2b656e"): "x25519",
    bytes.fromhex("2b656f"): "x448",
    bytes.fromhex("2b6570"): "ed25519",
    bytes.fromhex("2b6571"): "ed448",
}
COMPUTED = "public key computed from the private key (the file holds none), as openssl does"


@dataclass(frozen=True)
class KeySpki:
    """The SPKI of a private key, and how it was had when the file did not state it."""

    der: bytes | None
    """None when cryptography's encoding of the public key is already the one openssl gives."""
    note: str | None = None


@dataclass(frozen=True)
class SpkiAlgorithm:
    """What an SPKI says its key is, read without loading the key."""

    oid: str
    name: str | None
    """pinctl's short name for the algorithm, None when it has none."""
    curve: str | None
    """For EC: the named curve's OID, or ``explicit parameters``."""


def algorithm(spki: bytes) -> SpkiAlgorithm:
    """The algorithm of a well-formed SPKI; ValueError when it is not one."""
    parts = elements(spki)
    if [tag for tag, _, _ in parts] != [SEQUENCE, _BIT_STRING]:
        raise ValueError("not a SubjectPublicKeyInfo")
    alg = elements(parts[0][1])
    if not alg or alg[0][0] != _OID or len(alg) > 2:
        raise ValueError("not an AlgorithmIdentifier")
    oid = alg[0][2]
    curve = None
    if oid == _EC and len(alg) == 2:
        curve = oid_text(alg[1][2]) if alg[1][0] == _OID else "explicit parameters"
    return SpkiAlgorithm(oid_text(oid), _NAMES.get(oid), curve)


def is_pkcs1_public(der: bytes) -> bool:
    """True for a bare RSAPublicKey (PKCS#1), which is no SPKI and must be wrapped in one."""
    try:
        parts = elements(der)
    except ValueError:
        return False
    return [tag for tag, _, _ in parts] == [_INTEGER, _INTEGER]


def private_key_spki(der: bytes, public_key: PublicKeyTypes) -> KeySpki:
    """The SPKI of an unencrypted PKCS#8 or SEC1 private key, as its encoding states it."""
    try:
        parts = elements(der)
        tags = [tag for tag, _, _ in parts]
        if tags[:3] == [_INTEGER, SEQUENCE, _OCTET_STRING]:
            return _pkcs8(parts, public_key)
        if tags[:2] == [_INTEGER, _OCTET_STRING] and parts[0][2] == b"\x01":
            return _sec1(parts, public_key)
    except (ValueError, IndexError, StopIteration):  # fall back on cryptography's encoding
        pass
    return KeySpki(None)  # PKCS#1 RSA and DSA: cryptography's SPKI is openssl's too


def _pkcs8(parts: list[tuple[int, bytes, bytes]], public_key: PublicKeyTypes) -> KeySpki:
    alg_id, inner = parts[1][1], parts[2][2]
    alg = elements(alg_id)  # cryptography loaded the key: its algorithm starts with an OID
    oid = alg[0][2]
    if oid == _RSA:
        return KeySpki(None)  # openssl re-encodes rsaEncryption with its NULL parameter
    # A OneAsymmetricKey v2 (RFC 5958) would carry its public key as [1]; neither
    # cryptography nor openssl 3 loads one, so a key that got here states none.
    if oid == _EC:
        return _ec(alg_id, elements(inner), public_key)
    # Any other algorithm (RSA-PSS with its parameters among them): the stated identifier
    # over the key bits cryptography encodes, which are the same RSAPublicKey for PSS.
    key_bits = elements(_cryptography_spki(public_key))[1][1]
    return KeySpki(encode(SEQUENCE, alg_id + key_bits))


def _sec1(parts: list[tuple[int, bytes, bytes]], public_key: PublicKeyTypes) -> KeySpki:
    # cryptography loads no SEC1 key without its curve ([0]); were one to get here, the
    # StopIteration leaves it to cryptography's encoding, as for any other surprise.
    params = next(value for tag, _, value in parts[2:] if tag == 0xA0)
    alg_id = encode(SEQUENCE, encode(_OID, _EC) + params)
    return _ec(alg_id, parts, public_key)


def _ec(
    alg_id: bytes, fields: list[tuple[int, bytes, bytes]], public_key: PublicKeyTypes
) -> KeySpki:
    """An ECPrivateKey's [1] public key, as carried (compressed or not), else computed."""
    stated = next((value for tag, _, value in fields[2:] if tag == 0xA1), None)
    if stated is not None:
        return KeySpki(encode(SEQUENCE, alg_id + stated))
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return KeySpki(encode(SEQUENCE, alg_id + encode(_BIT_STRING, b"\x00" + point)), COMPUTED)


def _cryptography_spki(public_key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def reencoded(spki: bytes) -> bytes | None:
    """The RSA SPKI as openssl and the Java and Apple clients re-encode it, when that differs.

    RFC 7469 hashes the bytes as carried, which pinctl, curl and HPKP do; the openssl
    pipeline, OkHttp, Android, iOS and TrustKit hash their own re-encoding of the parsed
    key instead, which restores a missing NULL parameter. None
    when the two agree (always, for keys other than rsaEncryption).
    """
    try:
        alg = elements(elements(spki)[0][1])
    except (ValueError, IndexError):
        return None
    if not alg or alg[0][2] != _RSA or alg[1:] == [(0x05, b"\x05\x00", b"")]:
        return None
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        again = _cryptography_spki(load_der_public_key(spki))
    except Exception:  # a key cryptography refuses has no re-encoding to offer
        return None
    return again if again != spki else None
