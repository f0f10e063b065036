"""PKCS#12 files: the MAC, and the SPKI of the key they hold.

cryptography says "invalid password or PKCS12 data" both for a wrong passphrase and for
contents it cannot read, and telling a user with the right passphrase that it is wrong
sends them hunting for another. The MAC (RFC 7292 appendix B) is keyed by the passphrase
alone, so checking it settles the question.

cryptography hands the key back as an object, which has lost RSA-PSS parameters and
explicit curves. The key's own certificate, when the file holds it, still states them;
else the key's bag is reopened (`sealed`) for its own encoding.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Literal

from pinctl.errors import InputError
from pinctl.pki.der import certificate_spki, elements, plain_reason
from pinctl.pki.sealed import MAC, Unopened, kdf

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.hazmat.primitives.serialization.pkcs12 import PKCS12KeyAndCertificates


MacVerdict = Literal["right", "wrong", "unknown"]
_MAX_ITERATIONS = 1_000_000
_DATA = bytes.fromhex("2a864886f70d010701")
_KEY_BAG = bytes.fromhex("2a864886f70d010c0a0101")
_SHROUDED_KEY_BAG = bytes.fromhex("2a864886f70d010c0a0102")
_HASHES = {
    bytes.fromhex("2b0e03021a"): "sha1",
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
    bytes.fromhex("608648016503040204"): "sha224",
}


def right_passphrase_refusal(
    name: str, data: bytes, secret: bytes, exc: Exception
) -> InputError | None:
    """Why file `name` cannot be read, when it is not (or may not be) the passphrase: the
    MAC opens with `secret`, or there is none to ask and cryptography's error is not its
    "invalid password or data". None when the passphrase is wrong, or may be."""
    verdict = mac_verdict(data, secret)
    if verdict == "wrong" or (verdict == "unknown" and isinstance(exc, (ValueError, TypeError))):
        return None
    # Without a MAC there is nothing to prove the passphrase right: the error says only what.
    known = "the passphrase is right (the PKCS#12 MAC checks) but " if verdict == "right" else ""
    return InputError(
        f"{name}: {known}the contents cannot be read ({plain_reason(exc)}); pinctl reads "
        "PKCS#12 files of RSA, EC (named curves), Ed25519 and Ed448 keys and their "
        "certificates"
    )


def mac_verdict(data: bytes, passphrase: bytes) -> MacVerdict:
    """Whether `passphrase` opens the MAC; ``unknown`` when there is none or it is unusual."""
    try:
        pfx = elements(data)
        content = elements(elements(pfx[1][1])[1][1])  # authSafe [0] EXPLICIT OCTET STRING
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


def key_plaintext(data: bytes, passphrase: bytes, key: PrivateKeyTypes) -> bytes | Unopened:
    """`key`'s PrivateKeyInfo, reopened from its bag in the file; `Unopened` when out of reach.

    Key bags sit in plain ``data`` contents (openssl, Windows, Java); one inside
    ``encryptedData``, or sealed in an envelope `sealed` does not reopen, stays closed.
    """
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    from pinctl.pki.entries import spki_der
    from pinctl.pki.sealed import pkcs8_plaintext

    wanted = spki_der(key.public_key())
    try:
        contents = [_data(info) for _, info, _ in elements(_data(elements(data)[1][1]) or b"")]
        bags = [
            elements(bag) for safe in contents if safe is not None for _, bag, _ in elements(safe)
        ]
        sealed = [(bag[0][2], elements(bag[1][1])[0][1]) for bag in bags]
    except (ValueError, IndexError):
        return Unopened("PKCS#12")
    closed = Unopened("PKCS#12")
    for kind, value in sealed:
        if kind == _SHROUDED_KEY_BAG:
            plain: bytes | Unopened = pkcs8_plaintext(value, passphrase)
        else:
            plain = value if kind == _KEY_BAG else closed
        if isinstance(plain, Unopened):
            if plain is not closed:
                closed = Unopened(f"PKCS#12 with {plain.envelope}")
            continue
        try:
            same = spki_der(load_der_private_key(plain, None).public_key()) == wanted
        except Exception:  # noqa: S112 - a bag cryptography cannot load is not this key's
            continue
        if same:
            return plain
    return closed


def _data(content_info: bytes) -> bytes | None:
    """The octets of a ContentInfo of type data; None for encryptedData and the rest."""
    (_, _, oid), (_, wrapped, _) = elements(content_info)
    if oid != _DATA:
        return None
    ((tag, _, octets),) = elements(wrapped)
    if tag != 0x04:
        raise ValueError("data content is not an OCTET STRING")
    return octets
