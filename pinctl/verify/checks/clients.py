"""clients: each selected client (`--as`) would accept the chain (SPEC.md §9; not built yet)."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Skipped, Verdict


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    return Skipped("per-client verdicts (--as) are not implemented yet"), evidence
    yield  # a generator, as every check is
