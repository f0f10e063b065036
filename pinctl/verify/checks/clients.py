"""clients: each selected client (`--as`) would accept the chain (SPEC.md §9; not built yet)."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Skipped, Verdict

NOT_BUILT = Skipped("per-client verdicts (--as) are not implemented yet")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    return NOT_BUILT, evidence
    yield  # a generator, as every check is
