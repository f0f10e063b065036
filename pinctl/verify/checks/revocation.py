"""revocation: no certificate of the path is revoked (SPEC.md section 7; not built yet).

It runs after the compute step and may go back to the network (OCSP, CRLs): a check is
a generator of waits, and the pool gives it a slot again when it does.
"""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Skipped, Verdict

NOT_BUILT = Skipped("revocation checking is not implemented yet")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    return NOT_BUILT, evidence
    yield  # a generator, as every check is
