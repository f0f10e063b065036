"""Validation of real-world oddities: what is accepted like openssl, and refusals in plain words."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec
from cryptography.x509.oid import NameOID

from pinctl.pki.validation import validate
from tests.support import malformed
from tests.support.pki import NOW

Key = ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey


def _root(key: Key, name: str = "Root", days: tuple[int, int] = (-1, 90)) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    root: x509.Certificate,
    root_key: Key,
    *,
    subject: x509.Name | None = None,
    sans: list[x509.GeneralName] | None = None,
    ca: bool | None = None,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            subject
            if subject is not None
            else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.test")])
        )
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(sans or [x509.DNSName("a.test")]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(root_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    return _root(key), key


def _openssl_verifies(tmp_path: Path, root: x509.Certificate, leaf: x509.Certificate) -> bool:
    (tmp_path / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-verify_hostname",
         "a.test", "-purpose", "sslserver", str(tmp_path / "leaf.pem")],
        capture_output=True,
        check=False,
    )  # fmt: skip
    return result.returncode == 0


def test_a_leaf_asserting_ca_true_is_accepted_like_openssl(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], tmp_path: Path
) -> None:
    """x509-limbo's cA=TRUE leaf: openssl accepts it, and so does pinctl (see the README)."""
    root, key = pki
    leaf = _leaf(root, key, ca=True)
    assert _openssl_verifies(tmp_path, root, leaf)
    verdict = validate([leaf], "a.test", [root], NOW)
    assert verdict.validation.trusted
    assert verdict.validation.hostname_match


def test_a_ca_true_leaf_from_another_root_is_still_untrusted(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    """The failing twin: the relaxation is about the flag, not about trust."""
    root, key = pki
    other = _root(ec.generate_private_key(ec.SECP256R1()), "Other")
    verdict = validate([_leaf(root, key, ca=True)], "a.test", [other], NOW)
    assert not verdict.validation.trusted


def test_an_expired_trust_anchor_is_named_with_its_day(tmp_path: Path) -> None:
    """The store's root expired (the server sends only a valid leaf): the reason names the
    anchor and the day, as openssl refuses it too; the twin, the same root valid, trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    expired = _root(key, days=(-400, -2))
    leaf = _leaf(expired, key)
    assert not _openssl_verifies(tmp_path, expired, leaf)
    verdict = validate([leaf], "a.test", [expired], NOW)
    assert not verdict.validation.trusted
    day = (NOW - datetime.timedelta(days=2)).date().isoformat()
    assert verdict.validation.error == f"trust anchor CN=Root expired on {day}"
    assert validate([leaf], "a.test", [_root(key)], NOW).validation.trusted


def test_an_empty_subject_with_a_non_critical_san_is_accepted_like_openssl(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], tmp_path: Path
) -> None:
    """An empty subject beside a non-critical subjectAltName validates, as openssl lets it."""
    root, key = pki
    leaf = _leaf(root, key, subject=x509.Name([]))
    assert not leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    assert _openssl_verifies(tmp_path, root, leaf)
    verdict = validate([leaf], "a.test", [root], NOW)
    assert verdict.validation.trusted
    assert verdict.validation.hostname_match
    wrong = validate([leaf], "b.test", [root], NOW)  # the twin: its SAN still decides the name
    assert not wrong.validation.hostname_match


def test_a_duplicated_extension_is_the_certificates_verdict_not_a_crash() -> None:
    """A leaf with two subjectAltName extensions is untrusted, with the reason, and no raise."""
    issuer, issuer_key = malformed.self_signed_key()
    der, _ = malformed.duplicated_san("dup.test", issuer, issuer_key)
    leaf = x509.load_der_x509_certificate(der)
    with pytest.raises(x509.DuplicateExtension):
        leaf.extensions  # noqa: B018 - what every reader of extensions ran into
    verdict = validate([leaf], "dup.test", [leaf], NOW)
    # Nothing of it is judged, its names included: no match is claimed.
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, False)
    assert verdict.validation.error is not None
    assert "duplicated extension (2.5.29.17)" in verdict.validation.error


def test_an_extension_that_does_not_parse_is_the_certificates_verdict_not_a_crash() -> None:
    """A leaf whose subjectAltName holds a name of a kind no one defined (tag [9]) is
    untrusted, with the reason in words; the twin is the same leaf unbroken, trusted."""
    from tests.support.pki import issue

    root, root_key = issue("Root")
    good, _ = malformed.leaf("bad.test", root.subject, root_key)
    dns = b"\x82\x08bad.test"
    assert good.tbs_certificate_bytes.count(dns) == 1
    broken = good.tbs_certificate_bytes.replace(dns, b"\x89" + dns[1:])
    leaf = x509.load_der_x509_certificate(malformed.resign(broken, root_key))
    verdict = validate([leaf], "bad.test", [root], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, False)
    # No path was built: what was served is all there is, with no anchor to add to it.
    assert (verdict.path, verdict.anchor_served) == ((leaf,), True)
    assert (verdict.validation.error or "").startswith(
        "certificate CN=bad.test has extensions that cannot be parsed ("
    )
    assert validate([good], "bad.test", [root], NOW).validation.trusted


def test_a_dns_san_that_looks_like_an_ip_says_it_is_a_dns_name(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    """Name 8.8.8.8 against a DNS SAN "8.8.8.8" says why it cannot match, still trusted."""
    import ipaddress

    root, key = pki
    leaf = _leaf(root, key, sans=[x509.DNSName("8.8.8.8")])
    verdict = validate([leaf], "8.8.8.8", [root], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match
    assert verdict.validation.error is not None
    assert "as a DNS name" in verdict.validation.error
    assert "it is valid for 8.8.8.8)" not in verdict.validation.error
    as_ip = _leaf(root, key, sans=[x509.IPAddress(ipaddress.ip_address("8.8.8.8"))])
    assert validate([as_ip], "8.8.8.8", [root], NOW).validation.hostname_match  # the twin
    # An address the leaf does not list at all is the plain mismatch, not that story.
    other = validate([leaf], "9.9.9.9", [root], NOW).validation
    assert other.error == "name 9.9.9.9 not in the certificate (it is valid for 8.8.8.8)"


def test_verifier_debug_text_never_reaches_users() -> None:
    """A DSA root is refused in words, not with the verifier's `AlgorithmIdentifier {` dump."""
    key = dsa.generate_private_key(2048)
    root = _root(key)
    verdict = validate([_leaf(root, key)], "a.test", [root], NOW)
    assert not verdict.validation.trusted
    error = verdict.validation.error or ""
    assert "DSA" in error
    assert "AlgorithmIdentifier" not in error
    assert "PhantomData" not in error
    assert len(error) < 300


def test_an_anchor_in_its_last_second_is_not_called_expired() -> None:
    """RFC 5280's notAfter is the last valid second: at that very second a chain that fails
    for another reason (a leaf signed by another key under the root's name) is refused
    for that reason, not for an anchor that has not expired yet."""
    key = ec.generate_private_key(ec.SECP256R1())
    root = _root(key, days=(-400, 1))
    forged = _leaf(root, ec.generate_private_key(ec.SECP256R1()))
    verdict = validate([forged], "a.test", [root], root.not_valid_after_utc)
    assert not verdict.validation.trusted
    assert "expired" not in (verdict.validation.error or "")
    later = root.not_valid_after_utc + datetime.timedelta(seconds=1)
    assert "trust anchor CN=Root expired" in (validate([forged], "a.test", [root], later)
                                              .validation.error or "")  # fmt: skip


def test_a_served_certificate_in_its_first_second_is_not_called_not_yet_valid() -> None:
    """notBefore is the first valid second: at it a forged chain is refused for the forgery,
    and one second earlier for the certificate that is not valid yet."""
    key = ec.generate_private_key(ec.SECP256R1())
    root = _root(key, days=(1, 400))
    forged = _leaf(root, ec.generate_private_key(ec.SECP256R1()))
    start = root.not_valid_before_utc
    at_start = validate([forged, root], "a.test", [root], start).validation
    assert not at_start.trusted
    assert "not valid before" not in (at_start.error or "")
    before = validate([forged, root], "a.test", [root], start - datetime.timedelta(seconds=1))
    assert f"certificate CN=Root is not valid before {start:%Y-%m-%d}" in (
        before.validation.error or ""
    )


def test_a_nested_algorithm_dump_is_cut_at_its_own_closing_brace() -> None:
    """The verifier's dump nests braces (key parameters inside the identifier): exactly the
    dump becomes the algorithm's name, and the words around it stay, up to the next dump,
    which is named on its own."""
    from pinctl.pki.refusals import clean

    dump = "AlgorithmIdentifier { oid: 1.2, params: Dsa(DsaParams { p: {7}, q: 2 }) }"
    assert clean(f"validation failed: key {dump} in certificate 2") == "key DSA in certificate 2"
    sha1 = "AlgorithmIdentifier { oid: 1.3, params: RsaWithSha1(Some(())) }"
    assert clean(f"key {dump} signed with {sha1} in certificate 2") == (
        "key DSA signed with RSA with SHA-1 in certificate 2"
    )


def test_the_same_chain_on_an_allowed_algorithm_is_trusted(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    """The twin: an ECDSA root and leaf of the same shape validate."""
    root, key = pki
    assert validate([_leaf(root, key)], "a.test", [root], NOW).validation.trusted


def test_names_echoed_in_a_refusal_are_cut_short(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    """An issuer name of 20,000 characters is cut in the reason, which stays one short line."""
    _, key = pki
    huge = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O" * 20_000)])
    stranger = _root(key, "stranger")
    leaf = _leaf(stranger, key, subject=huge)
    other = _root(ec.generate_private_key(ec.SECP256R1()), "Other")
    error = validate([leaf], "a.test", [other], NOW).validation.error or ""
    assert "OOOO..." in error
    assert len(error) < 1000


@pytest.mark.parametrize(("length", "cut"), [(200, False), (201, True)])
def test_a_name_is_cut_only_past_two_hundred_characters(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], length: int, cut: bool
) -> None:
    """A name of 200 characters is echoed whole; one of 201 becomes 197 and "...", so that
    the shown name is never longer than 200."""
    _, key = pki
    text = "O" * (length - 2)  # rendered "O=OOO...": two characters more
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, text)])
    leaf = _leaf(_root(key, "stranger"), key, subject=name)
    other = _root(ec.generate_private_key(ec.SECP256R1()), "Other")
    error = validate([leaf], "a.test", [other], NOW).validation.error or ""
    whole = f"O={text}"
    assert (whole in error) is not cut
    assert (f"{whole[:197]}..." in error) is cut


@pytest.mark.parametrize("count", [4, 5, 6])
def test_a_name_mismatch_lists_four_names_and_counts_the_rest(
    pki: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], count: int
) -> None:
    """The names a certificate is valid for: all of them up to four, then four and how many
    more, so that a certificate with hundreds of SANs keeps the reason one short line."""
    root, key = pki
    names = [f"n{i}.test" for i in range(count)]
    leaf = _leaf(root, key, sans=[x509.DNSName(n) for n in names])
    error = validate([leaf], "a.test", [root], NOW).validation.error or ""
    more = f" and {count - 4} more" if count > 4 else ""
    assert error.endswith(f"(it is valid for {', '.join(names[:4])}{more})")
