"""chain: the served chain leads to a trusted root and its leaf is valid for the host name."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import PASSED, Failed, Skipped, Verdict

KEY_ALONE = Skipped("verify_chain = false: the host is pinned by key alone")
NOT_REACHED = Skipped("no chain: the host was not reached")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    """Validated once per host: the path found here is what pins and warnings judge."""
    if not subject.entry.verify_chain:
        return KEY_ALONE, evidence
    if evidence.seen is None:
        return NOT_REACHED, evidence
    from pinctl.pki import validation

    verdict = validation.validate(
        evidence.seen.served, subject.target.check_name, subject.roots, subject.now
    )
    found = verdict.validation
    path = tuple(verdict.path) if found.trusted and verdict.path else None
    handed = Evidence(evidence.seen, path, evidence.matched)
    if path is None:
        reason = found.error or "the chain does not lead to a trusted root"
        return Failed("untrusted", reason), handed
    if not found.hostname_match:
        reason = found.error or f"the certificate is not valid for {subject.entry.host}"
        return Failed("hostname-mismatch", reason), handed
    return PASSED, handed
    yield  # a generator, as every check is
