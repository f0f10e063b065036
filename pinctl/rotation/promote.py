"""`promote`, the emergency switch: a backup becomes the live pin, old pins are retired.

The checks that refuse come first and leave the file untouched (exit 2): PIN must be a
backup of the host, every --retire pin the host's, and (unless forced) the server must
present PIN, so that nobody promotes a key that is not deployed. The edit itself is one
`Transaction.amend_pins`, under the pin file's lock, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pinctl.errors import UsageError
from pinctl.pinfile.model import Change, HostEntry
from pinctl.pinfile.selection import one_host

if TYPE_CHECKING:
    from pinctl.pinfile.edit import Transaction
    from pinctl.pki.pins import Pin


@dataclass(frozen=True)
class Promotion:
    """What promote did, and what the person on call runs next."""

    change: Change
    entry: HostEntry
    """The host as it now stands."""
    backups_left: int

    @property
    def next_commands(self) -> tuple[str, ...]:
        label = self.entry.label
        out = [f"pinctl export --format {f} {label}" for f in ("okhttp-kotlin", "android", "ios")]
        if not self.backups_left:
            out.append(f"pinctl backup-keygen --host {label} --out-dir keys")
        return tuple(out)


def check_request(entry: HostEntry, pin: Pin, retire: Sequence[Pin], path: object) -> None:
    """Refuse what promote must not do, naming the host's pins."""
    listed = ", ".join(f"{p.pin}{' (backup)' * p.backup}" for p in entry.pins) or "none"
    found = next((p for p in entry.pins if p.pin == pin), None)
    if found is None:
        raise UsageError(
            f"pin {pin} is not pinned for {entry.label} in {path} (its pins: {listed}); "
            "see `pinctl list`"
        )
    if not found.backup:
        raise UsageError(
            f"pin {pin} of {entry.label} is not a backup (backup = true), so there is "
            "nothing to promote; the backups are: "
            + (", ".join(str(p.pin) for p in entry.pins if p.backup) or "none")
        )
    if found.retired:
        raise UsageError(f"pin {pin} of {entry.label} is retired; a retired key is not promoted")
    for other in retire:
        if other == pin:
            raise UsageError(f"--retire {other} is the pin being promoted; retire the old ones")
        if not any(p.pin == other for p in entry.pins):
            raise UsageError(
                f"--retire {other} is not pinned for {entry.label} (its pins: {listed})"
            )


def promote(
    edit: Transaction,
    host: str,
    port: int | None,
    pin: Pin,
    retire: Sequence[Pin],
    today: date,
) -> Promotion:
    """Promote `pin` and retire `retire` on host, inside `edit` (the caller commits)."""
    entry = one_host(edit.pin_file, host, port)
    check_request(entry, pin, retire, edit.path)
    found = next(p for p in entry.pins if p.pin == pin)
    stamp = f"promoted {today.isoformat()}"
    note = f"{found.note} {stamp}" if found.note else stamp
    updates: dict[Pin, dict[str, object]] = {pin: {"backup": False, "note": note}}
    for other in dict.fromkeys(retire):
        updates[other] = {"retired": True}
    change = edit.amend_pins(entry.host, entry.port, updates)
    after = edit.current.find_host(entry.host, entry.port) or entry
    left = sum(1 for p in after.pins if p.backup and not p.retired)
    return Promotion(change, after, left)
