"""What `fetch` and `pin` report: certificates and keys with their pins, as plain data.

Every source (a file, a live host) becomes a `SourceReport` of `Entry` values, or a
`SourceFailure`; the output layer renders both the same way for files and hosts.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pinctl.pki.pins import HashAlg, Pin, compute

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from pinctl.inspect.report import SourceFailure, TlsInfo, Validation

EntryKind = Literal["certificate", "public_key", "private_key", "csr"]


@dataclass(frozen=True)
class KeyInfo:
    type: str
    """``rsa``, ``ec``, ``ed25519``, ``ed448`` or ``dsa``."""
    bits: int
    curve: str | None = None
    """The named curve of an EC key (``secp256r1``), else None."""


@dataclass(frozen=True)
class Entry:
    """One certificate, public key, private key or CSR, and its pins."""

    index: int
    kind: EntryKind
    key: KeyInfo
    spki: Mapping[HashAlg, Pin]
    """SubjectPublicKeyInfo pins, by hash algorithm, in the order asked for."""
    cert: Mapping[HashAlg, Pin] | None = None
    """Whole-certificate pins (fingerprints); None for keys and CSRs."""
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    """Uppercase hex, as `openssl x509 -serial` prints it."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    served: bool = True
    """False for a trust anchor that validation took from the store."""
    der: bytes | None = field(default=None, repr=False)
    """The certificate's DER, for PEM output and ``--save``; None for non-certificates."""


@dataclass(frozen=True)
class SourceReport:
    """A source that could be read: a file, or a host that completed a handshake."""

    source: str
    entries: tuple[Entry, ...]
    tls: TlsInfo | None = None
    validation: Validation | None = None


@dataclass(frozen=True)
class SourcesResult:
    """The whole outcome of one `fetch` or `pin` run."""

    sources: tuple[SourceReport | SourceFailure, ...]
    hashes: tuple[HashAlg, ...]
    now: datetime
    """When the run happened, passed in by the command; the table derives "days left"."""

    @property
    def failed(self) -> bool:
        return not all(isinstance(s, SourceReport) for s in self.sources)


def spki_der(public_key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def key_info(public_key: PublicKeyTypes) -> KeyInfo:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyInfo("rsa", public_key.key_size)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyInfo("ec", public_key.curve.key_size, public_key.curve.name)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return KeyInfo("ed25519", 256)
    if isinstance(public_key, ed448.Ed448PublicKey):
        return KeyInfo("ed448", 456)
    if isinstance(public_key, dsa.DSAPublicKey):
        return KeyInfo("dsa", public_key.key_size)
    return KeyInfo(type(public_key).__name__.lower().removesuffix("publickey"), 0)


def certificate_entry(
    cert: x509.Certificate,
    index: int,
    hashes: tuple[HashAlg, ...],
    *,
    served: bool = True,
    details: bool = True,
    der: bytes | None = None,
) -> Entry:
    """Describe a certificate; the SPKI pin hashes the key exactly as the certificate holds it.

    Without `details` only the SPKI pins are filled in: `pin -o pins` over a bundle of
    hundreds of roots need not format names it will never print. `der` is the
    certificate as read, when the caller has it: the cert pin hashes those bytes.
    """
    from pinctl.pki.der import certificate_spki

    key_der = certificate_spki(cert)
    info = _certificate_key_info(cert)
    if not details:
        spki = {alg: compute(key_der, alg) for alg in hashes}
        return Entry(index=index, kind="certificate", key=info, spki=spki, served=served)
    if der is None:
        # serialization pulls in SSH and cipher modules: only re-encoding needs it.
        from cryptography.hazmat.primitives.serialization import Encoding

        der = cert.public_bytes(Encoding.DER)
    with warnings.catch_warnings():
        # Some roots in the Mozilla bundle have serial 0; cryptography warns, the pin is fine.
        warnings.simplefilter("ignore")
        serial = format(cert.serial_number, "X")
    return Entry(
        index=index,
        kind="certificate",
        key=info,
        spki={alg: compute(key_der, alg) for alg in hashes},
        cert={alg: compute(der, alg) for alg in hashes},
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=serial,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        served=served,
        der=der,
    )


def _certificate_key_info(cert: x509.Certificate) -> KeyInfo:
    """The key's type and size; a key cryptography cannot load is still pinned, as unknown."""
    try:
        return key_info(cert.public_key())
    except Exception:  # unsupported algorithms raise several types
        return KeyInfo("unknown", 0)


def key_entry(
    public_key: PublicKeyTypes,
    kind: EntryKind,
    index: int,
    hashes: tuple[HashAlg, ...],
    *,
    subject: str | None = None,
    raw_spki: bytes | None = None,
) -> Entry:
    """Describe a public key, the public half of a private key, or a CSR's key.

    `raw_spki` is the SubjectPublicKeyInfo as the input carried it; it is what gets
    hashed when there is one, so the pin equals openssl's for any encoding of the key.
    """
    key_der = raw_spki if raw_spki is not None else spki_der(public_key)
    return Entry(
        index=index,
        kind=kind,
        key=key_info(public_key),
        spki={alg: compute(key_der, alg) for alg in hashes},
        subject=subject,
    )
