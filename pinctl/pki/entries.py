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


EntryKind = Literal["certificate", "public_key", "private_key", "csr"]


@dataclass(frozen=True)
class KeyInfo:
    type: str
    """``rsa``, ``ec``, ``ed25519``, ``ed448``, ``dsa``, ``dh``, ... or ``unknown``."""
    bits: int
    """0 when the size is not known: a key cryptography cannot load is pinned all the same."""
    curve: str | None = None
    """The named curve of an EC key (``secp256r1``, or its OID), else None."""
    oid: str | None = None
    """The algorithm's OID when pinctl has no name for it."""


@dataclass(frozen=True, order=True)
class YearZero:
    """A validity bound in year 0000: valid DER, but before anything `datetime` can hold."""

    ordinal: int
    """Days since 0001-01-01, as `date.toordinal` counts them (so below 1)."""
    text: str
    """ISO 8601, ``0000-01-01T00:00:00Z``."""


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
    not_before: datetime | YearZero | None = None
    not_after: datetime | YearZero | None = None
    served: bool = True
    """False for a trust anchor that validation took from the store."""
    der: bytes | None = field(default=None, repr=False)
    """The certificate's DER, for PEM output and ``--save``; None for non-certificates."""
    note: str | None = None
    """How the SPKI was had, when the input did not state it."""
    spki_reencoded: Mapping[HashAlg, Pin] | None = None
    """Pins of the SPKI as the openssl pipeline, OkHttp, Android, iOS and TrustKit
    re-encode it, when that differs from the bytes as carried (an RSA key without its NULL
    parameter); else None. curl and HPKP hash the bytes as carried, as `spki` does."""
    san: tuple[str, ...] | None = None
    """Subject alternative names, ``DNS:…``/``IP:…``/``URI:…``/``email:…``; None for
    non-certificates (and certificates described without details)."""
    signature_algorithm: str | None = None
    """OpenSSL's name (``ecdsa-with-SHA256``), else the dotted OID."""
    fingerprint_sha256: str | None = None
    """Upper-case colon hex of the DER's SHA-256, as `openssl x509 -fingerprint` prints it."""


def spki_der(public_key: PublicKeyTypes) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


_BITS = {"ed25519": 256, "ed448": 456, "x25519": 256, "x448": 448}
"""The length of the key itself (RFC 8032, RFC 7748): 32, 57, 32 and 56 bytes."""


def key_info(public_key: PublicKeyTypes) -> KeyInfo:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyInfo("rsa", public_key.key_size)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyInfo("ec", public_key.curve.key_size, public_key.curve.name)
    name = type(public_key).__name__.lower().removesuffix("publickey")  # Ed25519PublicKey
    if name in _BITS:
        return KeyInfo(name, _BITS[name])
    if isinstance(public_key, dsa.DSAPublicKey):
        return KeyInfo("dsa", public_key.key_size)
    from cryptography.hazmat.primitives.asymmetric import dh  # named last: cryptography warns

    assert isinstance(public_key, dh.DHPublicKey)  # the last of PublicKeyTypes
    return KeyInfo("dh", public_key.key_size)


def spki_key_info(spki: bytes) -> KeyInfo:
    """What the SPKI's algorithm identifier says, for a key cryptography cannot load.

    `spki` is well formed: a certificate's that cryptography parsed, or one that
    `pinctl.pki.formats` took for an SPKI because `algorithm` could read it."""
    from pinctl.pki.spki import algorithm

    alg = algorithm(spki)
    if alg.name is None:
        return KeyInfo("unknown", 0, oid=alg.oid)
    return KeyInfo(alg.name, 0, alg.curve)


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
    info = _certificate_key_info(cert, key_der)
    again = reencoded_pins(key_der, hashes)
    if not details:
        decodable(cert)  # one file, one verdict, whatever -o is
        spki = {alg: compute(key_der, alg) for alg in hashes}
        return Entry(
            index=index,
            kind="certificate",
            key=info,
            spki=spki,
            served=served,
            spki_reencoded=again,
        )
    if der is None:
        # serialization pulls in SSH and cipher modules: only re-encoding needs it.
        from cryptography.hazmat.primitives.serialization import Encoding

        der = cert.public_bytes(Encoding.DER)
    with warnings.catch_warnings():
        # Some roots in the Mozilla bundle have serial 0; cryptography warns, the pin is fine.
        warnings.simplefilter("ignore")
        serial = format(cert.serial_number, "X")
    from pinctl.pki.details import colon_fingerprint, signature_algorithm, subject_alt_names

    subject, issuer = _names(cert)
    not_before, not_after = validity(cert)
    return Entry(
        index=index,
        kind="certificate",
        key=info,
        spki={alg: compute(key_der, alg) for alg in hashes},
        cert={alg: compute(der, alg) for alg in hashes},
        subject=subject,
        issuer=issuer,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        served=served,
        der=der,
        spki_reencoded=again,
        san=subject_alt_names(cert),
        signature_algorithm=signature_algorithm(cert),
        fingerprint_sha256=colon_fingerprint(der),
    )


def _certificate_key_info(cert: x509.Certificate, spki: bytes) -> KeyInfo:
    """The key's type and size; a key cryptography cannot load is still pinned, by its OID."""
    try:
        return key_info(cert.public_key())
    except Exception:  # unsupported algorithms raise several types
        return spki_key_info(spki)


def decodable(cert: x509.Certificate) -> None:
    """Refuse (ValueError) what `_names` would refuse, without formatting names no one will
    read. cryptography decodes names when first asked for, not when it loads the
    certificate: a chain is checked where it is read, so that no later message (a
    refusal naming the certificate) meets the error instead."""
    from pinctl.pki.der import plain_reason

    try:
        cert.subject  # noqa: B018  # decoding is the point
        cert.issuer  # noqa: B018
    except KeyError as exc:  # cryptography before 50: a string type it does not know
        raise ValueError(f"a name cannot be decoded: unknown string type {exc}") from None
    except ValueError as exc:
        raise ValueError(f"a name cannot be decoded: {plain_reason(exc)}") from None


def _names(cert: x509.Certificate) -> tuple[str, str]:
    from pinctl.pki.der import plain_reason

    try:
        return cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    except KeyError as exc:  # cryptography before 50: a string type it does not know
        raise ValueError(f"a name cannot be decoded: unknown string type {exc}") from None
    except ValueError as exc:
        raise ValueError(f"a name cannot be decoded: {plain_reason(exc)}") from None


def validity(cert: x509.Certificate) -> tuple[datetime | YearZero, datetime | YearZero]:
    """notBefore and notAfter; cryptography's own properties raise for year 0000."""
    return _moment(cert, 0), _moment(cert, 1)


# A validity bound may be year 0000, which `datetime` cannot hold: these three read one
# either way, so that no message, deadline or metric fails on such a certificate.

_EPOCH_ORDINAL = 719163
"""`date(1970, 1, 1).toordinal()`."""


def date_text(moment: datetime | YearZero) -> str:
    """``YYYY-MM-DD``."""
    return moment.text[:10] if isinstance(moment, YearZero) else f"{moment:%Y-%m-%d}"


def days_until(moment: datetime | YearZero, now: datetime) -> int:
    """Whole days from `now` to `moment`, negative once past, as `timedelta.days` counts
    them (year 0000 to the day: its time of day is left out)."""
    if isinstance(moment, YearZero):
        return moment.ordinal - now.toordinal()
    return (moment - now).days


def epoch_seconds(moment: datetime | YearZero) -> float:
    """Seconds since 1970 (year 0000 to the day)."""
    if isinstance(moment, YearZero):
        return (moment.ordinal - _EPOCH_ORDINAL) * 86400.0
    return moment.timestamp()


def _moment(cert: x509.Certificate, which: int) -> datetime | YearZero:
    """notBefore (0) or notAfter (1); year 0000 is a date GeneralizedTime can state."""
    try:
        return cert.not_valid_before_utc if which == 0 else cert.not_valid_after_utc
    except ValueError:
        from pinctl.pki.der import validity_text

        stated = validity_text(cert.tbs_certificate_bytes)[which]
        if not stated.startswith("0000") or len(stated) != 15:
            raise
        from datetime import date

        month, day = int(stated[4:6]), int(stated[6:8])
        ordinal = date(4, month, day).toordinal() - 1461  # years 0-3 have the days of 4-7
        text = f"0000-{stated[4:6]}-{stated[6:8]}T{stated[8:10]}:{stated[10:12]}:{stated[12:14]}Z"
        return YearZero(ordinal, text)


def key_entry(
    public_key: PublicKeyTypes | None,
    kind: EntryKind,
    index: int,
    hashes: tuple[HashAlg, ...],
    *,
    subject: str | None = None,
    raw_spki: bytes | None = None,
    note: str | None = None,
) -> Entry:
    """Describe a public key, the public half of a private key, or a CSR's key.

    `raw_spki` is the SubjectPublicKeyInfo as the input carried it; it is what gets
    hashed when there is one, so the pin equals openssl's for any encoding of the key.
    Without `public_key` (cryptography cannot load it) the raw SPKI is all there is.
    """
    if public_key is None:
        assert raw_spki is not None, "an unloadable key is described by its SPKI"
        key_der, info = raw_spki, spki_key_info(raw_spki)
    else:
        key_der = raw_spki if raw_spki is not None else spki_der(public_key)
        info = key_info(public_key)
    return Entry(
        index=index,
        kind=kind,
        key=info,
        spki={alg: compute(key_der, alg) for alg in hashes},
        subject=subject,
        note=note,
        spki_reencoded=reencoded_pins(key_der, hashes) if raw_spki is not None else None,
    )


_RSA_OID = bytes.fromhex("06092a864886f70d010101")
_RSA_WITH_NULL = bytes.fromhex("300d06092a864886f70d0101010500")


def reencoded_pins(spki: bytes, hashes: tuple[HashAlg, ...]) -> Mapping[HashAlg, Pin] | None:
    """The pins of `spki` as clients that re-encode the key compute them, when they differ."""
    # Nearly every key is not RSA, or RSA with its NULL parameter, which re-encodes to
    # itself: tell those from the head of the bytes, without loading the DER walker.
    head = spki[:24]
    if _RSA_OID not in head or _RSA_WITH_NULL in head:
        return None
    from pinctl.pki.spki import reencoded

    again = reencoded(spki)
    return None if again is None else {alg: compute(again, alg) for alg in hashes}
