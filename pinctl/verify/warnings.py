"""What verify warns of: risks that do not fail a host today (they do under --strict)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from pinctl.pinfile.model import PinEntry
from pinctl.verify.rules import pin_matches

if TYPE_CHECKING:
    from cryptography import x509


def pin_warnings(pins: Sequence[PinEntry], today: date, warn_days: int) -> tuple[str, ...]:
    """What the pin file alone says is going wrong, whether or not the host answered."""
    out: list[str] = []
    for entry in pins:
        where = f"pin {entry.pin}" + (f" (line {entry.line})" if entry.line else "")
        if entry.expires is not None:
            days = (entry.expires - today).days
            if days < 0:
                out.append(f"{where} expired on {entry.expires.isoformat()} and never matches")
            elif days <= warn_days:
                out.append(f"{where} expires in {days} days ({entry.expires.isoformat()})")
        if entry.pin.weak:
            out.append(f"{where} uses sha1, which is weak; replace it with a sha256 pin")
    return tuple(out)


def chain_warnings(
    pins: Sequence[PinEntry], known: Sequence[x509.Certificate], now: datetime, warn_days: int
) -> tuple[str, ...]:
    """What the chain the rule judged says: no backup left, a leaf about to expire."""
    if not known:
        return ()
    out: list[str] = []
    today = now.date()
    backups = [
        p for p in pins if not p.expired(today) and not any(pin_matches(p, c) for c in known)
    ]
    if not backups:
        out.append("no backup pin (a pin that matches nothing in the current chain)")
    leaf = known[0]
    days = (leaf.not_valid_after_utc - now).days
    if days <= warn_days:
        when = leaf.not_valid_after_utc.date().isoformat()
        state = f"expired on {when}" if days < 0 else f"expires in {days} days ({when})"
        out.append(f"leaf certificate {leaf.subject.rfc4514_string()} {state}")
    return tuple(out)
