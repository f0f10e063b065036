"""What one check concluded about a host, and how a host's status follows from all of them.

Each outcome is its own type, so a caller cannot mistake "could not check" for "passed":
`Failed` is a finding against the host (exit 1), `Unchecked` means the check could not
be made (exit 3 unless something failed), `Skipped` means the check did not apply or its
input was missing, and only `Passed` is a pass. The status a host reports is the most
serious one among its verdicts, in SPEC.md section 5's order of precedence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn, get_args

CheckName = Literal["connect", "tls-policy", "chain", "revocation", "pins", "clients", "ct"]

FailStatus = Literal[
    "tls-policy",
    "untrusted",
    "hostname-mismatch",
    "revoked",
    "pin-mismatch",
    "client-reject",
    "ct-noncompliant",
    "starttls-unsupported",
]
UncheckedStatus = Literal["unreachable", "timeout", "tls-error", "revocation-unavailable"]
Status = Literal[FailStatus, UncheckedStatus, "pass"]

PRECEDENCE: tuple[FailStatus | UncheckedStatus, ...] = (
    *get_args(FailStatus),
    *get_args(UncheckedStatus),
)
"""SPEC.md section 5's order, as the two Literals above spell it: every failing status
before every could-not-check one, since 1 wins over 3."""
RANK = {status: rank for rank, status in enumerate(PRECEDENCE)}
"""Each status's place in `PRECEDENCE`: lower is more serious."""

UNCHECKED: frozenset[str] = frozenset(get_args(UncheckedStatus))
"""Statuses of a host that could not be checked: exit 3 unless something failed."""


@dataclass(frozen=True)
class Passed:
    """The check holds."""

    note: str | None = None
    """What held, when that is worth showing (the pin that matched)."""


@dataclass(frozen=True)
class Failed:
    """The check was made and the host fails it."""

    status: FailStatus
    reason: str


@dataclass(frozen=True)
class Unchecked:
    """The check could not be made (the host was not reached, an answer was missing)."""

    status: UncheckedStatus
    reason: str


@dataclass(frozen=True)
class Skipped:
    """The check did not run: it does not apply, or an earlier check left it no input."""

    reason: str


PASSED = Passed()
"""The plain pass, shared: a verdict is immutable, and most checks of most hosts pass."""

Verdict = Passed | Failed | Unchecked | Skipped
Checked = tuple[tuple[CheckName, Verdict], ...]
"""Every check's verdict, in pipeline order."""


def deciding(checks: Sequence[tuple[CheckName, Verdict]]) -> Failed | Unchecked | None:
    """The verdict that names the host's status: the most serious, the earliest on a tie."""
    worst: Failed | Unchecked | None = None
    for _, verdict in checks:
        if isinstance(verdict, (Failed, Unchecked)) and (
            worst is None or RANK[verdict.status] < RANK[worst.status]
        ):
            worst = verdict
    return worst


def result_name(verdict: Verdict) -> Literal["pass", "fail", "unchecked", "skipped"]:
    """The word JSON uses for a verdict."""
    if isinstance(verdict, Passed):
        return "pass"
    if isinstance(verdict, Failed):
        return "fail"
    if isinstance(verdict, Unchecked):
        return "unchecked"
    if isinstance(verdict, Skipped):
        return "skipped"
    return unhandled(verdict)


def unhandled(value: NoReturn) -> NoReturn:
    """`typing.assert_never` (Python 3.11) for 3.10: mypy flags a verdict type left out."""
    raise AssertionError(f"unhandled case: {value!r}")
