"""ct: the leaf's SCTs meet the Certificate Transparency policy (SPEC.md §8; not built yet)."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Skipped, Verdict

NOT_BUILT = Skipped("certificate transparency checking is not implemented yet")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    return NOT_BUILT, evidence
    yield  # a generator, as every check is
