"""Chrome's and Apple's CT policies, judged on SCTs whose signatures were verified.

Both count SCTs from distinct logs that are currently approved (qualified, usable,
readonly) or retired after the SCT was issued, need at least one from a currently
approved log, and need more SCTs for a lifetime over 180 days. Chrome needs two distinct
operators; Apple counts at most one SCT per operator for short lifetimes and two for
long ones, and needs one SCT from an RFC 6962 (not static-CT) log. SCTs from a stapled
OCSP response meet either policy on their own with two currently approved logs of two
operators. A verdict is `compliant` True or False with the reason, or None when the log
list is too old to judge by (as Chrome stops enforcing then).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pinctl.ct.loglist import CURRENT

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.loglist import Log
    from pinctl.ct.sct import Sct, Signature

PolicyName = Literal["chrome", "apple"]
POLICIES: tuple[PolicyName, ...] = ("chrome", "apple")
LONG_DAYS = 180


@dataclass(frozen=True)
class JudgedSct:
    """One SCT, the log that issued it (None: not in the list) and its signature's verdict."""

    sct: Sct
    log: Log | None
    signature: Signature

    def counts(self) -> bool:
        """Whether a policy may count it: valid, from a log approved when it was issued."""
        log = self.log
        if self.signature != "valid" or log is None:
            return False
        if log.state in CURRENT:
            return True
        retired = log.retired_at
        return retired is not None and self.sct.timestamp < retired

    def current(self) -> bool:
        return self.counts() and self.log is not None and self.log.state in CURRENT


@dataclass(frozen=True)
class Verdict:
    compliant: bool | None
    """None: not judged (the log list is too old)."""
    reason: str | None = None
    """Why it is not compliant, or not judged; None when compliant."""


def lifetime_days(leaf: x509.Certificate) -> int:
    """RFC 5280's validity period, notBefore through notAfter inclusive, in days of
    86,400 seconds, any part of a day counting as one (Apple's definition)."""
    seconds = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds() + 1
    return max(0, math.ceil(seconds / 86400))


def judge(name: PolicyName, scts: Sequence[JudgedSct], lifetime: int) -> Verdict:
    """Whether `scts` meet policy `name` for a certificate of `lifetime` days."""
    if not scts:
        return Verdict(False, "the certificate carries no SCTs")
    counted = [s for s in scts if s.counts()]
    delivered = [s for s in counted if s.sct.source != "embedded"]
    if _separate(delivered) is None:
        return Verdict(True)
    embedded = [s for s in counted if s.sct.source == "embedded"]
    reason = (_chrome if name == "chrome" else _apple)(embedded, lifetime)
    if reason is None and name == "apple" and not any(s.log and s.log.rfc6962 for s in counted):
        reason = "no SCT is from an RFC 6962 log (only static-CT logs)"
    if reason is not None:
        return Verdict(False, reason + _left_out(scts))
    return Verdict(True)


def _separate(delivered: Sequence[JudgedSct]) -> str | None:
    """Both policies' rule for SCTs delivered beside the certificate (OCSP, TLS)."""
    current = [s for s in delivered if s.current()]
    if len({s.sct.log_id for s in current}) < 2 or len(_operators(current)) < 2:
        return "fewer than 2 SCTs from current logs of 2 operators outside the certificate"
    return None


def _needed(lifetime: int) -> int:
    return 2 if lifetime <= LONG_DAYS else 3


def _chrome(embedded: Sequence[JudgedSct], lifetime: int) -> str | None:
    needed, logs = _needed(lifetime), _distinct_logs(embedded)
    if len(logs) < needed:
        return (
            f"{len(logs)} of the {needed} SCTs from distinct logs "
            f"a {lifetime}-day certificate needs"
        )
    if not any(s.current() for s in embedded):
        return "no SCT is from a log that is qualified, usable or readonly now"
    if len(_operators(logs)) < 2:
        return "all counted SCTs are from logs of one operator; 2 operators are needed"
    return None


def _apple(embedded: Sequence[JudgedSct], lifetime: int) -> str | None:
    needed, logs = _needed(lifetime), _distinct_logs(embedded)
    cap = 1 if lifetime <= LONG_DAYS else 2
    per_operator = Counter(_operator(s) for s in logs)
    counted = sum(min(cap, n) for n in per_operator.values())
    if counted < needed:
        more = f", at most {cap} per operator" if len(logs) > counted else ""
        return f"{counted} of the {needed} SCTs a {lifetime}-day certificate needs{more}"
    if not any(s.current() for s in embedded):
        return "no SCT is from a log that is approved now (usable, qualified or readonly)"
    return None


def _distinct_logs(scts: Sequence[JudgedSct]) -> list[JudgedSct]:
    """One SCT per log: a second SCT from the same log adds nothing."""
    first: dict[bytes, JudgedSct] = {}
    for s in scts:
        first.setdefault(s.sct.log_id, s)
    return list(first.values())


def _operator(s: JudgedSct) -> str:
    return s.log.operator if s.log else ""


def _operators(scts: Sequence[JudgedSct]) -> set[str]:
    return {_operator(s) for s in scts}


_WHY = {"unknown-log": "not in the log list", "no-issuer": "no issuer to check it"}


def _left_out(scts: Sequence[JudgedSct]) -> str:
    """Why SCTs did not count, so the reason points at the one to fix."""
    notes = []
    for s in scts:
        if s.counts():
            continue
        name = s.log.description if s.log else "an unknown log"
        if s.signature != "valid":
            why = _WHY.get(s.signature, "bad signature")
            notes.append(f"{s.sct.source} SCT {s.sct.index} ({name}): {why}")
        elif s.log is not None:
            state = s.log.state or "no state"
            if s.log.retired_at is not None:
                state = f"issued after the log retired on {s.log.retired_at.date().isoformat()}"
            notes.append(f"{s.sct.source} SCT {s.sct.index} ({name}): {state}")
    return f" ({'; '.join(notes)})" if notes else ""


def unjudged(age_days: float) -> Verdict:
    return Verdict(None, f"the log list is {age_days:.0f} days old (over 70); not judged")
