"""ct: the leaf's SCTs meet the Certificate Transparency policy (SPEC.md §8; not built yet)."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Skipped, Verdict


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    return Skipped("certificate transparency checking is not implemented yet"), evidence
    yield  # a generator, as every check is
