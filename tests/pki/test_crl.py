"""pinctl.pki.crl: a CRL counts only when every rule of SPEC.md section 7 holds, one test each."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pinctl.pki import crl
from pinctl.pki.crl import Unproven

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
SHARD = "http://crl.test/7.crl"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


ISSUER_KEY = _key()
ISSUER = (
    x509.CertificateBuilder()
    .subject_name(_name("issuer"))
    .issuer_name(_name("issuer"))
    .public_key(ISSUER_KEY.public_key())
    .serial_number(1)
    .not_valid_before(NOW - dt.timedelta(days=10))
    .not_valid_after(NOW + dt.timedelta(days=10))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(ISSUER_KEY, hashes.SHA256())
)


def _cert(
    serial: int, *, ca: bool = False, point: str | None = SHARD, constrained: bool = True
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"cert {serial}"))
        .issuer_name(ISSUER.subject)
        .public_key(_key().public_key())
        .serial_number(serial)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=5))
    )
    if constrained:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    if point:
        dp = x509.DistributionPoint([x509.UniformResourceIdentifier(point)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([dp]), critical=False)
    return builder.sign(ISSUER_KEY, hashes.SHA256())


LEAF = _cert(10)
REVOKED = _cert(11)


def _crl(**kwargs: Any) -> crl.Crl:
    listed = _signed(**kwargs)
    return crl.Crl(listed, listed.public_bytes(serialization.Encoding.DER))


def _signed(
    *,
    key: ec.EllipticCurvePrivateKey = ISSUER_KEY,
    issuer: x509.Name = ISSUER.subject,
    last: dt.timedelta = dt.timedelta(hours=-1),
    next_: dt.timedelta = dt.timedelta(days=1),
    idp: x509.IssuingDistributionPoint | None = None,
    delta: bool = False,
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
) -> x509.CertificateRevocationList:
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(REVOKED.serial_number)
        .revocation_date(NOW - dt.timedelta(days=2))
        .add_extension(x509.CRLReason(reason), critical=False)
        .build()
    )
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(NOW + last)
        .next_update(NOW + next_)
        .add_revoked_certificate(entry)
    )
    if idp is not None:
        builder = builder.add_extension(idp, critical=True)
    if delta:
        builder = builder.add_extension(x509.DeltaCRLIndicator(1), critical=True)
    return builder.sign(key, hashes.SHA256())


RDN = x509.RelativeDistinguishedName([x509.NameAttribute(x509.NameOID.COMMON_NAME, "CRL1")])


def _idp(url: str | None = SHARD, **flags: Any) -> x509.IssuingDistributionPoint:
    values: dict[str, object] = {
        "full_name": [x509.UniformResourceIdentifier(url)] if url else None,
        "relative_name": None,
        "only_contains_user_certs": False,
        "only_contains_ca_certs": False,
        "only_some_reasons": None,
        "indirect_crl": False,
        "only_contains_attribute_certs": False,
    } | flags
    return x509.IssuingDistributionPoint(**values)  # type: ignore[arg-type]


def test_a_signed_fresh_crl_says_good_or_revoked() -> None:
    """The twin of every refusal: an unlisted certificate is good, a listed one revoked."""
    listed = _crl()
    assert crl.check(listed, LEAF, ISSUER, NOW).status == "good"
    answer = crl.check(listed, REVOKED, ISSUER, NOW)
    assert (answer.status, answer.reason) == ("revoked", "keyCompromise")
    assert answer.revoked_at == NOW - dt.timedelta(days=2)


@pytest.mark.parametrize(
    ("reason", "status"),
    [(x509.ReasonFlags.remove_from_crl, "good"), (x509.ReasonFlags.certificate_hold, "revoked")],
    ids=["removeFromCRL", "certificateHold"],
)
def test_an_entry_removed_from_the_crl_is_good_as_openssl_says(
    tmp_path: Path, reason: x509.ReasonFlags, status: str
) -> None:
    """removeFromCRL lifts a hold: the certificate listed with it is good, and `openssl
    verify -crl_check` says the same of the same files; the twin, still on hold, is
    revoked for both."""
    import subprocess

    listed = _signed(reason=reason)
    der = listed.public_bytes(serialization.Encoding.DER)
    assert crl.check(crl.Crl(listed, der), REVOKED, ISSUER, NOW).status == status
    files = {"ca.pem": ISSUER, "leaf.pem": REVOKED}
    for name, cert in files.items():
        (tmp_path / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "list.crl").write_bytes(listed.public_bytes(serialization.Encoding.PEM))
    judged = subprocess.run(
        ["openssl", "verify", "-attime", str(int(NOW.timestamp())), "-crl_check",
         "-CAfile", str(tmp_path / "ca.pem"), "-CRLfile", str(tmp_path / "list.crl"),
         str(tmp_path / "leaf.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (judged.returncode == 0) == (status == "good"), judged.stdout + judged.stderr


def test_another_key_is_refused() -> None:
    """A CRL with the issuer's name signed by another key proves nothing."""
    with pytest.raises(Unproven, match="signed by another key"):
        crl.check(_crl(key=_key()), REVOKED, ISSUER, NOW)


def test_another_issuer_is_refused() -> None:
    """A CRL of another issuer does not speak for this certificate."""
    with pytest.raises(Unproven, match="not the certificate's issuer"):
        crl.check(_crl(issuer=_name("someone else")), LEAF, ISSUER, NOW)


@pytest.mark.parametrize(
    ("last", "next_", "words"),
    [
        (dt.timedelta(minutes=5), dt.timedelta(days=1), "in the future"),
        (dt.timedelta(days=-8), dt.timedelta(minutes=-1), "stale"),
    ],
)
def test_a_crl_out_of_its_time_is_refused(
    last: dt.timedelta, next_: dt.timedelta, words: str
) -> None:
    """Dated in the future or past its next update: refused, even if it lists the cert."""
    with pytest.raises(Unproven, match=words):
        crl.check(_crl(last=last, next_=next_), REVOKED, ISSUER, NOW)


@pytest.mark.parametrize(
    ("last", "next_", "words"),
    [
        (dt.timedelta(seconds=1), dt.timedelta(days=1), "in the future"),
        (dt.timedelta(days=-1), dt.timedelta(seconds=-1), "stale"),
    ],
)
def test_a_crl_one_second_out_of_its_time_is_refused(
    last: dt.timedelta, next_: dt.timedelta, words: str
) -> None:
    """One second is enough: issued a second from now, or due a second ago; the refusal
    gives the date that rules it out, to the second."""
    when = (NOW + (last if words == "in the future" else next_)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(Unproven, match=words) as refused:
        crl.check(_crl(last=last, next_=next_), LEAF, ISSUER, NOW)
    assert str(refused.value).endswith(f"{when})" if words == "in the future" else when)


@pytest.mark.parametrize(
    ("last", "next_"),
    [(dt.timedelta(0), dt.timedelta(days=1)), (dt.timedelta(days=-1), dt.timedelta(0))],
    ids=["issued-this-second", "due-this-second"],
)
def test_a_crl_at_either_end_of_its_time_counts(last: dt.timedelta, next_: dt.timedelta) -> None:
    """The twins: a CRL issued this very second, or whose next update is due this second,
    still speaks: both ends of its time are inclusive."""
    assert crl.check(_crl(last=last, next_=next_), REVOKED, ISSUER, NOW).status == "revoked"


def test_the_certificates_own_shard_counts_and_another_does_not() -> None:
    """A partitioned CRL counts for the certificates of its shard only."""
    assert crl.check(_crl(idp=_idp()), REVOKED, ISSUER, NOW).status == "revoked"
    with pytest.raises(Unproven, match=r"partition http://crl\.test/8\.crl"):
        crl.check(_crl(idp=_idp("http://crl.test/8.crl")), REVOKED, ISSUER, NOW)
    with pytest.raises(Unproven, match="none named"):
        crl.check(_crl(idp=_idp()), _cert(12, point=None), ISSUER, NOW)


@pytest.mark.parametrize(
    ("flags", "ca", "words"),
    [
        ({"only_contains_user_certs": True}, True, "end-entity certificates only"),
        ({"only_contains_ca_certs": True}, False, "CA certificates only"),
        ({"only_some_reasons": frozenset({x509.ReasonFlags.key_compromise})}, False, "some"),
        ({"indirect_crl": True}, False, "indirect"),
        ({"only_contains_attribute_certs": True}, False, "attribute certificates only"),
        ({"full_name": None, "relative_name": RDN}, False, "a relative name"),
    ],
)
def test_a_scope_that_leaves_the_certificate_out_is_refused(
    flags: dict[str, Any], ca: bool, words: str
) -> None:
    """A user-only list for a CA, a CA-only list for a leaf, a reasons subset, indirect,
    attribute certificates, and a point named relative to the issuer (not matched)."""
    cert = _cert(13, ca=ca)
    with pytest.raises(Unproven, match=words):
        crl.check(_crl(idp=_idp(**flags)), cert, ISSUER, NOW)


def test_a_scope_that_covers_the_certificate_counts() -> None:
    """Twin: a user-only list for a leaf, a CA-only one for a CA."""
    assert crl.check(_crl(idp=_idp(only_contains_user_certs=True)), LEAF, ISSUER, NOW)
    assert crl.check(_crl(idp=_idp(only_contains_ca_certs=True)), _cert(14, ca=True), ISSUER, NOW)


def test_a_certificate_without_basic_constraints_is_an_end_entity() -> None:
    """No basicConstraints is no CA (RFC 5280 4.2.1.9): a user-only list covers it, and a
    CA-only list does not."""
    bare = _cert(15, constrained=False)
    assert crl.check(_crl(idp=_idp(only_contains_user_certs=True)), bare, ISSUER, NOW)
    with pytest.raises(Unproven, match="CA certificates only"):
        crl.check(_crl(idp=_idp(only_contains_ca_certs=True)), bare, ISSUER, NOW)


def test_a_delta_crl_is_refused() -> None:
    """A delta CRL lists changes only: it cannot show a certificate good."""
    with pytest.raises(Unproven, match="delta"):
        crl.check(_crl(delta=True), LEAF, ISSUER, NOW)


def test_pem_and_der_are_read_and_garbage_refused() -> None:
    """Both encodings load; empty, garbage, truncated and oversized bodies are refused."""
    listed = _signed()
    der = listed.public_bytes(serialization.Encoding.DER)
    assert crl.load_crl(der) == crl.Crl(listed, der)
    assert crl.load_crl(listed.public_bytes(serialization.Encoding.PEM)) == crl.Crl(listed, der)
    cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    for body, words in (
        (b"", "empty"),
        (b"<html>", "not a CRL"),
        (der[:-10], "truncated"),
        (cert, "no -----BEGIN X509 CRL----- block"),
    ):
        with pytest.raises(Unproven, match=words) as refused:
            crl.load_crl(body)
        assert "ParseError" not in str(refused.value), "the parser's words, not its debug text"
    with pytest.raises(Unproven) as refused:
        crl.load_crl(der[:-10])
    assert str(refused.value) == "the body is truncated or not a CRL (DER short data)"
    with pytest.raises(Unproven, match="over the cap of 100"):
        crl.load_crl(der, max_bytes=100)
    # The cap is a size a CRL may have: exactly at it is read, a byte over is not.
    assert crl.load_crl(der, max_bytes=len(der)) == crl.Crl(listed, der)
    with pytest.raises(Unproven, match=f"has {len(der)} bytes, over the cap of {len(der) - 1}"):
        crl.load_crl(der, max_bytes=len(der) - 1)


def test_distribution_points_keep_every_scheme() -> None:
    """ldap:// points are listed too, so the result can name them as skipped."""
    assert crl.distribution_points(_cert(15, point="ldap://dir/cn=crl")) == ["ldap://dir/cn=crl"]
    assert crl.distribution_points(_cert(16, point=None)) == []


def test_a_mangled_crl_only_ever_raises_the_clean_error() -> None:
    """Any byte of a signed CRL changed: loading and checking give an answer or `Unproven`,
    never another exception (which would crash the host's check)."""
    import random

    der = _signed(idp=_idp()).public_bytes(serialization.Encoding.DER)
    rng = random.Random(16)  # noqa: S311 - a reproducible fuzz, not a secret
    for _ in range(400):
        mangled = bytearray(der)
        for _ in range(rng.randint(1, 3)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        with contextlib.suppress(Unproven):
            crl.check(crl.load_crl(bytes(mangled)), REVOKED, ISSUER, NOW)


def _issued_by(key: Any, algorithm: hashes.SHA256 | None) -> tuple[Any, Any, Any]:
    """An issuer with `key`, a leaf it signed, and its CRL listing nothing, all signed
    with `key` (Ed25519 takes no hash)."""
    issuer = (
        x509.CertificateBuilder()
        .subject_name(_name("other-key issuer"))
        .issuer_name(_name("other-key issuer"))
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - dt.timedelta(days=10))
        .not_valid_after(NOW + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, algorithm)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("its leaf"))
        .issuer_name(issuer.subject)
        .public_key(_key().public_key())
        .serial_number(30)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=5))
        .sign(key, algorithm)
    )
    listed = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(NOW - dt.timedelta(hours=1))
        .next_update(NOW + dt.timedelta(days=1))
        .sign(key, algorithm)
    )
    return crl.Crl(listed, listed.public_bytes(serialization.Encoding.DER)), leaf, issuer


def test_an_ed25519_issuers_crl_is_verified() -> None:
    """EdDSA CAs sign CRLs too: verified with the issuer's Ed25519 key, it counts; the
    same CRL presented for another Ed25519 issuer of that name does not."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    listed, leaf, issuer = _issued_by(ed25519.Ed25519PrivateKey.generate(), None)
    assert crl.check(listed, leaf, issuer, NOW).status == "good"
    _, _, impostor = _issued_by(ed25519.Ed25519PrivateKey.generate(), None)
    with pytest.raises(Unproven, match="signed by another key"):
        crl.check(listed, leaf, impostor, NOW)


def test_a_dsa_issuers_crl_is_not_taken_on_trust() -> None:
    """pinctl does not verify DSA signatures: the CRL proves nothing, and says why."""
    from cryptography.hazmat.primitives.asymmetric import dsa

    listed, leaf, issuer = _issued_by(dsa.generate_private_key(2048), hashes.SHA256())
    with pytest.raises(Unproven, match=r"signature algorithm is not supported \(.*DSA"):
        crl.check(listed, leaf, issuer, NOW)


@pytest.mark.parametrize("signer", ["issuer", "impostor"])
def test_an_rsa_issuers_crl_is_checked_with_pkcs1(tmp_path: Path, signer: str) -> None:
    """Most public CAs sign CRLs with RSA (PKCS#1 v1.5): the issuer's own CRL answers, one
    under its name but another RSA key is refused, and openssl agrees on both."""
    import subprocess

    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = (
        x509.CertificateBuilder()
        .subject_name(_name("rsa issuer"))
        .issuer_name(_name("rsa issuer"))
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - dt.timedelta(days=10))
        .not_valid_after(NOW + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    listed = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(NOW - dt.timedelta(hours=1))
        .next_update(NOW + dt.timedelta(days=1))
        .sign(key if signer == "issuer" else other, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("leaf"))
        .issuer_name(issuer.subject)
        .public_key(_key().public_key())
        .serial_number(12)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=5))
        .sign(key, hashes.SHA256())
    )
    der = listed.public_bytes(serialization.Encoding.DER)
    (tmp_path / "ca.pem").write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "list.crl").write_bytes(der)
    judged = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", str(tmp_path / "list.crl"), "-CAfile",
         str(tmp_path / "ca.pem"), "-noout"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ("verify OK" in judged.stderr + judged.stdout) is (signer == "issuer")
    if signer == "issuer":
        assert crl.check(crl.Crl(listed, der), leaf, issuer, NOW).status == "good"
    else:
        with pytest.raises(Unproven, match="not the issuer's"):
            crl.check(crl.Crl(listed, der), leaf, issuer, NOW)


def test_a_crl_signed_with_an_algorithm_no_one_knows_is_refused() -> None:
    """A CRL naming a signature algorithm cryptography lacks (here a made-up sibling of
    ecdsa-with-SHA256) cannot be checked, so it proves nothing, and says why; the same CRL
    with its real algorithm is the twin, test_a_signed_fresh_crl_says_good_or_revoked."""
    der = _signed().public_bytes(serialization.Encoding.DER)
    ecdsa_sha256 = bytes.fromhex("06082a8648ce3d040302")
    assert der.count(ecdsa_sha256) == 2  # in the signed list and in the signature's header
    made_up = der.replace(ecdsa_sha256, bytes.fromhex("06082a8648ce3d04037f"))
    listed = crl.Crl(x509.load_der_x509_crl(made_up), made_up)
    with pytest.raises(Unproven, match=r"^its signature cannot be checked \("):
        crl.check(listed, REVOKED, ISSUER, NOW)


def test_a_signed_crl_whose_extension_does_not_parse_is_refused_not_a_crash() -> None:
    """A CRL its issuer really signed, whose partition (issuingDistributionPoint) holds a
    name of a kind no one defined, proves nothing: `Unproven` naming the fault, so the host
    is revocation-unavailable rather than crashed; the twin is the well-formed shard CRL
    of test_the_certificates_own_shard_counts_and_another_does_not."""
    from cryptography.hazmat.primitives.asymmetric import ec as ec_keys

    from pinctl.pki.der import encode

    tbs = _signed(idp=_idp()).tbs_certlist_bytes
    uri = b"\x86" + bytes([len(SHARD)]) + SHARD.encode()  # [6] IA5String, the URI
    assert tbs.count(uri) == 1
    broken = tbs.replace(uri, b"\x89" + uri[1:])  # [9]: GeneralName's tags end at [8]
    signature = ISSUER_KEY.sign(broken, ec_keys.ECDSA(hashes.SHA256()))
    algorithm = encode(0x30, bytes.fromhex("06082a8648ce3d040302"))
    der = encode(0x30, broken + algorithm + encode(0x03, b"\x00" + signature))
    listed = crl.Crl(x509.load_der_x509_crl(der), der)
    with pytest.raises(Unproven, match=r"^the CRL is malformed \("):
        crl.check(listed, REVOKED, ISSUER, NOW)
