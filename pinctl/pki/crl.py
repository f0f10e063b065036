"""Certificate revocation lists: read one, and prove what it says about one certificate.

A CRL counts only when every rule of SPEC.md section 7 holds: it is signed by the
certificate's issuer, its issuing distribution point covers the certificate (a
partitioned CRL, such as one of Let's Encrypt's 128 shards, must be the certificate's own
shard), `this_update` is not in the future and `next_update` is not past. Anything else
raises `Unproven`, which the caller reports as "no answer from this source", never as good.
The size cap is the fetcher's (and `--crl`'s reader's): a body is refused before parsing.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cryptography import x509

CRL_MAX_BYTES = 100 * 1024 * 1024
"""`--crl-max-bytes`' default: larger than any public CA's CRL shard, smaller than memory."""
UNDATED_FRESH_FOR = timedelta(days=7)
"""How long an answer without `next_update` counts (SPEC.md section 7's OCSP rule)."""


_PEM = re.compile(rb"-----BEGIN X509 CRL-----(.*?)-----END X509 CRL-----", re.DOTALL)


class Unproven(Exception):
    """The answer does not prove anything about the certificate; the message says why."""


class BadSignature(Unproven):
    """The data is not signed by the key it was checked with."""


@dataclass(frozen=True)
class Answer:
    """A proven statement about one certificate, from a CRL or an OCSP response."""

    status: Literal["good", "revoked", "unknown"]
    this_update: datetime
    next_update: datetime | None
    revoked_at: datetime | None = None
    reason: str | None = None
    """RFC 5280's name of the revocation reason (`keyCompromise`, ...), when one is given."""


_REASONS = {
    "unspecified": "unspecified",
    "key_compromise": "keyCompromise",
    "ca_compromise": "cACompromise",
    "affiliation_changed": "affiliationChanged",
    "superseded": "superseded",
    "cessation_of_operation": "cessationOfOperation",
    "certificate_hold": "certificateHold",
    "privilege_withdrawn": "privilegeWithdrawn",
    "aa_compromise": "aACompromise",
    "remove_from_crl": "removeFromCRL",
}


def reason_name(flag: object) -> str | None:
    """RFC 5280's spelling of a cryptography `ReasonFlags` member."""
    value = getattr(flag, "name", None)
    return _REASONS.get(value, value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Crl:
    """A parsed CRL and the DER it was read from.

    The signature is checked over those bytes: cryptography's own check re-encodes the
    list first, which takes seconds for a million entries (bench/big_crl measures it).
    """

    parsed: x509.CertificateRevocationList
    der: bytes

    @property
    def issuer(self) -> x509.Name:
        return self.parsed.issuer


def load_crl(data: bytes, *, max_bytes: int = CRL_MAX_BYTES) -> Crl:
    """A CRL from PEM or DER bytes, or `Unproven` naming what is wrong with them."""
    import base64
    import binascii

    from cryptography import x509

    if len(data) > max_bytes:
        raise Unproven(
            f"the CRL has {len(data)} bytes, over the cap of {max_bytes} (--crl-max-bytes)"
        )
    der = data
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            found = _PEM.search(data)
            if found is None:
                raise ValueError("no -----BEGIN X509 CRL----- block")
            der = base64.b64decode(found[1])  # the line breaks are left out, as RFC 7468 says
        return Crl(x509.load_der_x509_crl(der), der)
    except (ValueError, binascii.Error, x509.InvalidVersion) as exc:
        what = "truncated or not a CRL" if data else "empty"
        raise Unproven(f"the body is {what} ({malformed(exc)})") from None


def distribution_points(cert: x509.Certificate) -> list[str]:
    """The URLs of the certificate's CRL distribution points, in order (any scheme)."""
    from cryptography import x509

    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        name.value
        for point in points
        if point.crl_issuer is None  # an indirect CRL: signed by someone else, not supported
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def check(
    listed: Crl,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    *,
    signature_checked: bool = False,
) -> Answer:
    """What `listed` proves about `cert`, or `Unproven` with the rule it breaks."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        return _check(listed, cert, issuer, now, signature_checked)
    except (ValueError, KeyError, UnsupportedAlgorithm) as exc:
        # Extensions and entries are parsed when read: a list that breaks there proves
        # nothing, and must not crash the host's check.
        raise Unproven(f"the CRL is malformed ({malformed(exc)})") from None


def malformed(exc: Exception) -> str:
    """What cryptography said of a field that does not parse. Before 50 it raises KeyError
    (the bare tag number) for a name string of a type it does not know."""
    if isinstance(exc, KeyError):
        return f"a name holds a string of unknown ASN.1 type {exc.args[0] if exc.args else '?'}"
    from pinctl.pki.der import plain_reason

    return plain_reason(exc)  # words, not the Rust parser's debug text


def _check(
    listed: Crl,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    signature_checked: bool,
) -> Answer:
    from cryptography import x509

    crl = listed.parsed
    if crl.issuer != cert.issuer:
        raise Unproven(
            f"the CRL is issued by {crl.issuer.rfc4514_string()}, not the certificate's issuer"
        )
    try:
        crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    except x509.ExtensionNotFound:
        pass
    else:
        raise Unproven("it is a delta CRL, which does not stand alone")
    _in_scope(crl, cert)
    this_update, next_update = crl.last_update_utc, crl.next_update_utc
    fresh(this_update, next_update, now, "CRL")
    # The signature last: over a 50 MB CRL it is the one costly rule, and a stale or
    # out-of-scope list is refused without it. A caller that shares one list between
    # many certificates of one issuer checks it once (`check_signature`).
    if not signature_checked:
        check_signature(listed, issuer)
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return Answer("good", this_update, next_update)
    reason = None
    with contextlib.suppress(x509.ExtensionNotFound, ValueError):
        reason = reason_name(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason)
    if reason == "removeFromCRL":
        return Answer("good", this_update, next_update)
    return Answer("revoked", this_update, next_update, entry.revocation_date_utc, reason)


def check_signature(listed: Crl, issuer: x509.Certificate) -> None:
    """The CRL is signed by the issuer's key, or `Unproven`."""
    from cryptography.exceptions import UnsupportedAlgorithm

    from pinctl.pki.der import tlv

    crl = listed.parsed
    try:
        _, start, _ = tlv(listed.der, 0)
        _, _, end = tlv(listed.der, start)  # tbsCertList, as signed
        verify_signature(issuer, crl.signature, listed.der[start:end], crl.signature_hash_algorithm)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise Unproven(f"its signature cannot be checked ({exc})") from None
    except BadSignature:
        raise Unproven("its signature is not the issuer's (signed by another key)") from None


def verify_signature(
    signer: x509.Certificate, signature: bytes, data: bytes, algorithm: object
) -> None:
    """`data` is signed by `signer`'s key (RSA PKCS#1 v1.5, ECDSA, EdDSA), or `Unproven`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

    key = signer.public_key()
    digest = algorithm if isinstance(algorithm, hashes.HashAlgorithm) else None
    try:
        if isinstance(key, rsa.RSAPublicKey) and digest is not None:
            key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and digest is not None:
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            raise Unproven(f"its signature algorithm is not supported ({type(key).__name__})")
    except InvalidSignature:
        raise BadSignature("its signature does not verify with the signer's key") from None


def _in_scope(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> None:
    """The issuing distribution point must cover this certificate (RFC 5280 6.3.3 b)."""
    from cryptography import x509

    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return  # a complete CRL of the issuer: covers every certificate it signed
    if idp.indirect_crl:
        raise Unproven("it is an indirect CRL, which pinctl does not accept")
    if idp.only_some_reasons:
        raise Unproven("it covers only some revocation reasons, so cannot show a certificate good")
    if idp.only_contains_attribute_certs:
        raise Unproven("it covers attribute certificates only")
    is_ca = _is_ca(cert)
    if idp.only_contains_user_certs and is_ca:
        raise Unproven("it covers end-entity certificates only, and this is a CA")
    if idp.only_contains_ca_certs and not is_ca:
        raise Unproven("it covers CA certificates only, and this is an end-entity certificate")
    if idp.relative_name is not None:
        raise Unproven("its distribution point is a relative name, which pinctl does not match")
    if idp.full_name:
        scope = {n.value for n in idp.full_name if isinstance(n, x509.UniformResourceIdentifier)}
        named = set(distribution_points(cert))
        if not scope & named:
            shown = ", ".join(sorted(scope)) or "a non-URL name"
            own = ", ".join(named) or "none named"
            raise Unproven(f"it is the partition {shown}, not the certificate's own ({own})")


def _is_ca(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def fresh(this_update: datetime, next_update: datetime | None, now: datetime, what: str) -> None:
    """`this_update` not in the future; `next_update` not past (none: within 7 days)."""
    if this_update > now:
        raise Unproven(f"the {what} is dated in the future ({_iso(this_update)})")
    if next_update is None:
        if now - this_update > UNDATED_FRESH_FOR:
            raise Unproven(
                f"the {what} has no next update and is older than 7 days ({_iso(this_update)})"
            )
    elif next_update < now:
        raise Unproven(f"the {what} is stale: its next update was due {_iso(next_update)}")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
