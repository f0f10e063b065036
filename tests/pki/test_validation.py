"""Chain validation: trusted or not and why, the name check, the anchor, and the trust store."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pinctl.errors import InputError
from pinctl.pki.validation import Validation, load_roots, validate
from tests.support.pki import KEY_USAGES, NOW, client_only_pki, issue, load, self_signed, served


def test_trusted_leaf_and_anchor_from_store(any_ca: trustme.CA) -> None:
    """An RSA or EC leaf issued by a trusted root validates; the anchor comes from the store."""
    chain = served(any_ca.issue_cert("api.example.test"))
    verdict = validate(chain, "api.example.test", [load(any_ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert verdict.validation.hostname_match
    assert verdict.validation.error is None
    assert verdict.path[0] == chain[0]
    assert verdict.path[-1] == load(any_ca.cert_pem)
    assert not verdict.anchor_served


def test_other_root_is_untrusted(any_ca: trustme.CA) -> None:
    """The same chain against another root is untrusted, and the reason names the issuer."""
    chain = served(any_ca.issue_cert("api.example.test"))
    verdict = validate(chain, "api.example.test", [load(trustme.CA().cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.hostname_match
    assert verdict.validation.error is not None
    assert verdict.validation.error.startswith("unable to find the issuer of ")
    assert verdict.path == tuple(chain)
    assert verdict.anchor_served


def test_intermediate_served_without_root(ca: trustme.CA) -> None:
    """Leaf plus intermediate, root left out, validates to the root in the store."""
    chain = served(ca.create_child_ca().issue_cert("inner.test"))
    assert len(chain) == 2
    verdict = validate(chain, "inner.test", [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert len(verdict.path) == 3
    assert not verdict.anchor_served


def test_missing_intermediate_is_untrusted(ca: trustme.CA) -> None:
    """A leaf whose intermediate was not sent fails, naming the issuer that is missing."""
    leaf = ca.create_child_ca().issue_cert("inner.test")
    chain = served(leaf)[:1]
    verdict = validate(chain, "inner.test", [load(ca.cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.error is not None
    assert chain[0].issuer.rfc4514_string() in verdict.validation.error
    assert "did not send it" in verdict.validation.error


def test_served_root_is_the_served_anchor(ca: trustme.CA) -> None:
    """A root the server sent itself is not added again as a trust-store anchor."""
    chain = [*served(ca.issue_cert("api.example.test")), load(ca.cert_pem)]
    verdict = validate(chain, "api.example.test", [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert verdict.anchor_served


def test_served_root_not_in_store(ca: trustme.CA) -> None:
    """A chain ending in a root the store does not hold says so."""
    chain = [*served(ca.issue_cert("api.example.test")), load(ca.cert_pem)]
    verdict = validate(chain, "api.example.test", [load(trustme.CA().cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.error is not None
    assert "a root that is not in the trust store" in verdict.validation.error


def test_self_signed_not_in_store(ca: trustme.CA) -> None:
    """A self-signed leaf is reported as such, in plain words."""
    verdict = validate([self_signed()], "self.test", [load(ca.cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.hostname_match
    assert verdict.validation.error == "self-signed certificate not in the trust store"


@pytest.mark.parametrize("is_ca", [False, True])
def test_self_signed_in_store_is_trusted(is_ca: bool) -> None:
    """A self-signed certificate given as a trust anchor (--ca-file) is trusted, as by OpenSSL."""
    cert = self_signed(ca=is_ca)
    verdict = validate([cert], "self.test", [cert], NOW)
    assert verdict.validation.trusted, verdict.validation.error
    assert verdict.validation.hostname_match
    assert verdict.anchor_served


def test_expired_leaf(ca: trustme.CA) -> None:
    """An expired leaf is untrusted, and the reason gives the day it expired."""
    expiry = NOW - datetime.timedelta(days=3)
    chain = served(ca.issue_cert("old.test", not_after=expiry))
    verdict = validate(chain, "old.test", [load(ca.cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.error is not None
    assert verdict.validation.error.endswith(f"expired on {expiry:%Y-%m-%d}")


def test_expired_leaf_was_valid_before(ca: trustme.CA) -> None:
    """The same leaf validates at a time before its expiry: the time is an input."""
    expiry = NOW - datetime.timedelta(days=3)
    chain = served(ca.issue_cert("old.test", not_after=expiry))
    verdict = validate(chain, "old.test", [load(ca.cert_pem)], expiry - datetime.timedelta(days=1))
    assert verdict.validation.trusted


def test_not_yet_valid(ca: trustme.CA) -> None:
    """Before not_before, the reason says from when the certificate is valid."""
    chain = served(ca.issue_cert("api.example.test"))
    then = datetime.datetime(1999, 6, 1, tzinfo=datetime.timezone.utc)
    verdict = validate(chain, "api.example.test", [load(ca.cert_pem)], then)
    assert not verdict.validation.trusted
    assert "is not valid before 2000-01-01" in (verdict.validation.error or "")


def test_wrong_hostname_is_still_trusted(ca: trustme.CA) -> None:
    """A name mismatch leaves `trusted` true and lists the names the leaf is valid for."""
    chain = served(ca.issue_cert("a.test", "b.test"))
    verdict = validate(chain, "api.example.test", [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match
    assert verdict.validation.error == (
        "name api.example.test not in the certificate (it is valid for a.test, b.test)"
    )


def test_untrusted_and_wrong_name_gives_both_reasons(ca: trustme.CA) -> None:
    """When both fail, the error carries both reasons."""
    chain = served(ca.issue_cert("a.test"))
    verdict = validate(chain, "b.test", [load(trustme.CA().cert_pem)], NOW)
    assert not verdict.validation.trusted
    assert not verdict.validation.hostname_match
    error = verdict.validation.error or ""
    assert "unable to find the issuer" in error
    assert "name b.test not in the certificate" in error


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("a.wild.test", True),
        ("A.WILD.TEST", True),
        ("a.wild.test.", True),
        ("a.b.wild.test", False),
        ("wild.test", False),
        ("exact.test", True),
        ("notexact.test", False),
        ("127.0.0.1", True),
        ("127.0.0.2", False),
        ("::1", True),
        ("0:0::1", True),
    ],
)
def test_name_matching(ca: trustme.CA, name: str, matches: bool) -> None:
    """Wildcards cover one leftmost label; IP addresses match IP SANs only, in any spelling."""
    chain = served(ca.issue_cert("*.wild.test", "exact.test", "127.0.0.1", "::1"))
    verdict = validate(chain, name, [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert verdict.validation.hostname_match is matches
    # An untrusted chain gets the same answer from pinctl's own reading of the SANs.
    untrusted = validate(chain, name, [load(trustme.CA().cert_pem)], NOW)
    assert untrusted.validation.hostname_match is matches


def test_no_name_to_check(ca: trustme.CA) -> None:
    """Without a name (IP target, no --servername, no address), the match is false with a reason."""
    verdict = validate(served(ca.issue_cert("a.test")), None, [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match
    assert "--servername" in (verdict.validation.error or "")


def test_client_only_leaf_is_untrusted() -> None:
    """A leaf whose extendedKeyUsage excludes TLS servers does not validate."""
    cert = self_signed(eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    verdict = validate([cert], "self.test", [cert], NOW)
    assert not verdict.validation.trusted
    assert "server authentication" in (verdict.validation.error or "")
    ok = self_signed(eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert validate([ok], "self.test", [ok], NOW).validation.trusted


def test_no_roots_is_untrusted(ca: trustme.CA) -> None:
    """With no trust anchors at all nothing is trusted, and the reason says so."""
    verdict = validate(served(ca.issue_cert("a.test")), "a.test", [], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.hostname_match
    assert verdict.validation.error == "no trust anchors to validate against"


def test_load_roots_from_ca_file(tmp_path: Path, ca: trustme.CA) -> None:
    """--ca-file reads a PEM bundle, every certificate in order."""
    other = trustme.CA()
    path = tmp_path / "roots.pem"
    path.write_bytes(ca.cert_pem.bytes() + other.cert_pem.bytes())
    assert load_roots(path) == (load(ca.cert_pem), load(other.cert_pem))


def test_load_roots_der(tmp_path: Path, ca: trustme.CA) -> None:
    """A single DER certificate is accepted as a one-root store."""
    path = tmp_path / "root.der"
    path.write_bytes(load(ca.cert_pem).public_bytes(serialization.Encoding.DER))
    assert load_roots(path) == (load(ca.cert_pem),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no certificates"),
        (b"just some text\n", "holds no certificates"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "unreadable"),
    ],
)
def test_bad_ca_file(tmp_path: Path, content: bytes, message: str) -> None:
    """An empty, textual or corrupt --ca-file is an input error naming the file."""
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_roots(path)
    assert str(path) in str(info.value)


def test_missing_ca_file(tmp_path: Path) -> None:
    """A --ca-file that cannot be read is an input error naming it."""
    path = tmp_path / "absent.pem"
    with pytest.raises(InputError, match="cannot read --ca-file"):
        load_roots(path)


def test_ssl_cert_file_overrides_the_system_store(
    tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE, as OpenSSL honours it, replaces the system store."""
    path = tmp_path / "env-roots.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    assert load_roots(None) == (load(ca.cert_pem),)


def test_system_store_loads_without_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system store loads (when present) without a warning reaching the user."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    try:
        roots = load_roots(None)
    except InputError:
        pytest.skip("no system trust store on this machine")
    assert len(roots) > 10
    assert all(isinstance(root, x509.Certificate) for root in roots)


def test_a_machine_without_a_trust_store_is_told_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bundle where OpenSSL or any distribution keeps one (a bare container): one error
    naming the places tried and the three ways out, not an empty store that trusts nothing."""
    import ssl

    from pinctl.pki import validation

    gone = str(tmp_path / "no-such-bundle.pem")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(validation, "SYSTEM_BUNDLES", (gone,))
    paths = ssl.DefaultVerifyPaths(gone, gone, "SSL_CERT_FILE", gone, "SSL_CERT_DIR", gone)
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths)
    with pytest.raises(InputError) as refused:
        load_roots(None)
    assert str(refused.value) == (
        f"no system trust store found (tried {gone}); "
        "install ca-certificates, set SSL_CERT_FILE, or pass --ca-file"
    )


def test_ip_subject_alternative_names(ca: trustme.CA) -> None:
    """An IPv6 target is matched against IPv6 SANs by value, not by text."""
    chain = served(ca.issue_cert(str(ipaddress.ip_address("2001:db8::1"))))
    verdict = validate(chain, "2001:0db8:0::1", [load(ca.cert_pem)], NOW)
    assert verdict.validation.hostname_match


def test_client_auth_only_intermediate_is_untrusted() -> None:
    """An intermediate whose extendedKeyUsage allows only clientAuth cannot vouch for a server."""
    root, chain, _ = client_only_pki([ExtendedKeyUsageOID.CLIENT_AUTH])
    verdict = validate(chain, "example.test", [root], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.hostname_match
    assert verdict.validation.error == (
        "certificate CN=Intermediate has an extendedKeyUsage that does not allow "
        "TLS server authentication"
    )
    assert verdict.path == tuple(chain)
    # Asked for another name, the chain is still untrusted rather than "trusted, wrong name".
    other = validate(chain, "other.test", [root], NOW)
    assert (other.validation.trusted, other.validation.hostname_match) == (False, False)


@pytest.mark.parametrize(
    "middle_eku", [None, [ExtendedKeyUsageOID.SERVER_AUTH]], ids=["no-eku", "server-auth"]
)
def test_the_intermediate_named_is_the_one_whose_eku_forbids_servers(
    middle_eku: list[x509.ObjectIdentifier] | None,
) -> None:
    """Below a clientAuth-only intermediate, one with no extendedKeyUsage at all (which
    allows every use) or one allowing serverAuth is not blamed: the reason names the one
    that forbids TLS servers."""
    root = issue("Root")
    strict = issue("Client Only", root, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    open_ca = issue("No EKU", strict, eku=middle_eku)
    leaf, _ = issue("leaf", open_ca, sans=["example.test"], eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    verdict = validate([leaf, open_ca[0], strict[0]], "example.test", [root[0]], NOW)
    assert not verdict.validation.trusted
    assert verdict.validation.error == (
        "certificate CN=Client Only has an extendedKeyUsage that does not allow "
        "TLS server authentication"
    )


def test_server_auth_intermediate_is_trusted() -> None:
    """The twin: the same hierarchy with serverAuth on the intermediate validates."""
    root, chain, _ = client_only_pki([ExtendedKeyUsageOID.SERVER_AUTH])
    verdict = validate(chain, "example.test", [root], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (True, True)
    assert verdict.path == (*chain, root)
    other = validate(chain, "other.test", [root], NOW)
    assert (other.validation.trusted, other.validation.hostname_match) == (True, False)


def test_name_constrained_intermediate_is_untrusted() -> None:
    """A leaf outside its intermediate's permitted names is untrusted, whatever name is asked."""
    root = issue("Root")
    key = ec.generate_private_key(ec.SECP256R1())
    constraints = x509.NameConstraints([x509.DNSName("permitted.test")], None)
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Constrained")]))
        .issuer_name(root[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root[1].public_key()), False
        )
        .add_extension(
            x509.KeyUsage(**(dict.fromkeys(KEY_USAGES, False) | {"key_cert_sign": True})), True
        )
        .add_extension(constraints, critical=True)
        .sign(root[1], hashes.SHA256())
    )
    outside, _ = issue("outside", (intermediate, key), sans=["example.test"])
    inside, _ = issue("inside", (intermediate, key), sans=["api.permitted.test"])
    for name in ("example.test", "other.test"):
        verdict = validate([outside, intermediate], name, [root[0]], NOW)
        assert not verdict.validation.trusted
        assert "name constraints" in (verdict.validation.error or "")
    assert validate([inside, intermediate], "api.permitted.test", [root[0]], NOW).validation == (
        Validation(True, True, None)
    )


def test_wildcard_only_leaf_is_trusted_for_another_name(ca: trustme.CA) -> None:
    """A leaf with only a wildcard name is judged trusted with a name the wildcard covers."""
    chain = served(ca.issue_cert("*.wild.test"))
    verdict = validate(chain, "other.test", [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match
    assert verdict.validation.error == (
        "name other.test not in the certificate (it is valid for *.wild.test)"
    )
    assert verdict.path[-1] == load(ca.cert_pem)


def test_ip_only_leaf_is_trusted_without_a_name(ca: trustme.CA) -> None:
    """A leaf naming only an IP address is trusted; with no name to check, the match fails."""
    verdict = validate(served(ca.issue_cert("127.0.0.1")), None, [load(ca.cert_pem)], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match


def test_leaf_without_san_is_untrusted() -> None:
    """A leaf with no subjectAltName is untrusted (the Web PKI requires one), and says so."""
    root = issue("Root")
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")]))
        .issuer_name(root[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=90))
        .sign(root[1], hashes.SHA256())
    )
    verdict = validate([leaf], "example.test", [root[0]], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, False)
    assert (verdict.validation.error or "").startswith(
        "the leaf has no subjectAltName naming a host; name example.test not in the certificate"
    )


@pytest.mark.parametrize("name", ["foo_bar.example.test", "-lead.example.test"])
def test_invalid_dns_name_is_a_name_problem(name: str) -> None:
    """A target name the verifier refuses (underscore, leading hyphen) is a name error."""
    root = issue("Root")
    leaf, _ = issue("leaf", root, sans=[name, "ok.example.test"])
    verdict = validate([leaf], name, [root[0]], NOW)
    assert verdict.validation.trusted
    assert not verdict.validation.hostname_match
    assert verdict.validation.error == (
        f"name {name} is refused: not a valid DNS name "
        "(letters, digits and hyphens only, no label starting with a hyphen)"
    )
    assert validate([leaf], "ok.example.test", [root[0]], NOW).validation == (
        Validation(True, True, None)
    )


def test_leaf_with_only_invalid_names_is_untrusted() -> None:
    """When no name of the leaf can be checked, nothing vouches for the chain: untrusted."""
    root = issue("Root")
    leaf, _ = issue("leaf", root, sans=["foo_bar.example.test"])
    verdict = validate([leaf], "foo_bar.example.test", [root[0]], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, False)
    assert (verdict.validation.error or "").startswith(
        "the leaf names no valid DNS name or IP address (foo_bar.example.test); "
        "name foo_bar.example.test is refused"
    )


def test_ca_file_with_nul_byte(tmp_path: Path) -> None:
    """A ca_file path with a NUL byte is an input error naming it, not an internal error."""
    with pytest.raises(InputError, match=r"cannot read --ca-file .*a\\x00b: .*NUL byte"):
        load_roots(tmp_path / "a\x00b")


def _leaf_with_dns_san(
    value: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> x509.Certificate:
    """A leaf whose dNSName is `value` as written, even a U-label RFC 5280 forbids there."""
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.DNSName._init_without_validation(value)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer[1], hashes.SHA256())
    )


def test_a_unicode_dns_san_is_refused_not_a_crash() -> None:
    """x509-limbo webpki::san::unicode-emoji-san: a dNSName of U-labels matches no name and
    is untrusted with a reason; before, cryptography's DNSName raised out of validation."""
    root = issue("Root")
    leaf = _leaf_with_dns_san("\N{FACE WITH STUCK-OUT TONGUE AND WINKING EYE}.example.com", root)
    verdict = validate([leaf], "xn--628h.example.com", [root[0]], NOW)
    assert (verdict.validation.trusted, verdict.validation.hostname_match) == (False, False)
    assert "names no valid DNS name" in (verdict.validation.error or "")
    assert "name xn--628h.example.com not in the certificate" in (verdict.validation.error or "")


def test_the_ascii_twin_of_the_unicode_san_validates() -> None:
    root = issue("Root")
    leaf = _leaf_with_dns_san("xn--628h.example.com", root)
    verdict = validate([leaf], "xn--628h.example.com", [root[0]], NOW)
    assert verdict.validation == Validation(True, True, None)


def test_the_stores_kept_for_sets_of_roots_are_bounded() -> None:
    """A caller validating against many sets of roots (a long-lived process, a pin file of
    many ca_files) keeps at most 8 stores, and the roots they hold, alive; each set still
    validates its own chain and no other."""
    from pinctl.pki import validation

    cas = [trustme.CA() for _ in range(12)]
    chains = [served(ca.issue_cert("example.test")) for ca in cas]
    for ca, chain in zip(cas, chains, strict=True):
        roots = (load(ca.cert_pem),)
        assert validate(chain, "example.test", roots, NOW).validation.trusted
        assert not validate(chains[0] if chain is not chains[0] else chains[1], "example.test",
                            roots, NOW).validation.trusted  # fmt: skip
        assert len(validation._STORES) <= 8
    # Below the bound a set's store is built once, however the sets alternate.
    first, second = (load(cas[0].cert_pem),), (load(cas[1].cert_pem),)
    validation._STORES.clear()
    kept = validation._store(first)
    validation._store(second)
    assert validation._store(first) is kept


def test_a_name_the_leaf_does_not_claim_is_a_false_match_not_an_unknown_one(
    ca: trustme.CA,
) -> None:
    """hostname_match is a boolean either way (JSON false, never null): a trusted chain
    asked for a name its leaf lacks is (trusted, no match); the name it has, a match."""
    chain = served(ca.issue_cert("example.test"))
    other = validate(chain, "other.test", [load(ca.cert_pem)], NOW).validation
    assert (other.trusted, other.hostname_match) == (True, False)
    assert other.hostname_match is False
    assert other.error == "name other.test not in the certificate (it is valid for example.test)"
    assert (
        validate(chain, "example.test", [load(ca.cert_pem)], NOW).validation.hostname_match is True
    )
