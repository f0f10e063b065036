"""revocation: no certificate of the validated path is revoked (SPEC.md section 7).

It runs after the compute step and goes back to the network for CRLs and OCSP (the pool
gives it a slot and one more timeout). The facts come from `pinctl.net.revocation`; the
mode decides what they mean here: `soft` fails a revoked certificate and warns about one
whose sources gave no answer, `hard` makes that `revocation-unavailable`, `require` also
a certificate that names no source, and a must-staple leaf without a valid staple is
`revocation-unavailable` in every mode but `off`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import PASSED, Failed, Passed, Skipped, Unchecked, Verdict

if TYPE_CHECKING:
    from pinctl.pki.revocation import CertRevocation, PathRevocation

OFF = Skipped("--revocation off")
NOT_REACHED = Skipped("no chain: the host was not reached")
NO_PATH = Skipped("no validated path: revocation is checked on the path the chain check found")


def mode_of(subject: Subject) -> str:
    """`--revocation`, else the host's, else `[defaults]`' (itself `soft` by default)."""
    return subject.revocation or subject.entry.revocation or subject.defaults.revocation


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    from pinctl.pki.revocation import PathRevocation

    mode = mode_of(subject)
    if mode == "off" or subject.fetcher is None:
        return OFF, evidence._replace(revocation=PathRevocation("off"))
    if evidence.seen is None:
        return NOT_REACHED, evidence
    if evidence.path is None:
        return NO_PATH, evidence
    tls = evidence.seen.tls
    staple = tls.stapled_ocsp if tls is not None else None
    report = yield from subject.fetcher.check_path(evidence.path, staple, mode, subject.now)
    return judge(report), evidence._replace(revocation=report)


def judge(report: PathRevocation) -> Verdict:
    """The verdict the mode gives the facts; the most serious finding names it."""
    certs = report.certs
    revoked = [c for c in certs if c.status == "revoked"]
    if revoked:
        return Failed("revoked", "; ".join(_revoked(c) for c in revoked))
    unmet = [c for c in certs if c.must_staple]
    if unmet:
        return Unchecked(
            "revocation-unavailable",
            f"{_name(unmet[0])} is must-staple and no valid stapled OCSP response came"
            + (f" ({unmet[0].error})" if unmet[0].error else ""),
        )
    failing = {"unknown", "unavailable"} | ({"no-source"} if report.mode == "require" else set())
    unanswered = [c for c in certs if c.status in failing]
    if unanswered and report.mode in ("hard", "require"):
        return Unchecked("revocation-unavailable", "; ".join(_unanswered(c) for c in unanswered))
    answered = [c for c in certs if c.source is not None]
    if not answered:
        return PASSED
    sources = sorted({c.source for c in answered if c.source})
    return Passed(f"{len(answered)} of {len(certs)} not revoked ({', '.join(sources)})")


def warnings(report: PathRevocation | None) -> tuple[str, ...]:
    """Under `soft`, a certificate whose named sources all gave no answer is a warning."""
    if report is None or report.mode != "soft":
        return ()
    return tuple(
        f"revocation unchecked: {_unanswered(c)}"
        for c in report.certs
        if c.status in ("unknown", "unavailable") and not c.must_staple
    )


def _name(cert: CertRevocation) -> str:
    return f"certificate {cert.position} ({cert.subject})"


def _revoked(cert: CertRevocation) -> str:
    answer = cert.answer
    when = f" at {answer.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if answer and answer.revoked_at else ""
    why = f" ({answer.reason})" if answer and answer.reason else ""
    where = f" per {cert.source} {cert.url}" if cert.url else f" per {cert.source}"
    return f"{_name(cert)} is revoked{when}{why}{where}"


def _unanswered(cert: CertRevocation) -> str:
    if cert.status == "no-source":
        return f"{_name(cert)} names no CRL or OCSP source (--revocation require)"
    what = "unknown to its responders" if cert.status == "unknown" else "no source answered"
    return f"{_name(cert)}: {what}" + (f": {cert.error}" if cert.error else "")
