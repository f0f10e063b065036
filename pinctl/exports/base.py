"""What every exporter shares: the result type, host selection, and the pins a client can use.

Clients pin a host name, not a host and port, so the entries of one name are merged; and
they take only SPKI sha256 pins, so every other pin is left out with a warning naming it.
Exporters are pure: no clock, no files, no terminal; the CLI passes `today` in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

from pinctl.errors import InputError
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pinfile.selection import select_hosts
from pinctl.pki.pins import Pin

DEFAULT_MAX_AGE = 60 * 24 * 60 * 60
"""60 days, the HPKP max-age RFC 7469 section 4.1 suggests as a reasonable value."""


@dataclass(frozen=True)
class ExportOptions:
    today: date
    """Pins that expired before this day are left out."""
    max_age: int = DEFAULT_MAX_AGE
    """Seconds, for the HPKP header only."""


@dataclass(frozen=True)
class Export:
    """Text ready to paste into a client, and what the user must know about it."""

    text: str
    warnings: tuple[str, ...] = ()


class Exporter(Protocol):
    def __call__(
        self, pinfile: PinFile, hosts: Sequence[str], options: ExportOptions
    ) -> Export: ...


@dataclass(frozen=True)
class Target:
    """One host name as a client pins it, with the pins that client can use, in file order."""

    name: str
    """Lower case: DNS names are case-insensitive, and OkHttp wants its patterns lower case."""
    include_subdomains: bool
    pins: tuple[PinEntry, ...]
    entries: tuple[HostEntry, ...] = field(repr=False)
    where: str = ""
    """``pins.toml:12``: the first entry of this host, for messages."""

    @property
    def leaf_pins(self) -> tuple[PinEntry, ...]:
        return tuple(p for p in self.pins if p.level == "leaf")

    @property
    def ca_pins(self) -> tuple[PinEntry, ...]:
        return tuple(p for p in self.pins if p.level != "leaf")

    @property
    def expiry(self) -> date | None:
        """The earliest pin expiry: the day the whole set should stop being trusted."""
        dates = [p.expires for p in self.pins if p.expires is not None]
        return min(dates) if dates else None


def targets(
    pinfile: PinFile,
    names: Sequence[str],
    options: ExportOptions,
    client: str,
    *,
    by_port: bool = False,
    reencodes: bool = False,
) -> tuple[list[Target], list[str]]:
    """The selected hosts with their usable pins, and a warning for every pin left out.

    A host left with no usable pin is an error rather than a silent omission: an export
    without it would leave that host unpinned in the client, which is failing open.
    """
    warnings: list[str] = []
    groups: dict[tuple[str, int], list[HostEntry]] = {}
    for entry in select_hosts(pinfile, names):
        key = entry.key if by_port else (entry.host.lower(), 0)
        groups.setdefault(key, []).append(entry)
    result = []
    for group in groups.values():
        target, notes, skipped = build(pinfile, group, options.today, client, reencodes)
        warnings += notes
        if target is None:
            name = group[0].host.lower()
            why = f" ({', '.join(dict.fromkeys(skipped))})" if skipped else ""
            raise InputError(
                f"{where(pinfile, group[0].line)}: {name} has no pin that {client} can use{why}; "
                f"add a current spki sha256 pin with `pinctl add {name}`, or name only the "
                "other hosts"
            )
        result.append(target)
    return result, warnings


def build(
    pinfile: PinFile,
    group: Sequence[HostEntry],
    today: date,
    client: str,
    reencodes: bool = False,
) -> tuple[Target | None, list[str], list[str]]:
    """One host name as `client` pins it (None when no pin is usable), the warnings, and why
    each pin was left out. Exports and `verify --as` verdicts both come from here.

    A client that `reencodes` the key before hashing it gets each pin's `reencoded`
    spelling where the pin file records one: the only value that client can match."""
    name = group[0].host.lower()
    warnings: list[str] = []
    pins: dict[Pin, PinEntry] = {}
    skipped: list[str] = []
    for entry in group:
        for pin in entry.pins:
            reason = _unusable(pin, today, client)
            if reason is None:
                if reencodes and pin.reencoded is not None:
                    pin = replace(pin, pin=pin.reencoded, reencoded=None)
                pins.setdefault(pin.pin, pin)
                continue
            skipped.append(reason.split(";")[0])
            warnings.append(f"{name}: left out {pin.pin} ({where(pinfile, pin.line)}): {reason}")
    if not pins:
        return None, warnings, skipped
    subdomains = {e.include_subdomains for e in group}
    if len(subdomains) > 1:
        warnings.append(
            f"{name}: its entries disagree on include_subdomains; {client} pins by host "
            "name, so subdomains are included"
        )
    first = where(pinfile, group[0].line)
    target = Target(name, any(subdomains), tuple(pins.values()), tuple(group), first)
    return target, warnings, skipped


def _unusable(pin: PinEntry, today: date, client: str) -> str | None:
    if pin.retired:
        return "retired; a retired pin is kept on record and never exported"
    if pin.kind != "spki":
        return f"a {pin.kind} pin; {client} pins public keys, so only spki pins are exportable"
    if pin.pin.alg != "sha256":
        weak = " (weak)" if pin.pin.weak else ""
        return f"a {pin.pin.alg} pin{weak}; {client} takes sha256 pins only"
    if pin.expired(today):
        return (
            f"expired on {pin.expires}; a shipped client would go on trusting it — renew it "
            "with `pinctl add` or remove it"
        )
    return None


def where(pinfile: PinFile, line: int | None) -> str:
    return f"{pinfile.path}:{line}" if line else str(pinfile.path)


def backup_warnings(found: Sequence[Target], client: str) -> list[str]:
    """A client shipped with a single pin per host is bricked by the next key change."""
    return [
        f"{t.name}: only one pin, so no backup: if that key changes, {client} cannot connect "
        f"until an update ships; add one with `pinctl backup-keygen --host {t.name}`"
        for t in found
        if len(t.pins) < 2
    ]


def one_line(text: str) -> str:
    """Make user text safe inside a one-line comment: no controls, line breaks or bidi marks."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"} else ch
        for ch in text
    )
    return " ".join(cleaned.split())


def describe(pin: PinEntry) -> str:
    """The comment written next to a pin: its level, backup flag, expiry and note."""
    parts = [pin.level + (", backup" if pin.backup else "")]
    if pin.expires is not None:
        parts.append(f"expires {pin.expires.isoformat()}")
    text = ", ".join(parts)
    note = one_line(pin.note or "")
    return f"{text}: {note}" if note else text


def private_trust(pinfile: PinFile, target: Target) -> tuple[str, str] | None:
    """How pinctl trusts a host outside the system roots: ("ca_file", path as written), or
    ("verify_chain", "") for a host pinned by key alone; None for the public roots."""
    for entry in target.entries:
        if not entry.verify_chain:
            return ("verify_chain", "")
    for entry in target.entries:
        ca = pinfile.ca_file_for(entry)
        if ca is not None:
            base = pinfile.path.absolute().parent
            shown = ca.relative_to(base).as_posix() if ca.is_relative_to(base) else str(ca)
            return ("ca_file", shown)
    return None


def trust_warnings(pinfile: PinFile, found: Sequence[Target], how: str) -> list[str]:
    """Pins narrow the roots an app trusts; they never add one, so a host trusted through a
    private CA, or pinned by key alone, needs the app to trust that certificate as well."""
    out = []
    for target in found:
        trust = private_trust(pinfile, target)
        if trust is None:
            continue
        kind, path = trust
        why = (
            f"is trusted through ca_file {path} (a private CA), which the app does not trust"
            if kind == "ca_file"
            else "is pinned by key alone (verify_chain = false): its chain does not validate "
            "to a root the app trusts"
        )
        out.append(f"{target.name}: {why}, so it refuses the server before any pin counts; {how}")
    return out
