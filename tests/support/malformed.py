"""Certificates that cryptography's builder refuses to make, made by editing DER and re-signing.

Real-world files carry faults no well-behaved builder writes: a duplicated extension, a
subject that is not valid text, a date in year 0000. Each is a good certificate whose
TBSCertificate is edited byte for byte and signed again, so only the fault differs.
"""

from __future__ import annotations

import base64
import datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ECDSA_SHA256 = bytes.fromhex("06082a8648ce3d040302")
SAN_OID, ISSUER_ALT_OID = bytes.fromhex("0603551d11"), bytes.fromhex("0603551d12")


def der_element(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + value


def resign(tbs: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate of `tbs` (already naming ECDSA-SHA256) signed by `key`."""
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    algorithm = der_element(0x30, ECDSA_SHA256)
    return der_element(0x30, tbs + algorithm + der_element(0x03, b"\x00" + signature))


def pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


def leaf(
    name: str,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    extra_sans: list[str] | None = None,
    common_name: str | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A well-formed leaf for `name`; `extra_sans` go into an issuerAltName to be renamed."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    )
    if extra_sans:
        names = [x509.DNSName(n) for n in extra_sans]
        builder = builder.add_extension(x509.IssuerAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def self_signed_key() -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Faulty Issuer")]), (
        ec.generate_private_key(ec.SECP256R1())
    )


def duplicated_san(
    name: str, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """DER of a leaf with two subjectAltName extensions, and its key."""
    cert, key = leaf(name, issuer, issuer_key, extra_sans=["other." + name])
    tbs = cert.tbs_certificate_bytes.replace(ISSUER_ALT_OID, SAN_OID)
    return resign(tbs, issuer_key), key


def undecodable_subject() -> bytes:
    """DER of a self-signed certificate whose subject CN is a UTF8String of invalid UTF-8."""
    issuer, key = self_signed_key()
    cert, _ = leaf("zzzz.test", issuer, key, common_name="zzzz")
    tbs = cert.tbs_certificate_bytes.replace(b"\x0c\x04zzzz", b"\x0c\x04\xff\xfezz")
    return resign(tbs, key)


def undecodable_issuer() -> bytes:
    """DER of a certificate with a good subject whose issuer CN is invalid UTF-8."""
    _, key = self_signed_key()
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "yyyy")])
    cert, _ = leaf("good.test", issuer, key)
    tbs = cert.tbs_certificate_bytes.replace(b"\x0c\x04yyyy", b"\x0c\x04\xff\xfeyy")
    assert tbs != cert.tbs_certificate_bytes
    return resign(tbs, key)


def year_zero(stated: bytes = b"00000101000000Z") -> bytes:
    """DER of a certificate whose notAfter is the GeneralizedTime `stated`, in year 0000."""
    issuer, key = self_signed_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "year zero")]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc))
        .sign(key, hashes.SHA256())
    )
    tbs = cert.tbs_certificate_bytes
    edited = tbs.replace(b"\x18\x0f21000101000000Z", b"\x18\x0f" + stated)
    assert edited != tbs
    return resign(edited, key)


RSA_ALG_WITH_NULL = bytes.fromhex("300d06092a864886f70d0101010500")
RSA_ALG_WITHOUT_NULL = bytes.fromhex("300b06092a864886f70d010101")


def _rewrap(element: bytes, old: bytes, new: bytes) -> bytes:
    """`element` (one DER TLV) with `old` replaced inside it, its outer length redone."""
    header = 2 + (element[1] & 0x7F if element[1] & 0x80 else 0)
    return der_element(element[0], element[header:].replace(old, new, 1))


def rsa_spki_without_null(spki: bytes) -> bytes:
    """An RSA SPKI whose AlgorithmIdentifier omits the NULL parameter (RFC 3279 wants it)."""
    assert RSA_ALG_WITH_NULL in spki
    return _rewrap(spki, RSA_ALG_WITH_NULL, RSA_ALG_WITHOUT_NULL)


def rsa_leaf_without_null(name: str) -> bytes:
    """DER of a certificate for an RSA key whose SPKI lacks the NULL parameter."""
    return rsa_chain_without_null(name).leaf


class NullLessChain(NamedTuple):
    leaf: bytes
    """DER of a leaf for `name` whose RSA SPKI lacks the NULL parameter."""
    key_pem: bytes
    """The leaf's private key, PKCS#8 PEM, for a server to serve it."""
    ca_pem: bytes
    """The ECDSA issuer, PEM, as a client's trust anchor."""
    carried: bytes
    """The leaf's SPKI as the certificate carries it."""
    canonical: bytes
    """The same key re-encoded with its NULL parameter."""


def rsa_chain_without_null(name: str) -> NullLessChain:
    """A leaf for `name` (a SAN too) with a NULL-less RSA key, signed by a CA of its own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    issuer, issuer_key = self_signed_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(issuer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(65537, 2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    carried = rsa_spki_without_null(spki)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    leaf_der = resign(_rewrap(cert.tbs_certificate_bytes, spki, carried), issuer_key)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    return NullLessChain(leaf_der, key_pem, ca_pem, carried, spki)
