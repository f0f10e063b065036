"""pins: at least one unexpired, unretired pin matches the chain, by the client's rule (OkHttp's).

Pins are matched on the validated path when the chain check found one, and on the leaf
and its served signers when the host says verify_chain = false. A chain that failed
validation leaves no path: matching its served certificates would judge what a man in
the middle chose to send, so the check is skipped and the host is already failed.
"""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.rules import Presented
from pinctl.verify.verdicts import Failed, Passed, Skipped, Verdict

NOT_REACHED = Skipped("no chain: the host was not reached")
NO_PATH = Skipped("no validated path to match: the chain check failed")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    entry = subject.entry
    if evidence.seen is None:
        return NOT_REACHED, evidence
    if entry.verify_chain and evidence.path is None:
        return NO_PATH, evidence
    presented = Presented(evidence.seen.served, evidence.path)
    usable = [p for p in entry.pins if not p.retired]  # SPEC.md section 6: never matches
    matched = subject.rule.match(usable, presented, subject.now.date())
    if matched is None:
        reason = (
            "no pin matches the chain"
            if usable
            else "every pin of the host is retired"
            if entry.pins
            else "the host has no pins"
        )
        return Failed("pin-mismatch", reason), evidence
    note = f"matched {matched.pin} ({matched.level})"
    return Passed(note), evidence._replace(matched=matched)
    yield  # a generator, as every check is
