"""What verify warns of: risks that do not fail a host today (they do under --strict)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from pinctl.pinfile.model import PinEntry
from pinctl.pki.entries import date_text, days_until, validity
from pinctl.verify.standing import standing, where

if TYPE_CHECKING:
    from cryptography import x509


def pin_warnings(pins: Sequence[PinEntry], today: date, warn_days: int) -> tuple[str, ...]:
    """What the pin file alone says is going wrong, whether or not the host answered."""
    out: list[str] = []
    for entry in pins:
        if entry.retired:  # kept on record only: its expiry or hash no longer matter
            continue
        at = where(entry)
        if entry.expires is not None:
            days = (entry.expires - today).days
            if days < 0:
                out.append(f"{at} expired on {entry.expires.isoformat()} and never matches")
            elif days <= warn_days:
                out.append(f"{at} expires in {days} days ({entry.expires.isoformat()})")
        if entry.pin.weak:
            out.append(f"{at} uses sha1, which is weak; replace it with a sha256 pin")
    return tuple(out)


def chain_warnings(
    pins: Sequence[PinEntry], known: Sequence[x509.Certificate], now: datetime, warn_days: int
) -> tuple[str, ...]:
    """What the chain the rule judged says: no backup left, a backup or a retired pin in
    the live chain, stale pins, a leaf about to expire (`pinctl.verify.standing`).

    `known` is never empty: whatever the rule considered begins with the served leaf."""
    out: list[str] = []
    today = now.date()
    found = standing(pins, known, today)
    if not found.has_backup:
        out.append("no backup pin (a backup = true pin that matches nothing in the current chain)")
    out += [
        f"backup {where(p)} is in the live chain, so it is no longer a backup: "
        "promote it with `pinctl promote` and make a new backup"
        for p in found.backups_in_use
    ]
    out += [
        f"retired {where(p)} is still presented by the server; it never matches"
        for p in found.retired_in_use
    ]
    out += [
        f"{where(p)} is stale: it matches nothing the server presents and is not a backup "
        "(`pinctl remove HOST --stale` removes it)"
        for p in found.stale
    ]
    leaf = known[0]
    until = validity(leaf)[1]
    days = days_until(until, now)
    if days <= warn_days:
        when = date_text(until)
        state = f"expired on {when}" if days < 0 else f"expires in {days} days ({when})"
        out.append(f"leaf certificate {leaf.subject.rfc4514_string()} {state}")
    return tuple(out)
