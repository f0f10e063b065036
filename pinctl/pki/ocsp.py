"""OCSP: the request pinctl sends, and the proof that a response answers it.

cryptography parses OCSP responses but verifies nothing, so every rule of SPEC.md section
7 is here, once, for fetched and stapled responses alike: the response is signed by the
issuer, or by a responder certificate that the issuer signed directly, that carries the
OCSPSigning EKU and is valid now; its CertID names this certificate; it is fresh; and a
nonce it carries is the one sent. An unsigned error response (`tryLater`, ...) is no
answer. Whatever fails raises `Unproven` with the rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pinctl.pki.crl import Answer, Unproven, fresh, malformed, reason_name, verify_signature

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509 import ocsp


def responders(cert: x509.Certificate) -> list[str]:
    """The OCSP responder URLs in the certificate's authority information access."""
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        d.access_location.value
        for d in access
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def must_staple(cert: x509.Certificate) -> bool:
    """The TLS feature extension asks for status_request (RFC 7633)."""
    from cryptography import x509

    try:
        features = cert.extensions.get_extension_for_class(x509.TLSFeature).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return x509.TLSFeatureType.status_request in features


def request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None) -> bytes:
    """A DER OCSP request for `cert` (SHA-1 CertID, as every responder understands)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def check(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    nonce: bytes | None = None,
) -> Answer:
    """What an OCSP response proves about `cert`; `nonce` is the one sent (None: none sent)."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        return _check(der, cert, issuer, now, nonce)
    except (ValueError, KeyError, UnsupportedAlgorithm) as exc:
        # cryptography parses some fields only when they are read: a response that breaks
        # there is as unproven as garbage, never a crash of the host's check.
        raise Unproven(f"the response is malformed ({malformed(exc)})") from None


def _check(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    nonce: bytes | None,
) -> Answer:
    from cryptography import x509
    from cryptography.x509 import ocsp

    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        what = "empty" if not der else "not an OCSP response"
        raise Unproven(f"the body is {what} ({malformed(exc)})") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        name = response.response_status.name
        raise Unproven(f"the responder answered {_camel(name)} (an unsigned error, no answer)")
    signer = _signer(response, issuer, now)
    _verify_signature(signer, response)
    single = _single(response, cert, issuer)
    this_update, next_update = single.this_update_utc, single.next_update_utc
    fresh(this_update, next_update, now, "OCSP response")
    if nonce is not None:
        try:
            sent_back = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            sent_back = None  # most responders ignore nonces (SPEC.md section 7)
        if sent_back is not None and sent_back != nonce:
            raise Unproven("the response carries another nonce than the one sent (a replay?)")
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return Answer("good", this_update, next_update)
    if status == ocsp.OCSPCertStatus.UNKNOWN:
        return Answer("unknown", this_update, next_update)
    return Answer(
        "revoked",
        this_update,
        next_update,
        single.revocation_time_utc,
        reason_name(single.revocation_reason) if single.revocation_reason else None,
    )


def _camel(name: str) -> str:
    """`TRY_LATER` as RFC 6960 spells it: `tryLater`."""
    head, *rest = name.lower().split("_")
    return head + "".join(word.title() for word in rest)


def _signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime
) -> x509.Certificate:
    """The certificate whose key must have signed the response: the issuer, or a delegate."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if _names(response, issuer):
        return issuer
    delegate = next((c for c in response.certificates if _names(response, c)), None)
    if delegate is None:
        raise Unproven(
            "the response is signed by neither the issuer nor a responder certificate it includes"
        )
    if delegate.issuer != issuer.subject:
        raise Unproven("the responder certificate is not issued by the certificate's issuer")
    from cryptography.exceptions import InvalidSignature

    try:
        delegate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise Unproven(
            f"the responder certificate is not signed by the issuer ({type(exc).__name__})"
        ) from None
    try:
        usages = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        usages = None
    if usages is None or ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise Unproven("the responder certificate lacks the OCSPSigning extended key usage")
    start, end = delegate.not_valid_before_utc, delegate.not_valid_after_utc
    if not start <= now <= end:
        raise Unproven(
            f"the responder certificate is not valid now (valid {start:%Y-%m-%d} to {end:%Y-%m-%d})"
        )
    return delegate


def _names(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    """The response's ResponderID (by name or by key hash) is `cert`."""
    from cryptography import x509

    if response.responder_name is not None:
        return bool(response.responder_name == cert.subject)
    key_hash = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return response.responder_key_hash == key_hash


def _verify_signature(signer: x509.Certificate, response: ocsp.OCSPResponse) -> None:
    verify_signature(
        signer, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
    )


def _single(
    response: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse:
    """The single response whose CertID is this certificate's (RFC 6960 4.1.1)."""
    from cryptography.hazmat.primitives import hashes

    for single in response.responses:
        algorithm = single.hash_algorithm
        name_hash = hashes.Hash(algorithm)
        name_hash.update(issuer.subject.public_bytes())
        key_hash = hashes.Hash(algorithm)
        key_hash.update(_key_bits(issuer))
        if (
            single.serial_number == cert.serial_number
            and single.issuer_name_hash == name_hash.finalize()
            and single.issuer_key_hash == key_hash.finalize()
        ):
            return single
    raise Unproven("the response is about another certificate (its CertID does not match)")


def _key_bits(cert: x509.Certificate) -> bytes:
    """The issuer's subjectPublicKey BIT STRING contents, which a CertID's key hash covers."""
    from pinctl.pki.der import certificate_spki, elements

    _, _, bits = elements(certificate_spki(cert))[1]
    return bits[1:]  # past the count of unused bits, which is 0 for every key type
