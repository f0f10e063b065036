"""pinctl.pki.ocsp: the one OCSP verification there is, a test per rule of SPEC.md section 7.

Each refusal has its twin in `test_an_issuer_signed_fresh_answer_counts` or the delegate
test beside it: the same response with the one rule kept is accepted.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp as cocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pinctl.pki import ocsp
from pinctl.pki.crl import Unproven

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
NONCE = b"0123456789abcdef"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    eku: bool = False,
    days: tuple[int, int] = (-10, 10),
    serial: int = 1000,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW + dt.timedelta(days=days[0]))
        .not_valid_after(NOW + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


ISSUER_KEY = _key()
ISSUER = _cert("issuer", ISSUER_KEY, None, ca=True)
OTHER_KEY = _key()
OTHER = _cert("other issuer", OTHER_KEY, None, ca=True)
LEAF = _cert("leaf", _key(), (ISSUER, ISSUER_KEY), serial=4242)


def _response(
    *,
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] = (ISSUER, ISSUER_KEY),
    delegate: bool = False,
    status: cocsp.OCSPCertStatus = cocsp.OCSPCertStatus.GOOD,
    this_update: dt.timedelta = dt.timedelta(minutes=-1),
    next_update: dt.timedelta | None = dt.timedelta(hours=1),
    nonce: bytes | None = NONCE,
    about: x509.Certificate = LEAF,
    issuer: x509.Certificate = ISSUER,
    by_name: bool = False,
) -> bytes:
    revoked = status == cocsp.OCSPCertStatus.REVOKED
    builder = cocsp.OCSPResponseBuilder().add_response(
        cert=about,
        issuer=issuer,
        algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash every responder uses
        cert_status=status,
        this_update=NOW + this_update,
        next_update=NOW + next_update if next_update is not None else None,
        revocation_time=NOW - dt.timedelta(days=1) if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    encoding = cocsp.OCSPResponderEncoding.NAME if by_name else cocsp.OCSPResponderEncoding.HASH
    builder = builder.responder_id(encoding, signer[0])
    if delegate:
        builder = builder.certificates([signer[0]])
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(signer[1], hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _refused(der: bytes, words: str, nonce: bytes | None = NONCE) -> None:
    with pytest.raises(Unproven, match=words):
        ocsp.check(der, LEAF, ISSUER, NOW, nonce)


def test_an_issuer_signed_fresh_answer_counts() -> None:
    """The twin of every refusal: signed by the issuer, fresh, this CertID, our nonce."""
    answer = ocsp.check(_response(), LEAF, ISSUER, NOW, NONCE)
    assert (answer.status, answer.next_update) == ("good", NOW + dt.timedelta(hours=1))


def test_revoked_carries_when_and_rfc5280s_reason() -> None:
    """A revoked answer says when and why, in RFC 5280's spelling."""
    answer = ocsp.check(_response(status=cocsp.OCSPCertStatus.REVOKED), LEAF, ISSUER, NOW)
    assert (answer.status, answer.reason) == ("revoked", "keyCompromise")
    assert answer.revoked_at == NOW - dt.timedelta(days=1)


def test_unknown_is_reported_as_unknown() -> None:
    """`unknown` is its own answer; the caller treats it as none from this source."""
    assert ocsp.check(_response(status=cocsp.OCSPCertStatus.UNKNOWN), LEAF, ISSUER, NOW).status == (
        "unknown"
    )


@pytest.mark.parametrize("days", [(-10, 10), (0, 10), (-10, 0)], ids=["inside", "first", "last"])
def test_a_delegate_with_the_eku_valid_now_counts(days: tuple[int, int]) -> None:
    """A responder certificate the issuer signed, with OCSPSigning, valid now: believed,
    on the first and the last instant of its validity too."""
    key = _key()
    delegate = _cert("responder", key, (ISSUER, ISSUER_KEY), eku=True, days=days)
    assert ocsp.check(_response(signer=(delegate, key), delegate=True), LEAF, ISSUER, NOW)


@pytest.mark.parametrize(
    ("eku", "days", "issued_by", "words"),
    [
        (False, (-10, 10), "issuer", "OCSPSigning"),
        (True, (-10, -1), "issuer", "not valid now"),
        (True, (1, 10), "issuer", "not valid now"),
        (True, (-10, 10), "other", "not issued by"),
    ],
)
def test_a_delegate_without_the_eku_out_of_date_or_from_elsewhere_is_refused(
    eku: bool, days: tuple[int, int], issued_by: str, words: str
) -> None:
    """No EKU, expired or not yet valid, or issued by another CA: its word is not taken."""
    key = _key()
    parent = (ISSUER, ISSUER_KEY) if issued_by == "issuer" else (OTHER, OTHER_KEY)
    delegate = _cert("responder", key, parent, eku=eku, days=days)
    _refused(_response(signer=(delegate, key), delegate=True), words)


def test_a_responder_named_by_its_subject_counts() -> None:
    """RFC 6960 lets the ResponderID be the signer's name instead of its key hash (as
    openssl ocsp writes it without -resp_key_id): the issuer and a delegate, both believed."""
    assert ocsp.check(_response(by_name=True), LEAF, ISSUER, NOW, NONCE).status == "good"
    key = _key()
    delegate = _cert("responder", key, (ISSUER, ISSUER_KEY), eku=True)
    answer = _response(signer=(delegate, key), delegate=True, by_name=True)
    assert ocsp.check(answer, LEAF, ISSUER, NOW, NONCE).status == "good"


def test_a_responder_named_as_another_is_refused() -> None:
    """Failing twin: named by the subject of a CA that is not the issuer, nothing included."""
    _refused(_response(signer=(OTHER, OTHER_KEY), by_name=True), "neither the issuer nor")


def test_a_delegate_with_the_issuers_name_but_another_signer_is_refused() -> None:
    """A responder certificate that claims the issuer's name but was signed by another key."""
    key = _key()
    forged = _cert("responder", key, (ISSUER, OTHER_KEY), eku=True)
    _refused(_response(signer=(forged, key), delegate=True), "not signed by the issuer")


def test_a_response_by_an_unrelated_key_is_refused() -> None:
    """Signed by a key that is neither the issuer's nor an included delegate's."""
    _refused(_response(signer=(OTHER, OTHER_KEY)), "neither the issuer nor a responder")


def test_a_broken_signature_is_refused() -> None:
    """The issuer's response with one bit of its signature flipped does not verify."""
    der = _response(nonce=None)
    _refused(der[:-1] + bytes([der[-1] ^ 1]), "signature does not verify", None)


def test_another_certificates_certid_is_refused() -> None:
    """A response about another serial, or the same serial of another issuer, is not ours."""
    other_leaf = _cert("other", _key(), (ISSUER, ISSUER_KEY), serial=4243)
    _refused(_response(about=other_leaf), "CertID")
    same_serial = _cert("twin", _key(), (OTHER, OTHER_KEY), serial=4242)
    _refused(_response(about=same_serial, issuer=OTHER), "CertID")


@pytest.mark.parametrize(
    ("this_update", "next_update", "words"),
    [
        (dt.timedelta(minutes=5), dt.timedelta(hours=1), "in the future"),
        (dt.timedelta(days=-2), dt.timedelta(minutes=-1), "stale"),
        (dt.timedelta(days=-8), None, "older than 7 days"),
    ],
)
def test_an_answer_out_of_its_time_is_refused(
    this_update: dt.timedelta, next_update: dt.timedelta | None, words: str
) -> None:
    """Dated in the future, past its next update, or undated and older than 7 days."""
    _refused(_response(this_update=this_update, next_update=next_update), words)


def test_an_undated_answer_within_7_days_counts() -> None:
    """Twin: with no next_update, an answer from yesterday still counts."""
    der = _response(this_update=dt.timedelta(days=-1), next_update=None)
    assert ocsp.check(der, LEAF, ISSUER, NOW, NONCE).status == "good"


def test_an_undated_answer_counts_for_exactly_7_days() -> None:
    """The 7 days include their last second: an answer of exactly 7 days ago counts, one
    second older is refused as too old."""
    week = dt.timedelta(days=-7)
    der = _response(this_update=week, next_update=None)
    assert ocsp.check(der, LEAF, ISSUER, NOW, NONCE).status == "good"
    older = _response(this_update=week - dt.timedelta(seconds=1), next_update=None)
    _refused(older, "older than 7 days")


def test_another_nonce_is_refused_and_none_accepted() -> None:
    """A response carrying another nonce is a replay; one carrying none is accepted."""
    _refused(_response(nonce=b"f" * 16), "another nonce")
    assert ocsp.check(_response(nonce=None), LEAF, ISSUER, NOW, NONCE).status == "good"


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (cocsp.OCSPResponseStatus.TRY_LATER, "tryLater"),
        (cocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized"),
        (cocsp.OCSPResponseStatus.INTERNAL_ERROR, "internalError"),
        (cocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedRequest"),
    ],
)
def test_unsigned_error_responses_are_no_answer(
    status: cocsp.OCSPResponseStatus, name: str
) -> None:
    """`tryLater` and the other unsigned errors prove nothing, named as RFC 6960 does."""
    der = cocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
    _refused(der, name)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"<html>", "not an OCSP"),
        (b"\x30\x82\x01", "not an"),
        (
            b"\x30\x82\x01\x00" + b"x" * 256,
            r"^the body is not an OCSP response \(DER unexpected tag in response_status\)$",
        ),
    ],
)
def test_garbage_is_refused(body: bytes, words: str) -> None:
    """Empty, HTML, truncated DER: refused with what it is, in words (where the parser
    stopped), never the parser's debug text or an exception leak."""
    _refused(body, words)


def test_the_request_names_the_certificate_and_carries_the_nonce() -> None:
    """The request pinctl sends has this certificate's CertID and the nonce given."""
    request = cocsp.load_der_ocsp_request(ocsp.request(LEAF, ISSUER, NONCE))
    assert request.serial_number == LEAF.serial_number
    nonce = request.extensions.get_extension_for_class(x509.OCSPNonce)
    assert nonce.value.nonce == NONCE
    # Not critical (RFC 8954): a responder that does not know nonces still answers.
    assert nonce.critical is False
    plain = cocsp.load_der_ocsp_request(ocsp.request(LEAF, ISSUER, None))
    assert len(plain.extensions) == 0


def test_a_mangled_response_only_ever_raises_the_clean_error() -> None:
    """Any byte of a signed response changed: an answer or `Unproven`, never another
    exception, and never a changed answer that still verifies as good."""
    import random

    der = _response(status=cocsp.OCSPCertStatus.REVOKED)
    rng = random.Random(16)  # noqa: S311 - a reproducible fuzz, not a secret
    for _ in range(400):
        mangled = bytearray(der)
        mangled[rng.randrange(len(mangled))] ^= 1 << rng.randrange(8)
        try:
            answer = ocsp.check(bytes(mangled), LEAF, ISSUER, NOW, NONCE)
        except Unproven:
            continue
        assert answer.status == "revoked", "a flipped bit never turns revoked into good"


def test_responders_are_the_ocsp_entries_of_the_aia_only() -> None:
    """authorityInformationAccess also names where the issuer's certificate is (caIssuers),
    and may give a responder by a non-URI name: neither is asked for an OCSP answer, and a
    certificate without the extension has no responder."""
    from cryptography.x509.oid import AuthorityInformationAccessOID as Aia

    key = _key()
    described = [
        x509.AccessDescription(
            Aia.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca.test/i.der")
        ),
        x509.AccessDescription(Aia.OCSP, x509.DNSName("ocsp-by-name.test")),
        x509.AccessDescription(Aia.OCSP, x509.UniformResourceIdentifier("http://ocsp.test/")),
    ]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aia")])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ISSUER.subject)
        .public_key(key.public_key()).serial_number(77)
        .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.AuthorityInformationAccess(described), critical=False)
        .sign(ISSUER_KEY, hashes.SHA256())
    )  # fmt: skip
    assert ocsp.responders(cert) == ["http://ocsp.test/"]
    assert ocsp.responders(ISSUER) == []
