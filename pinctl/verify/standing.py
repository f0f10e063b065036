"""Where each pin of a host stands against the chain it serves: the one definition of a
backup, a stale pin and a retired pin still presented.

verify's warnings (SPEC.md section 5) and plan's findings (section 10) both read a host
through `standing`, so that the two commands cannot disagree about what a backup is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pinctl.pinfile.model import PinEntry
from pinctl.verify.rules import pin_matches

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Standing:
    """A host's pins sorted by what the live chain makes of them (each pin in one group)."""

    matching: tuple[PinEntry, ...]
    """Usable pins (neither retired nor expired, backups included) on a live certificate."""
    backups: tuple[PinEntry, ...]
    """``backup = true`` pins, neither retired nor expired, that match nothing live: the
    spares a key change can move to."""
    backups_in_use: tuple[PinEntry, ...]
    """Backups the server presents: no longer spares; promote them and make a new one."""
    retired_in_use: tuple[PinEntry, ...]
    """Retired pins the server still presents (they never match)."""
    stale: tuple[PinEntry, ...]
    """Pins that are neither backup nor retired and match nothing live."""

    @property
    def has_backup(self) -> bool:
        return bool(self.backups)


def standing(pins: Sequence[PinEntry], known: Sequence[x509.Certificate], today: date) -> Standing:
    """Sort `pins` by the certificates the client's rule considers (`known`, leaf first)."""
    groups: dict[str, list[PinEntry]] = {
        name: [] for name in ("matching", "backups", "backups_in_use", "retired_in_use", "stale")
    }
    for entry in pins:
        live = any(pin_matches(entry, cert) for cert in known)
        if entry.retired:
            if live:
                groups["retired_in_use"].append(entry)
            continue
        if live and not entry.expired(today):
            groups["matching"].append(entry)
            if entry.backup:
                groups["backups_in_use"].append(entry)
        elif entry.backup and not live:
            if not entry.expired(today):
                groups["backups"].append(entry)
        elif not live:
            groups["stale"].append(entry)
    return Standing(**{name: tuple(found) for name, found in groups.items()})


def where(entry: PinEntry) -> str:
    """``pin sha256/... (line 7)``: how warnings and findings name a pin."""
    return f"pin {entry.pin}" + (f" (line {entry.line})" if entry.line else "")
