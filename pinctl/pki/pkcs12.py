"""PKCS#12 files: the MAC, and the SPKI of the key they hold.

cryptography says "invalid password or PKCS12 data" both for a wrong passphrase and for
contents it cannot read, and telling a user with the right passphrase that it is wrong
sends them hunting for another. The MAC (RFC 7292 appendix B) is keyed by the passphrase
alone, so checking it settles the question.

cryptography hands the key back as an object, which has lost RSA-PSS parameters and
explicit curves; the key's own certificate, when the file holds it, still states them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Literal

from pinctl.pki.der import certificate_spki, elements

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.serialization.pkcs12 import PKCS12KeyAndCertificates

MacVerdict = Literal["right", "wrong", "unknown"]
KEY, IV, MAC = 1, 2, 3
"""The purposes (ID bytes) of RFC 7292 B.3: an encryption key, its IV, a MAC key."""
_MAX_ITERATIONS = 1_000_000
_HASHES = {
    bytes.fromhex("2b0e03021a"): "sha1",
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
    bytes.fromhex("608648016503040204"): "sha224",
}


def mac_verdict(data: bytes, passphrase: bytes) -> MacVerdict:
    """Whether `passphrase` opens the MAC; ``unknown`` when there is none or it is unusual."""
    try:
        pfx = elements(data)
        content = elements(elements(pfx[1][1])[1][2])  # authSafe [0] EXPLICIT OCTET STRING
        if content[0][0] != 0x04 or len(pfx) < 3:
            return "unknown"
        mac_data = elements(pfx[2][1])
        digest_info = elements(mac_data[0][1])
        alg = _HASHES.get(elements(digest_info[0][1])[0][2])
        expected, salt = digest_info[1][2], mac_data[1][2]
        iterations = int.from_bytes(mac_data[2][2], "big") if len(mac_data) > 2 else 1
    except (ValueError, IndexError):
        return "unknown"
    if alg is None or not 1 <= iterations <= _MAX_ITERATIONS:
        return "unknown"
    try:
        secret = (passphrase.decode("utf-8") + "\0").encode("utf-16-be")
    except UnicodeDecodeError:
        return "unknown"
    key = kdf(alg, secret, salt, iterations, hashlib.new(alg).digest_size, MAC)
    actual = hmac.new(key, content[0][2], alg).digest()
    return "right" if hmac.compare_digest(actual, expected) else "wrong"


def certified_spki(bundle: PKCS12KeyAndCertificates) -> bytes | None:
    """The SPKI, as carried, of the bundle's certificate for its key; None when none is."""
    from pinctl.pki.entries import spki_der

    if bundle.key is None:
        return None
    public = spki_der(bundle.key.public_key())
    certs = [bundle.cert] if bundle.cert is not None else []
    for cert in [*certs, *bundle.additional_certs]:
        try:
            same = spki_der(cert.certificate.public_key()) == public
        except Exception:  # noqa: S112 - a certificate cryptography cannot load is no match
            continue
        if same:
            return certificate_spki(cert.certificate)
    return None


def kdf(alg: str, password: bytes, salt: bytes, iterations: int, size: int, purpose: int) -> bytes:
    """RFC 7292 B.2; also the key and IV of PKCS#8 PBES1 with pbeWithSHAAnd3-KeyTripleDES."""
    u, v = hashlib.new(alg).digest_size, hashlib.new(alg).block_size

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * -(-length // len(value)))[:length]

    block = stretch(salt) + stretch(password)
    out = b""
    while len(out) < size:
        a = bytes([purpose]) * v + block
        for _ in range(iterations):
            a = hashlib.new(alg, a).digest()
        out += a
        b = int.from_bytes((a * -(-v // u))[:v], "big") + 1
        block = b"".join(
            ((int.from_bytes(block[j : j + v], "big") + b) % (1 << (8 * v))).to_bytes(v, "big")
            for j in range(0, len(block), v)
        )
    return out[:size]
