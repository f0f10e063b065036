"""The planner: a host's pins against the chain it serves now, as findings (SPEC.md §10).

The chains come from verify's own run (`pinctl.verify.run`): the same pool, connection
options, saved ``--chain`` and judging time, so `plan` and `verify` see one chain the
same way, and what a backup or a stale pin is comes from `pinctl.verify.standing`. The
time is passed in; nothing here reads the clock.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import ExitCode
from pinctl.rotation.findings import Finding
from pinctl.verify.standing import Standing, standing

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.exports.verdicts import ClientVerdict
    from pinctl.pinfile.model import Client, HostEntry, PinEntry, PinFile
    from pinctl.pki.pins import Pin
    from pinctl.verify.results import HostResult
    from pinctl.verify.run import VerifyOptions


@dataclass(frozen=True)
class HostPlan:
    entry: HostEntry
    status: str
    """``pass`` when the host was reached (or its chain given), else verify's status."""
    findings: tuple[Finding, ...]
    error: str | None = None
    """Why the host could not be reached, when it was not."""

    @property
    def actions(self) -> bool:
        return any(f.severity == "action" for f in self.findings)


@dataclass(frozen=True)
class PlanResult:
    hosts: tuple[HostPlan, ...]
    pin_file: Path
    at: datetime

    @property
    def exit_code(self) -> ExitCode:
        """1 some action, else 3 some host unreached, else 0 (SPEC.md section 10)."""
        if any(h.actions for h in self.hosts):
            return ExitCode.FAILED
        if any(h.status != "pass" for h in self.hosts):
            return ExitCode.UNREACHABLE
        return ExitCode.OK

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK


def plan(
    pin_file: PinFile,
    hosts: Sequence[HostEntry],
    options: VerifyOptions,
    now: datetime,
    *,
    chain: tuple[x509.Certificate, ...] | None = None,
    clients: tuple[Client, ...] | None = None,
) -> PlanResult:
    """Observe every host (concurrently, as verify does) and list what needs doing.

    `clients` is `--as`; None takes each host's `clients` from the pin file, as verify
    does, whose clients check also judges the live chain for them."""
    from dataclasses import replace

    from pinctl.exports.clients import selected
    from pinctl.verify.run import verify

    observed = verify(pin_file, hosts, replace(options, clients=clients), now, chain=chain)
    plans = tuple(
        host_plan(pin_file, result, now, selected(result.entry, pin_file, clients))
        for result in observed.hosts
    )
    return PlanResult(plans, pin_file.path, now)


def host_plan(
    pin_file: PinFile, result: HostResult, now: datetime, clients: Sequence[str] = ()
) -> HostPlan:
    from pinctl.verify.results import Reached

    entry = result.entry
    found = list(file_findings(pin_file, entry, now, clients))
    if not isinstance(result.outcome, Reached) or not result.outcome.chain:
        return HostPlan(entry, result.status, tuple(found), result.error)
    known = tuple(c.cert for c in result.outcome.chain)
    found = chain_findings(pin_file, entry, known, now) + found
    found += verdict_findings(entry, result.outcome.clients, found)
    return HostPlan(entry, "pass", tuple(found))


def verdict_findings(
    entry: HostEntry, verdicts: Sequence[ClientVerdict], found: Sequence[Finding]
) -> list[Finding]:
    """A selected client that would refuse the live chain or not start (verify --as's own
    verdict), unless the pin file alone already said so for that client."""
    said = " ".join(f.message.lower() for f in found if f.finding == "client-config")
    return [
        Finding(
            "client-config", f"{v.client} {v.verdict}: {v.reason} (pinctl verify --as {v.client})"
        )
        for v in verdicts
        if v.breaks and v.client not in said
    ]


def chain_findings(
    pin_file: PinFile, entry: HostEntry, known: Sequence[x509.Certificate], now: datetime
) -> list[Finding]:
    """What the live chain says about the host's pins."""
    from pinctl.verify.rules import pin_of

    today, label = now.date(), entry.label
    defaults = pin_file.defaults
    place = standing(entry.pins, known, today)
    leaf = known[0]
    leaf_pin = pin_of(leaf)
    out: list[Finding] = []
    missing = {p.pin for p, _ in _missing_keys(pin_file, entry)}
    usable = [p for p in place.backups if p.pin not in missing]
    if not place.has_backup:
        out.append(
            Finding(
                "no-backup",
                f"{label} has no backup pin: no backup = true pin that matches nothing live",
                command=f"pinctl backup-keygen --host {_q(label)} --out-dir keys",
            )
        )
    for p in place.backups_in_use:
        out.append(
            Finding(
                "backup-in-use",
                f"backup {p.pin} is in the live chain: the server moved to its backup key; "
                "promote it and make a new backup",
                (p.pin,),
                _certs(known, p),
                command=f"pinctl promote {_q(label)} --pin {p.pin}",
            )
        )
    for p in place.retired_in_use:
        out.append(
            Finding(
                "retired-in-use",
                f"retired {p.pin} is still presented by the server (it never matches): "
                "deploy the replacement key on the server",
                (p.pin,),
                _certs(known, p),
            )
        )
    for p in place.stale:
        out.append(
            Finding(
                "stale-pin",
                f"{p.pin} ({p.level}) matches nothing live and is not a backup",
                (p.pin,),
                command=f"pinctl remove {_q(label)} --pin {p.pin}",
            )
        )
    if place.matching and all(p.level == "leaf" for p in place.matching) and not usable:
        deadline = leaf.not_valid_after_utc.date() - timedelta(days=defaults.release_lead_days)
        out.append(
            Finding(
                "leaf-only",
                f"only the leaf key is pinned and no usable backup exists: the next key change "
                f"breaks clients; ship a backup pin {defaults.release_lead_days} days before "
                f"the leaf expires",
                tuple(p.pin for p in place.matching),
                (leaf_pin,),
                deadline,
                f"pinctl backup-keygen --host {_q(label)} --out-dir keys",
            )
        )
    due = leaf.not_valid_before_utc + timedelta(days=defaults.rotate_days)
    if now >= due:
        out.append(
            Finding(
                "rotation-due",
                f"the leaf certificate was issued {leaf.not_valid_before_utc.date()}, more than "
                f"rotate_days ({defaults.rotate_days}) ago: rotate to the backup key",
                tuple(p.pin for p in place.matching if p.level == "leaf"),
                (leaf_pin,),
                due.date(),
                _rotate_command(label, usable, place),
            )
        )
    for p in entry.pins:
        if p.retired or p.expires is None or p.expired(today):
            continue
        soon = (p.expires - today).days <= defaults.warn_days
        if soon or p.expires < leaf.not_valid_after_utc.date():
            why = (
                f"within warn_days ({defaults.warn_days})"
                if soon
                else f"before the leaf certificate ({leaf.not_valid_after_utc.date()})"
            )
            out.append(
                Finding(
                    "pin-expiring",
                    f"{p.pin} expires {p.expires} {why}",
                    (p.pin,),
                    deadline=p.expires,
                    command=f"pinctl remove {_q(label)} --pin {p.pin} && pinctl add "
                    f"{_q(label)} --level {p.level} --expires 365",
                )
            )
    return out


def file_findings(
    pin_file: PinFile, entry: HostEntry, now: datetime, clients: Sequence[str]
) -> list[Finding]:
    """What the pin file alone says, whether or not the host answered."""
    out = [
        Finding(
            "backup-key-missing",
            f"backup {p.pin}: {why}",
            (p.pin,),
            command=f"pinctl backup-keygen --host {_q(entry.label)} --out-dir keys",
        )
        for p, why in _missing_keys(pin_file, entry)
    ]
    return out + client_findings(entry, now, clients)


def client_findings(entry: HostEntry, now: datetime, clients: Sequence[str]) -> list[Finding]:
    """Client configurations the pin file alone shows a client would refuse (the clients'
    own rules of SPEC.md section 9 judge the live chain in `verify --as`)."""
    today = now.date()
    pins = [
        p
        for p in entry.pins
        if not p.retired and p.kind == "spki" and p.pin.alg == "sha256" and not p.expired(today)
    ]
    label, out = entry.label, []
    expiry = min((p.expires for p in pins if p.expires), default=None)
    for client in clients:
        problem = None
        if client == "trustkit" and len(pins) < 2:
            problem = "TrustKit refuses to start with fewer than two pins"
        elif client == "curl" and not any(p.level == "leaf" for p in pins):
            problem = "curl checks the leaf key only, and no leaf pin is exportable"
        elif client in ("ios", "android") and not any(p.backup for p in pins):
            problem = f"{client}: no backup pin ships, so a key change breaks the app"
        if problem:
            out.append(
                Finding(
                    "client-config",
                    problem,
                    tuple(p.pin for p in pins),
                    command=f"pinctl backup-keygen --host {_q(label)} --out-dir keys",
                )
            )
        elif client in ("android", "trustkit") and expiry is not None and expiry < today:
            out.append(Finding("client-config", f"{client} stopped enforcing pins after {expiry}"))
    return out


def _missing_keys(pin_file: PinFile, entry: HostEntry) -> list[tuple[PinEntry, str]]:
    """Backups whose key file (the note, as backup-keygen writes it) is gone or is another
    key's. A note that names no file is just a note."""
    from pinctl.rotation.keyfiles import key_file_problem

    base = pin_file.path.absolute().parent
    out = []
    for p in entry.pins:
        if p.backup and not p.retired and p.note:
            problem = key_file_problem(base, p)
            if problem is not None:
                out.append((p, problem))
    return out


def _certs(known: Sequence[x509.Certificate], entry: PinEntry) -> tuple[Pin, ...]:
    from pinctl.verify.rules import pin_matches, pin_of

    return tuple(pin_of(c) for c in known if pin_matches(entry, c))


def _rotate_command(label: str, usable: Sequence[PinEntry], place: Standing) -> str:
    old = " ".join(f"--retire {p.pin}" for p in place.matching if p.level == "leaf")
    if usable:
        return f"pinctl promote {_q(label)} --pin {usable[0].pin} {old}".rstrip()
    return f"pinctl backup-keygen --host {_q(label)} --out-dir keys"


def _q(text: str) -> str:
    return shlex.quote(text)
