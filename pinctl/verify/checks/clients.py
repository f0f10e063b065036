"""clients: each selected client (`--as`) would accept the chain (SPEC.md §9).

Every client judges the chain pinctl's own rule judged (the validated path, anchor
included, else the leaf and its real signers) with the pins its export writes; the rules
and the words live beside the exporters (`pinctl.exports`). A client that would refuse
the server, or not start, fails the host with `client-reject`; one that would connect
without pinning (no pin for it, an expired pin-set) is a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.rules import Presented, pin_of, reencoded_pin_of
from pinctl.verify.verdicts import Failed, Passed, Skipped, Verdict

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.exports.verdicts import ClientVerdict, Served
    from pinctl.pinfile.model import Client

NONE_SELECTED = Skipped("no client selected (verify --as CLIENT, or clients = [...])")
NOT_REACHED = Skipped("no chain: the host was not reached")
NO_PATH = Skipped("no validated path to judge: the chain check failed")
LEAF_REFUSERS: tuple[Client, ...] = ("curl", "ios")
"""The clients that pin the leaf itself: a CA pin does not save them from a new leaf key."""


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    if not subject.clients or subject.apps is None:
        return NONE_SELECTED, evidence
    if evidence.seen is None:
        return NOT_REACHED, evidence
    if subject.entry.verify_chain and evidence.path is None:
        return NO_PATH, evidence
    verdicts = _judge(subject, evidence, subject.clients)
    handed = evidence._replace(clients=verdicts)
    broken = [v for v in verdicts if v.breaks]
    if broken:
        reason = "; ".join(f"{v.client} {v.verdict}: {v.reason}" for v in broken)
        return Failed("client-reject", reason), handed
    return Passed(", ".join(f"{v.client} {v.verdict}" for v in verdicts)), handed
    yield  # a generator, as every check is


def warnings(subject: Subject, evidence: Evidence) -> tuple[str, ...]:
    """The selected clients that would connect unpinned; and, unless curl and iOS were
    both judged, SPEC.md §5's default warning: the host passed on a CA pin while its leaf
    pins miss the served leaf, which the clients that pin the leaf refuse."""
    out = [f"{v.client} {v.verdict}: {v.reason}" for v in evidence.clients if v.warns]
    matched = evidence.matched
    if (
        subject.apps is None
        or matched is None
        or matched.level == "leaf"
        or set(LEAF_REFUSERS) <= set(subject.clients)
        or evidence.seen is None
    ):
        return tuple(out)
    from pinctl.exports.verdicts import NO_LEAF

    refusing = [v for v in _judge(subject, evidence, LEAF_REFUSERS) if v.reason == NO_LEAF]
    if refusing:
        names = " and ".join("iOS" if v.client == "ios" else v.client for v in refusing)
        out.append(
            f"leaf pins exist but none matches the served leaf, while the {matched.level} pin "
            f"{matched.pin} does: {names} would refuse the server "
            f"(pinctl verify --as {','.join(v.client for v in refusing)})"
        )
    return tuple(out)


def _judge(
    subject: Subject, evidence: Evidence, clients: Sequence[Client]
) -> tuple[ClientVerdict, ...]:
    assert subject.apps is not None  # the callers checked
    assert evidence.seen is not None
    known = subject.rule.considered(Presented(evidence.seen.served, evidence.path))
    return subject.apps.verdicts(subject.entry, clients, _served(known), subject.now.date())


def _served(known: Sequence[x509.Certificate]) -> Served:
    from pinctl.exports.verdicts import Served

    carried = tuple(pin_of(cert) for cert in known)
    again = tuple(reencoded_pin_of(cert) or pin for cert, pin in zip(known, carried, strict=True))
    return Served(carried, again if again != carried else None)
