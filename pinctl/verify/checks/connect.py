"""connect: reach the host and complete the handshake (or take the saved --chain)."""

from __future__ import annotations

from typing import cast

from pinctl.errors import ConnectError
from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import PASSED, Failed, Skipped, Unchecked, UncheckedStatus, Verdict

SAVED = Skipped("a saved chain (--chain) is judged; nothing was contacted")

_STATUSES = frozenset({"unreachable", "timeout", "tls-error"})


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    """A host that cannot be reached could not be checked (exit 3), which is not a pass."""
    try:
        seen = yield from subject.observe(subject.target, subject.deadline)
    except ConnectError as exc:
        if exc.status == "starttls-unsupported":  # on a pinned host, a downgrade: exit 1
            return Failed("starttls-unsupported", str(exc)), evidence
        # A status the network layer does not promise is still could-not-check, never a pass.
        status = cast(UncheckedStatus, exc.status if exc.status in _STATUSES else "tls-error")
        return Unchecked(status, str(exc)), evidence
    if seen.tls is None:
        return SAVED, Evidence(seen)
    return PASSED, Evidence(seen)
