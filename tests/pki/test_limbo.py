"""x509-limbo's server-authentication cases through `pinctl verify --chain`.

x509-limbo (C2SP/x509-limbo, Apache-2.0) is the path-validation suite cryptography is
tested with; scripts/limbo.py extracts the cases whose verdict does not depend on the time
(`verify --at` is not built yet) into tests/data/limbo/server-now.json. Each case becomes
a pin file for its peer name, its trusted certificates as ca_file, and the leaf's key as
the pin; the case's chain is judged offline. pinctl's chain verdict (pass or fail) must
be limbo's expected result, except for the cases in DIFFERENCES, each with its cause:

- cryptography: pinctl's verdict is cryptography's own verifier's, which differs from
  limbo's expectation (limbo records these for cryptography too);
- policy: one of pinctl's documented relaxations for private CAs (README, "Trust");
- revocation: `verify --chain` reads no CRL (revocation is issue #16's);
- harness: the case asks for something a pin file cannot say.

A difference that goes away fails too, so the table stays the truth. Agreement today:
124 of 170 cases (72.9%); of the 46 others, 34 are cryptography's verdict, 5 policy,
4 revocation, 3 harness.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Run

DATA = Path(__file__).resolve().parents[1] / "data" / "limbo" / "server-now.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text())["testcases"]

CRYPTOGRAPHY = "cryptography"
POLICY = "policy"
REVOCATION = "revocation"
HARNESS = "harness"

DIFFERENCES: dict[str, tuple[str, str]] = {
    # -- revocation: no CRL is read by verify --chain
    "crl::revoked-certificate-with-crl": (REVOCATION, "the CRL that revokes the leaf is not read"),
    "crl::crlnumber-missing": (REVOCATION, "the malformed CRL is not read"),
    "crl::crlnumber-critical": (REVOCATION, "the malformed CRL is not read"),
    "crl::issuer-missing-crlsign": (REVOCATION, "the CRL's issuer is not checked"),
    # -- harness
    "pathlen::max-chain-depth-0-exhausted": (HARNESS, "a pin file sets no max_chain_depth"),
    "pathlen::max-chain-depth-1-exhausted": (HARNESS, "a pin file sets no max_chain_depth"),
    "rfc5280::nc::permitted-dn-match": (
        HARNESS,
        "no peer name; verify needs a host, and the pin file refuses an empty one (exit 2)",
    ),
    # -- policy: pinctl's relaxations for private CAs, as OpenSSL-based clients accept
    "rfc5280::aki::leaf-missing-aki": (POLICY, "a leaf without authorityKeyIdentifier"),
    "rfc5280::san::noncritical-with-empty-subject": (
        POLICY,
        "an empty subject beside a non-critical subjectAltName",
    ),
    "webpki::eku::ee-critical-eku": (POLICY, "a critical extendedKeyUsage in the leaf"),
    "webpki::san::san-critical-with-nonempty-subject": (
        POLICY,
        "a critical subjectAltName in the leaf",
    ),
    "webpki::ee-basicconstraints-ca": (POLICY, "a leaf asserting cA=TRUE"),
    # -- cryptography's own verdict
    "crl::issuer-no-keyusage-extension": (CRYPTOGRAPHY, "requires keyUsage in a CA"),
    "pathlen::validation-ignores-pathlen-in-leaf": (
        CRYPTOGRAPHY,
        "refuses a leaf asserting keyCertSign",
    ),
    "pathlen::self-issued-certs-pathlen": (CRYPTOGRAPHY, "does not build this self-issued path"),
    "rfc5280::ca-as-leaf": (CRYPTOGRAPHY, "refuses a leaf asserting keyCertSign"),
    "rfc5280::aki::intermediate-missing-aki": (CRYPTOGRAPHY, "does not require AKI in a CA"),
    "rfc5280::aki::cross-signed-root-missing-aki": (CRYPTOGRAPHY, "does not require AKI"),
    "rfc5280::nc::permitted-dns-match-noncritical": (
        CRYPTOGRAPHY,
        "accepts non-critical nameConstraints",
    ),
    "rfc5280::pc::ica-noncritical-pc": (CRYPTOGRAPHY, "accepts non-critical policyConstraints"),
    "rfc5280::serial::zero": (CRYPTOGRAPHY, "accepts a zero serial number"),
    "rfc5280::ski::root-missing-ski": (CRYPTOGRAPHY, "does not require SKI"),
    "rfc5280::ski::intermediate-missing-ski": (CRYPTOGRAPHY, "does not require SKI"),
    "webpki::aki::root-with-aki-authoritycertissuer": (CRYPTOGRAPHY, "does not check a root's AKI"),
    "webpki::aki::root-with-aki-authoritycertserialnumber": (
        CRYPTOGRAPHY,
        "does not check a root's AKI",
    ),
    "webpki::aki::root-with-aki-all-fields": (CRYPTOGRAPHY, "does not check a root's AKI"),
    "webpki::aki::root-with-aki-ski-mismatch": (CRYPTOGRAPHY, "does not check a root's AKI"),
    "webpki::cn::ipv4-hex-mismatch": (CRYPTOGRAPHY, "does not compare the CN with the SAN"),
    "webpki::cn::ipv4-leading-zeros-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::ipv6-uppercase-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::ipv6-uncompressed-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::ipv6-non-rfc5952-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::punycode-not-in-san": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::utf8-vs-punycode-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::not-in-san": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::cn::case-mismatch": (CRYPTOGRAPHY, "does not compare CN and SAN"),
    "webpki::eku::ee-anyeku": (CRYPTOGRAPHY, "accepts anyExtendedKeyUsage in a leaf"),
    "webpki::eku::ee-without-eku": (CRYPTOGRAPHY, "accepts a leaf without EKU"),
    "webpki::eku::root-has-eku": (CRYPTOGRAPHY, "accepts a root with EKU"),
    "webpki::san::public-suffix-multi-label-wildcard-san": (
        CRYPTOGRAPHY,
        "knows no public suffix list",
    ),
    "webpki::san::public-suffix-private-namespace-wildcard-san": (
        CRYPTOGRAPHY,
        "knows no public suffix list",
    ),
    "webpki::forbidden-p192-leaf": (CRYPTOGRAPHY, "accepts a P-192 leaf key"),
    "webpki::forbidden-dsa-leaf": (CRYPTOGRAPHY, "accepts a DSA leaf key"),
    "webpki::forbidden-weak-rsa-in-leaf": (CRYPTOGRAPHY, "accepts a weak RSA leaf key"),
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": (
        CRYPTOGRAPHY,
        "accepts an RSA modulus not a multiple of 8 bits",
    ),
    "webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf": (
        CRYPTOGRAPHY,
        "accepts an RSA modulus not a multiple of 8 bits",
    ),
}


def _verdict(case: dict[str, Any], tmp: Path, run: Run) -> str:
    """SUCCESS or FAILURE as pinctl's chain check says, or `error` for a refused pin file."""
    (tmp / "ca.pem").write_text("".join(case["trusted_certs"]))
    (tmp / "chain.pem").write_text(
        case["peer_certificate"] + "".join(case["untrusted_intermediates"])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # limbo's, on purpose
        leaf = x509.load_pem_x509_certificate(case["peer_certificate"].encode())
    pin = compute(spki_der(leaf.public_key()))
    peer = case["expected_peer_name"]
    (tmp / "pins.toml").write_text(
        f'version = 1\n[defaults]\nca_file = "{tmp / "ca.pem"}"\n[[hosts]]\n'
        f'host = {json.dumps(peer["value"] if peer else "")}\npins = [{{ pin = "{pin}" }}]\n'
    )
    args = ["verify", "--pin-file", str(tmp / "pins.toml"), "--chain", str(tmp / "chain.pem")]
    result = run([*args, "-o", "json"])
    if result.exit_code == 2:
        assert result.stderr.startswith("pinctl: error: ")
        return "error"
    assert result.exit_code in (0, 1), result.stderr
    [host] = json.loads(result.stdout)["hosts"]
    checks = {check["check"]: check["result"] for check in host["checks"]}
    assert "internal error" not in str(host["error"]), host["error"]
    # Fail closed: a chain that failed never passes the host.
    assert result.exit_code == (0 if checks["chain"] == "pass" else 1)
    return "SUCCESS" if checks["chain"] == "pass" else "FAILURE"


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_limbo_case(case: dict[str, Any], tmp_path: Path, run: Run) -> None:
    got = _verdict(case, tmp_path, run)
    if case["id"] in DIFFERENCES:
        cause, why = DIFFERENCES[case["id"]]
        assert got != case["expected_result"], f"documented difference gone ({cause}: {why})"
    else:
        assert got == case["expected_result"], case["description"]


def test_every_difference_names_a_case_and_a_known_cause() -> None:
    ids = {case["id"] for case in CASES}
    assert set(DIFFERENCES) <= ids
    assert {cause for cause, _ in DIFFERENCES.values()} <= {
        CRYPTOGRAPHY,
        POLICY,
        REVOCATION,
        HARNESS,
    }
    counts = {
        c: sum(1 for k, _ in DIFFERENCES.values() if k == c)
        for c in (CRYPTOGRAPHY, POLICY, REVOCATION, HARNESS)
    }
    assert (len(CASES), len(CASES) - len(DIFFERENCES)) == (170, 124)
    assert counts == {CRYPTOGRAPHY: 34, POLICY: 5, REVOCATION: 4, HARNESS: 3}
