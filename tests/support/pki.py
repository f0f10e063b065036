"""Certificates built for tests: CAs, leaves and intermediates with chosen extensions."""

from __future__ import annotations

import datetime

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)


def load(pem: trustme.Blob) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.bytes())


def served(leaf: trustme.LeafCert) -> list[x509.Certificate]:
    """What a server configured with `leaf` sends: the leaf and its intermediates, no root."""
    return [load(blob) for blob in leaf.cert_chain_pems]


def self_signed(
    name: str = "self.test", *, ca: bool = False, eku: list[x509.ObjectIdentifier] | None = None
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256())


def issue(
    name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    *,
    sans: list[str] | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA (no `sans`) or a leaf, signed by `issuer` or by itself, with an optional EKU;
    `key` is the certificate's key (a backup key being deployed), else a new one."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer = issuer or (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=sans is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer[1].public_key()), False
        )
    )
    if sans is None:
        usage = dict.fromkeys(KEY_USAGES, False) | {"key_cert_sign": True, "crl_sign": True}
    else:
        usage = dict.fromkeys(KEY_USAGES, False) | {"digital_signature": True}
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        )
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(signer[1], hashes.SHA256()), key


KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def client_only_pki(
    intermediate_eku: list[x509.ObjectIdentifier],
) -> tuple[x509.Certificate, list[x509.Certificate], ec.EllipticCurvePrivateKey]:
    """Root, [leaf for example.test, intermediate with `intermediate_eku`], and the leaf key."""
    root = issue("Root")
    intermediate = issue("Intermediate", root, eku=intermediate_eku)
    leaf, key = issue(
        "leaf", intermediate, sans=["example.test"], eku=[ExtendedKeyUsageOID.SERVER_AUTH]
    )
    return root[0], [leaf, intermediate[0]], key


def issuer_loop(
    host: str = "localhost",
) -> tuple[list[x509.Certificate], ec.EllipticCurvePrivateKey]:
    """[leaf, A, B] where A names B as its issuer and B names A, each signed by the other's
    key: a walk up the served chain that forgets where it has been never ends."""
    key_a, key_b = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    a = _ca_named("Loop A", key_a, "Loop B", key_b)
    b = _ca_named("Loop B", key_b, "Loop A", key_a)
    leaf, leaf_key = issue("leaf", (a, key_a), sans=[host])
    return [leaf, a, b], leaf_key


def _ca_named(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    usage = dict.fromkeys(KEY_USAGES, False) | {"key_cert_sign": True, "crl_sign": True}
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
        .sign(signer, hashes.SHA256())
    )


def pem(certs: list[x509.Certificate]) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def path_bomb(
    width: int, depth: int, host: str = "localhost"
) -> tuple[list[x509.Certificate], ec.EllipticCurvePrivateKey]:
    """[leaf, `depth` levels of `width` CAs]: every CA of a level shares its name and key, so
    each can issue every CA of the level below, width**depth paths, and none reaches a root
    (the top level names an issuer nobody has). A verifier without a budget explores them all."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(depth + 1)]
    levels = [
        [_ca_named(f"Level {i}", keys[i], f"Level {i + 1}", keys[i + 1]) for _ in range(width)]
        for i in range(depth)
    ]
    leaf, leaf_key = issue("leaf", (levels[0][0], keys[0]), sans=[host])
    return [leaf, *(cert for level in levels for cert in level)], leaf_key
