"""pinctl's chain verdict beside OpenSSL's, for every kind of chain the tests build.

The judge is `openssl verify -purpose sslserver -verify_hostname NAME`, which is what an
OpenSSL-based client (curl, Python) decides. Where the two are meant to agree, they must;
every documented difference is its own named test below, asserting both sides. Host-name
matching is held to `openssl x509 -checkhost` by a property test.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinctl.pki.validation import validate
from tests.support.pki import (
    KEY_USAGES,
    NOW,
    client_only_pki,
    issue,
    issuer_loop,
    path_bomb,
    pem,
    self_signed,
)
from tests.support.tools import needs

pytestmark = needs("openssl")

Key = ec.EllipticCurvePrivateKey


@dataclass
class Scenario:
    served: list[x509.Certificate]
    roots: list[x509.Certificate]
    name: str


def openssl_accepts(scenario: Scenario, tmp: Path) -> tuple[bool, str]:
    (tmp / "roots.pem").write_bytes(pem(scenario.roots))
    (tmp / "leaf.pem").write_bytes(pem(scenario.served[:1]))
    args = ["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(tmp / "roots.pem")]
    if scenario.served[1:]:
        (tmp / "untrusted.pem").write_bytes(pem(scenario.served[1:]))
        args += ["-untrusted", str(tmp / "untrusted.pem")]
    args += ["-verify_hostname", scenario.name, str(tmp / "leaf.pem")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode == 0, done.stdout + done.stderr


def pinctl_accepts(scenario: Scenario) -> tuple[bool, str | None]:
    found = validate(scenario.served, scenario.name, scenario.roots, NOW).validation
    return found.trusted and found.hostname_match, found.error


def leaf_with(
    issuer: tuple[x509.Certificate, Key],
    *,
    sans: list[str] | None = None,
    cn: str = "leaf",
    san_critical: bool = False,
    eku_critical: bool | None = None,
    ca: bool = False,
    aki: bool = True,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A leaf with the one property a scenario is about."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=2))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans is not None:
        names = [x509.DNSName(s) for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=san_critical)
    if eku_critical is not None:
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
        builder = builder.add_extension(eku, critical=eku_critical)
    if aki:
        ident = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key())
        builder = builder.add_extension(ident, critical=False)
    return builder.sign(issuer[1], hashes.SHA256())


def constrained(root: tuple[x509.Certificate, Key]) -> tuple[x509.Certificate, Key]:
    key = ec.generate_private_key(ec.SECP256R1())
    usage = dict.fromkeys(KEY_USAGES, False) | {"key_cert_sign": True}
    cert = (
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
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.NameConstraints([x509.DNSName("permitted.test")], None), critical=True)
        .sign(root[1], hashes.SHA256())
    )
    return cert, key


def _good(name: str = "example.test") -> Scenario:
    root = issue("Root")
    inter = issue("Intermediate", root)
    leaf, _ = issue("leaf", inter, sans=["example.test", "*.wild.test"])
    return Scenario([leaf, inter[0]], [root[0]], name)


def _expired() -> Scenario:
    root = issue("Root")
    leaf = leaf_with(root, sans=["example.test"], not_after=NOW - datetime.timedelta(days=1))
    return Scenario([leaf], [root[0]], "example.test")


def _wrong_root() -> Scenario:
    good = _good()
    return Scenario(good.served, [issue("Another root")[0]], "example.test")


def _client_only(eku: x509.ObjectIdentifier) -> Callable[[], Scenario]:
    def build() -> Scenario:
        root, chain, _ = client_only_pki([eku])
        return Scenario(chain, [root], "example.test")

    return build


def _constrained(inside: bool) -> Callable[[], Scenario]:
    def build() -> Scenario:
        root = issue("Root")
        inter = constrained(root)
        name = "api.permitted.test" if inside else "example.test"
        return Scenario([leaf_with(inter, sans=[name]), inter[0]], [root[0]], name)

    return build


def _leaf(**fields: bool) -> Callable[[], Scenario]:
    def build() -> Scenario:
        root = issue("Root")
        leaf = leaf_with(root, sans=["example.test"], **fields)  # type: ignore[arg-type]
        return Scenario([leaf], [root[0]], "example.test")

    return build


def _self_signed(in_store: bool) -> Callable[[], Scenario]:
    def build() -> Scenario:
        cert = self_signed("example.test")
        return Scenario([cert], [cert] if in_store else [issue("Root")[0]], "example.test")

    return build


def _loop() -> Scenario:
    chain, _ = issuer_loop("example.test")
    return Scenario(chain, [issue("Root")[0]], "example.test")


def _bomb() -> Scenario:
    chain, _ = path_bomb(4, 5, "example.test")
    return Scenario(chain, [issue("Root")[0]], "example.test")


AGREE: dict[str, tuple[Callable[[], Scenario], bool]] = {
    "good": (_good, True),
    "good-wildcard": (lambda: _good("a.wild.test"), True),
    "wildcard-two-labels-deep": (lambda: _good("b.a.wild.test"), False),
    "wrong-name": (lambda: _good("other.test"), False),
    "expired-leaf": (_expired, False),
    "wrong-root": (_wrong_root, False),
    "clientauth-only-intermediate": (_client_only(ExtendedKeyUsageOID.CLIENT_AUTH), False),
    "serverauth-intermediate": (_client_only(ExtendedKeyUsageOID.SERVER_AUTH), True),
    "name-constrained-outside": (_constrained(inside=False), False),
    "name-constrained-inside": (_constrained(inside=True), True),
    "critical-san": (_leaf(san_critical=True), True),
    "critical-eku": (_leaf(eku_critical=True), True),
    "noncritical-eku": (_leaf(eku_critical=False), True),
    "leaf-without-aki": (_leaf(aki=False), True),
    "leaf-asserting-ca": (_leaf(ca=True), True),
    "self-signed-not-in-store": (_self_signed(in_store=False), False),
    "self-signed-in-store": (_self_signed(in_store=True), True),
    "issuer-loop": (_loop, False),
    "path-building-bomb": (_bomb, False),
}


@pytest.mark.parametrize(("build", "accepted"), AGREE.values(), ids=AGREE.keys())
def test_pinctl_and_openssl_agree(
    build: Callable[[], Scenario], accepted: bool, tmp_path: Path
) -> None:
    scenario = build()
    ours, why = pinctl_accepts(scenario)
    theirs, said = openssl_accepts(scenario, tmp_path)
    assert theirs == accepted, said
    assert ours == accepted, why


def test_difference_a_leaf_named_only_in_its_cn(tmp_path: Path) -> None:
    """OpenSSL falls back on the subject CN when there is no DNS subjectAltName; pinctl,
    like every browser and cryptography (RFC 6125 section 6.4.4), does not."""
    root = issue("Root")
    scenario = Scenario([leaf_with(root, cn="example.test")], [root[0]], "example.test")
    assert openssl_accepts(scenario, tmp_path)[0]
    ours, why = pinctl_accepts(scenario)
    assert not ours
    assert "no subjectAltName" in (why or "")


def test_difference_a_partial_wildcard(tmp_path: Path) -> None:
    """OpenSSL matches f*.example.test against foo.example.test; pinctl, like cryptography
    and RFC 6125's recommendation, accepts a wildcard only as a whole leftmost label."""
    root = issue("Root")
    scenario = Scenario([leaf_with(root, sans=["f*.example.test"])], [root[0]], "foo.example.test")
    assert openssl_accepts(scenario, tmp_path)[0]
    assert not pinctl_accepts(scenario)[0]


LABELS = st.sampled_from(["a", "b", "xn--bcher-kva", "a-b", "A", "0"])
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join)
PATTERNS = st.one_of(
    NAMES, st.lists(LABELS, min_size=1, max_size=3).map(lambda ls: "*." + ".".join(ls))
)


def checkhost(cert: Path, name: str) -> bool:
    done = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-checkhost", name],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return "does match certificate" in done.stdout


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=PATTERNS, name=NAMES)
def test_host_name_matching_is_openssls(pattern: str, name: str, tmp_path: Path) -> None:
    """For whole-label wildcards and exact names, pinctl matches a name exactly when
    `openssl x509 -checkhost` does (case-insensitively, one label per wildcard)."""
    root = issue("Root")
    leaf = leaf_with(root, sans=[pattern])
    path = tmp_path / "leaf.pem"
    path.write_bytes(pem([leaf]))
    found = validate([leaf], name, [root[0]], NOW).validation
    assert found.hostname_match == checkhost(path, name), (pattern, name, found.error)
