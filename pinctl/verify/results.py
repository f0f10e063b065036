"""What verify concluded: per host, the verdict of every check; for the run, the exit code.

A host ends in one of three shapes, each carrying only what it has: `Reached` (the
pipeline had a chain: the session, the certificates judged, the pin that matched),
`Unreached` (no chain: the connect check says why) or `Crashed` (a bug ended the
check; it fails closed). The status is derived from the verdicts, never stored
beside them, so the two cannot disagree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import ExitCode
from pinctl.pinfile.model import HostEntry, PinEntry
from pinctl.verify.rules import pin_of
from pinctl.verify.verdicts import UNCHECKED, Checked, Failed, Passed, Status, Unchecked, deciding

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.report import CtReport
    from pinctl.exports.verdicts import ClientVerdict
    from pinctl.net.session import TlsInfo
    from pinctl.pki.pins import Pin
    from pinctl.pki.revocation import PathRevocation

DECISIVE = "pins"
"""A host passes on its pins: whatever else was skipped, no pass without this check's."""


@dataclass(frozen=True)
class ChainCert:
    """A certificate a rule judged, as the mismatch message shows it."""

    cert: x509.Certificate
    served: bool
    """False for a trust anchor that validation took from the store."""

    @property
    def spki(self) -> Pin:
        """The sha256 SPKI pin, the spelling OkHttp and curl print."""
        return pin_of(self.cert)

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()


@dataclass(frozen=True)
class Reached:
    """A host whose chain the checks saw: live, or a saved `--chain`."""

    chain: tuple[ChainCert, ...]
    """What the rule judged: the validated path, else the leaf and its served signers."""
    tls: TlsInfo | None
    """The negotiated session; None for a saved chain."""
    matched: PinEntry | None
    """The pin the pins check matched, whatever the other checks said."""
    clients: tuple[ClientVerdict, ...] = ()
    """Each selected client's verdict (`verify --as`); empty when none was judged."""
    revocation: PathRevocation | None = None
    """What the revocation check found; None when it did not run."""


@dataclass(frozen=True)
class Unreached:
    """A host that gave no chain; its connect verdict says why."""


@dataclass(frozen=True)
class Crashed:
    """An unexpected exception ended the check: a bug, so the run exits 1, not 3."""

    error: str


Outcome = Reached | Unreached | Crashed


@dataclass(frozen=True)
class HostResult:
    """The verdicts on one host; `ok` is the only thing that makes it pass."""

    entry: HostEntry
    checks: Checked
    """Every check's verdict in pipeline order."""
    outcome: Outcome
    warnings: tuple[str, ...] = ()
    strict: bool = False
    elapsed: float = 0.0
    ct: CtReport | None = None
    """The leaf's SCTs and the CT verdicts; None when the ct check did not run."""

    @property
    def label(self) -> str:
        return self.entry.label

    @functools.cached_property
    def _finding(self) -> tuple[Failed | Unchecked | None, bool]:
        """The verdict that names the status, and whether the decisive check passed."""
        decided = any(name == DECISIVE and isinstance(v, Passed) for name, v in self.checks)
        worst = deciding(self.checks)
        return worst, decided

    @property
    def status(self) -> Status:
        if isinstance(self.outcome, Crashed):
            return "tls-error"
        worst, decided = self._finding
        if worst is not None:
            return worst.status
        return "pass" if decided else "pin-mismatch"

    @property
    def error(self) -> str | None:
        """Why the host did not pass; None for a pass."""
        if isinstance(self.outcome, Crashed):
            return self.outcome.error
        worst, decided = self._finding
        if worst is not None:
            return worst.reason
        if not decided:
            return f"the {DECISIVE} check did not pass, so the host fails closed"
        if self.strict and self.warnings:
            return f"--strict: {len(self.warnings)} warning(s) fail the check: " + "; ".join(
                self.warnings
            )
        return None

    @property
    def matched(self) -> PinEntry | None:
        """The pin by which the host passed; None unless it passed."""
        if isinstance(self.outcome, Reached) and self.status == "pass":
            return self.outcome.matched
        return None

    @property
    def tls(self) -> TlsInfo | None:
        return self.outcome.tls if isinstance(self.outcome, Reached) else None

    @property
    def chain(self) -> tuple[ChainCert, ...]:
        return self.outcome.chain if isinstance(self.outcome, Reached) else ()

    @property
    def clients(self) -> tuple[ClientVerdict, ...]:
        return self.outcome.clients if isinstance(self.outcome, Reached) else ()

    @property
    def revocation(self) -> PathRevocation | None:
        return self.outcome.revocation if isinstance(self.outcome, Reached) else None

    @property
    def internal(self) -> bool:
        return isinstance(self.outcome, Crashed)

    @property
    def ok(self) -> bool:
        return self.status == "pass" and not (self.strict and self.warnings) and not self.internal

    @property
    def exit_code(self) -> ExitCode:
        if self.ok:
            return ExitCode.OK
        if self.status in UNCHECKED and not self.internal:
            return ExitCode.UNREACHABLE
        return ExitCode.FAILED


@dataclass(frozen=True)
class VerifyResult:
    hosts: tuple[HostResult, ...]
    pin_file: Path
    checked_at: datetime
    """The time the hosts were judged at (given by the command layer: the core has no clock)."""
    rule: str = "okhttp"
    elapsed: float = 0.0
    lost_reports: tuple[str, ...] = ()
    """Why report files (--junit-xml) could not be written; CI lost an artefact: the run fails."""

    @property
    def exit_code(self) -> ExitCode:
        """1 wins over 3: a failed check matters more than a host that was not checked."""
        if self.lost_reports:
            return ExitCode.FAILED
        codes = {host.exit_code for host in self.hosts}
        for code in (ExitCode.FAILED, ExitCode.UNREACHABLE):
            if code in codes:
                return code
        return ExitCode.OK if self.hosts else ExitCode.FAILED

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK
