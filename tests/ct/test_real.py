"""Real SCTs, real log keys: pinctl verifies what CAs and logs made, against the real lists.

The lists are Google's all-logs list and Apple's current list as published in August 2026
(copied into tests/ct/data/ from ../shared/data/ct/); the certificates come from
cryptography-vectors, asn1crypto-tests and Go's crypto/x509 tests (tests/ct/data/README.md).
Nobody here wrote any of it, so none of it is tuned to pinctl.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pinctl.ct import loglist
from pinctl.ct.report import evaluate
from pinctl.ct.sct import embedded_list
from tests.support.ct import NOW

vectors = pytest.importorskip("cryptography_vectors", reason="pip install -e '.[test]'")
VECTORS = Path(vectors.__file__).parent / "x509"
HERE = Path(__file__).parent / "data"
GOOGLE = HERE / "google_all_logs_list.json"
APPLE = HERE / "apple_current_log_list.json"

REAL = {
    "cryptography.io": (
        VECTORS / "cryptography-scts.pem",
        VECTORS / "letsencryptx3.pem",
        [("Google 'Icarus' log", "Google"), ("Sectigo 'Mammoth' CT log", "Sectigo")],
    ),
    "codexns.io": (
        HERE / "codexns.io.crt",
        HERE / "geotrust-ev-ssl-ca-g4.crt",
        [("Google 'Pilot' log", "Google"), ("Google 'Aviator' log", "Google")],
    ),
    "www.google.com": (
        HERE / "go1.19-googleLeaf.pem",
        HERE / "go1.19-gtsIntermediate.pem",
        [("Cloudflare 'Nimbus 2023' log", "Cloudflare"), ("Google 'Argon 2023' log", "Google")],
    ),
    "tm.cn": (
        HERE / "go1.19-trustAsiaLeaf.pem",
        HERE / "go1.19-trustAsiaSHA384Intermediate.pem",
        [("Google 'Rocketeer' log", "Google"), ("DigiCert Log Server 2", "DigiCert")],
    ),
}


def _shared() -> None:
    """The lists are copied into the repository (tests/ct/data/README.md), so nothing skips."""
    assert APPLE.is_file(), "tests/ct/data lost Apple's CT log list"
    assert GOOGLE.is_file(), "tests/ct/data lost Google's CT log list"


def _cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _flip(der: bytes, at: int) -> x509.Certificate:
    spoiled = bytearray(der)
    spoiled[at] ^= 0x01
    return x509.load_der_x509_certificate(bytes(spoiled))


@pytest.fixture(scope="module")
def apple() -> loglist.LogList:
    _shared()
    return loglist.load(APPLE)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_scts_verify_against_the_real_log_keys(name: str, apple: loglist.LogList) -> None:
    """Every SCT of a real certificate verifies with its real log's key, named as listed."""
    leaf_path, issuer_path, expected = REAL[name]
    report = evaluate(_cert(leaf_path), _cert(issuer_path), None, apple, NOW)
    assert [s.signature for s in report.scts] == ["valid"] * len(expected)
    assert [(s.log.description, s.log.operator) for s in report.scts if s.log] == expected


@pytest.mark.parametrize("name", sorted(REAL))
def test_one_flipped_tbs_byte_invalidates_every_sct(name: str, apple: loglist.LogList) -> None:
    """Failing twin: one bit of the subject changed, the logs signed another certificate."""
    leaf_path, issuer_path, expected = REAL[name]
    der = _cert(leaf_path).public_bytes(serialization.Encoding.DER)
    spoiled = _flip(der, der.index(name.encode()) + 1)
    report = evaluate(spoiled, _cert(issuer_path), None, apple, NOW)
    assert [s.signature for s in report.scts] == ["invalid"] * len(expected)


@pytest.mark.parametrize("name", sorted(REAL))
def test_one_flipped_signature_byte_invalidates_that_sct(name: str, apple: loglist.LogList) -> None:
    """Failing twin: the last SCT's signature changed in its last byte; the others hold."""
    leaf_path, issuer_path, expected = REAL[name]
    leaf = _cert(leaf_path)
    der = leaf.public_bytes(serialization.Encoding.DER)
    raw = embedded_list(leaf)
    assert raw is not None
    report = evaluate(
        _flip(der, der.index(raw) + len(raw) - 1), _cert(issuer_path), None, apple, NOW
    )
    assert [s.signature for s in report.scts] == ["valid"] * (len(expected) - 1) + ["invalid"]


def test_the_issuer_key_hash_is_the_real_issuers(apple: loglist.LogList) -> None:
    """Failing twin: another real CA as issuer (the other certificate's) verifies nothing."""
    leaf_path, _, expected = REAL["cryptography.io"]
    other = _cert(REAL["codexns.io"][1])
    report = evaluate(_cert(leaf_path), other, None, apple, NOW)
    assert [s.signature for s in report.scts] == ["invalid"] * len(expected)


def test_todays_lists_no_longer_accept_these_old_logs(apple: loglist.LogList) -> None:
    """The real logs are rejected by now: valid SCTs, but no policy is met, and the reason
    names the log's state. Apple's list has no timestamp, which is a warning."""
    leaf_path, issuer_path, _ = REAL["cryptography.io"]
    report = evaluate(_cert(leaf_path), _cert(issuer_path), None, apple, NOW)
    # notAfter is notBefore + 90 days to the second; RFC 5280 counts both ends: 91 days.
    assert report.lifetime_days == 91
    assert (report.chrome.compliant, report.apple.compliant) == (False, False)
    assert "rejected" in (report.chrome.reason or "")
    assert any("age is unknown" in w for w in report.warnings)


def test_a_real_sct_from_an_unlisted_log_is_unknown(apple: loglist.LogList) -> None:
    """badssl's invalid-expected-sct certificate carries an SCT of a log no list names."""
    report = evaluate(_cert(VECTORS / "badssl-sct.pem"), None, None, apple, NOW)
    assert [s.signature for s in report.scts] == ["unknown-log"]
    assert report.chrome.compliant is False


def test_the_scts_of_a_real_ocsp_response_are_attributed(apple: loglist.LogList) -> None:
    """A real OCSP response's SCT extension (SwissSign, 2019): four SCTs, named as listed;
    their signatures cover a certificate these tests lack, so against another leaf they
    are invalid, never valid."""
    staple = (VECTORS / "ocsp/resp-sct-extension.der").read_bytes()
    leaf = _cert(VECTORS / "cryptography-scts.pem")
    report = evaluate(leaf, _cert(VECTORS / "letsencryptx3.pem"), staple, apple, NOW)
    stapled = [s for s in report.scts if s.sct.source == "ocsp"]
    assert [(s.log.description, s.log.operator) for s in stapled if s.log] == [
        ("Cloudflare 'Nimbus 2021' log", "Cloudflare"),
        ("Sectigo 'Mammoth' CT log", "Sectigo"),
        ("Google 'Skydiver' log", "Google"),
        ("Google 'Rocketeer' log", "Google"),
    ]
    assert {s.signature for s in stapled} == {"invalid"}


@pytest.mark.parametrize("path", [GOOGLE, APPLE], ids=["google", "apple"])
def test_every_real_log_id_is_the_hash_of_its_key(path: Path) -> None:
    """Both real lists read whole: each log's id is SHA-256 of its key, none left out."""
    _shared()
    listed = loglist.load(path)
    assert listed.warnings == ()
    assert len(listed.logs) > 100
    for log_id, log in listed.logs.items():
        spki = log.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert hashlib.sha256(spki).digest() == log_id, base64.b64encode(log_id)


def test_the_real_google_list_has_tiled_logs_and_states() -> None:
    """Google's list: static-CT logs read from tiled_logs, states as published."""
    _shared()
    listed = loglist.load(GOOGLE)
    assert listed.timestamp is None  # the copy stripped it: the age is unknown
    tiled = [log for log in listed.logs.values() if not log.rfc6962]
    assert tiled
    assert all(log.operator for log in tiled)
    nimbus = listed.logs[base64.b64decode("yzj3FYl8hKFEX1vB3fvJbvKaWc1HCmkFhbDLFMMUWOc=")]
    assert (nimbus.description, nimbus.operator, nimbus.state) == (
        "Cloudflare 'Nimbus2026'",
        "Cloudflare",
        "usable",
    )
    assert nimbus.rfc6962
