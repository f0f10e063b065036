"""What each --revocation mode makes of the same facts (SPEC.md section 7's table)."""

from __future__ import annotations

import datetime as dt

import pytest
import trustme
from cryptography import x509

from pinctl.pki.crl import Answer
from pinctl.pki.revocation import CertRevocation, CertState, PathRevocation
from pinctl.verify.checks.revocation import judge, warnings
from pinctl.verify.verdicts import Failed, Passed, Unchecked

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
CERT = x509.load_pem_x509_certificate(trustme.CA().issue_cert("a.test").cert_chain_pems[0].bytes())


def _cert(status: CertState, *, must_staple: bool = False) -> CertRevocation:
    answered = status in ("good", "revoked")
    return CertRevocation(
        0,
        CERT,
        status,
        "crl" if answered else None,
        "http://crl.test/a.crl" if answered else None,
        Answer(status, NOW, None, NOW if status == "revoked" else None, "keyCompromise")  # type: ignore[arg-type]
        if answered
        else None,
        () if answered else ("CRL http://crl.test/a.crl: HTTP 404",),
        must_staple,
    )


@pytest.mark.parametrize(
    ("status", "soft", "hard", "require"),
    [
        ("good", Passed, Passed, Passed),
        ("revoked", Failed, Failed, Failed),
        ("unavailable", Passed, Unchecked, Unchecked),
        ("unknown", Passed, Unchecked, Unchecked),
        ("no-source", Passed, Passed, Unchecked),
    ],
)
def test_each_mode_judges_the_facts_as_the_table_says(
    status: CertState, soft: type, hard: type, require: type
) -> None:
    """Revoked fails in every mode; no answer fails from hard on; no source only in require."""
    for mode, expected in (("soft", soft), ("hard", hard), ("require", require)):
        verdict = judge(PathRevocation(mode, (_cert(status),)))
        assert isinstance(verdict, expected), (mode, verdict)
        if isinstance(verdict, Failed):
            assert verdict.status == "revoked"
        if isinstance(verdict, Unchecked):
            assert verdict.status == "revocation-unavailable"


def test_soft_warns_about_an_unanswered_certificate_only() -> None:
    """Under soft an unanswered certificate is a warning naming its fault; good is silent,
    and hard (where it is a verdict) adds no warning."""
    [warning] = warnings(PathRevocation("soft", (_cert("unavailable"), _cert("good"))))
    assert "HTTP 404" in warning
    assert warnings(PathRevocation("soft", (_cert("no-source"),))) == ()
    assert warnings(PathRevocation("hard", (_cert("unavailable"),))) == ()


def test_must_staple_without_a_staple_is_unavailable_in_every_mode() -> None:
    """Even a good CRL answer does not excuse a missing staple on a must-staple leaf."""
    for mode in ("soft", "hard", "require"):
        verdict = judge(PathRevocation(mode, (_cert("good", must_staple=True),)))
        assert isinstance(verdict, Unchecked)
        assert "must-staple" in verdict.reason


def test_the_path_status_summarises_its_certificates() -> None:
    """The JSON status: revoked if any is, else unavailable if any went unanswered."""
    assert PathRevocation("soft", (_cert("good"), _cert("revoked"))).status == "revoked"
    assert PathRevocation("soft", (_cert("good"), _cert("unknown"))).status == "unavailable"
    assert PathRevocation("hard", (_cert("no-source"),)).status == "good"
    assert PathRevocation("require", (_cert("no-source"),)).status == "unavailable"
    assert PathRevocation("off").status == "not-checked"
