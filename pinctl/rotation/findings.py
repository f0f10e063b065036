"""The findings of `pinctl plan`, typed: what is wrong, how urgent, by when, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pinctl.pki.pins import Pin

FindingName = Literal[
    "no-backup",
    "backup-key-missing",
    "backup-in-use",
    "stale-pin",
    "retired-in-use",
    "leaf-only",
    "rotation-due",
    "pin-expiring",
    "client-config",
]
Severity = Literal["action", "info"]

SEVERITY: dict[FindingName, Severity] = {
    "no-backup": "action",
    "backup-key-missing": "action",
    "backup-in-use": "action",
    "stale-pin": "info",
    "retired-in-use": "action",
    "leaf-only": "action",
    "rotation-due": "action",
    "pin-expiring": "action",
    "client-config": "action",
}
"""SPEC.md section 10: only a stale pin is information; everything else asks for action."""


@dataclass(frozen=True)
class Finding:
    """One thing `plan` found about one host."""

    finding: FindingName
    message: str
    pins: tuple[Pin, ...] = ()
    """The pins of the pin file concerned."""
    certificates: tuple[Pin, ...] = ()
    """The live certificates concerned, by their sha256 SPKI pin."""
    deadline: date | None = None
    """The day by which it must be resolved, where one exists."""
    command: str | None = None
    """The pinctl command that resolves it; None when the fix is outside pinctl (a server
    still presenting a retired key needs its new key deployed)."""

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.finding]
