"""What each pin-failure report means, judged against the pin file (SPEC.md section 13).

- `stale-app`: the chain matches a pin the pin file holds today, so the server is
  fine and the app that failed carries old pins: ship it the current ones.
- `rotation`: the chain is trusted for the name but matches no current pin: a key or
  a CA changed without the pin file (and the apps) following.
- `interception`: the chain does not lead to a trusted root for the name when the app
  saw it: a TLS-inspecting proxy, or an attacker.
- `unknown-host`: the pin file has no entry for the host (nor a parent domain's with
  include_subdomains).

Pins are matched as verify matches them (OkHttp's rule): on the validated path, never
on what the report merely lists, since a man in the middle can append a copy of the
genuine intermediate to his own chain. Trust is judged at the report's `date-time`.

Field reports repeat the same few chains, so each certificate is parsed once and each
chain validated once per host for as long as the report times fall inside the
validity of every certificate involved (the only way time enters path validation).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from pinctl.errors import ExitCode
from pinctl.pinfile.model import DEFAULT_PORT, HostEntry, PinFile
from pinctl.triage.reports import Malformed, Read
from pinctl.verify.rules import OkHttpRule, Presented, pin_of

if TYPE_CHECKING:
    from cryptography import x509

Class = Literal["interception", "rotation", "stale-app", "unknown-host"]
CLASSES: tuple[Class, ...] = ("interception", "rotation", "stale-app", "unknown-host")
"""Most urgent first: the order groups are shown in."""
ALARMING: frozenset[Class] = frozenset({"interception", "rotation"})
"""Classes that exit 1: someone has to act on the server side."""

RULE = OkHttpRule()


@dataclass(frozen=True)
class Group:
    """Reports alike in host, class, app version and chain."""

    host: str
    port: int
    cls: Class
    app_version: str | None
    chain: tuple[str, ...]
    """The SPKI pin of every certificate of the reported chain, leaf first."""
    subjects: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class Triage:
    reports: int
    """Reports read and classified (the malformed ones are not counted here)."""
    malformed: tuple[Malformed, ...]
    groups: tuple[Group, ...]

    @property
    def exit_code(self) -> ExitCode:
        alarming = any(group.cls in ALARMING for group in self.groups)
        return ExitCode.FAILED if alarming else ExitCode.OK


class _Chain(NamedTuple):
    certs: tuple[x509.Certificate, ...]
    pins: tuple[str, ...]
    subjects: tuple[str, ...]


class _Judged(NamedTuple):
    trusted: bool
    path: tuple[x509.Certificate, ...] | None
    window: tuple[float, float]
    """The report times (Unix seconds) for which the same validation holds."""
    cls: Class = "interception"
    """What a report of this chain is, for this host, today (the pins do not change)."""


def triage(
    pin_file: PinFile,
    reads: Iterable[Read],
    now: datetime,
    *,
    ca_file: Path | None = None,
    roots: Callable[[Path | None], tuple[x509.Certificate, ...]] | None = None,
) -> Triage:
    """Classify every report; `ca_file` is trust for hosts whose entry names none."""
    from pinctl.pki import validation

    load_roots = roots or validation.load_roots
    counts: dict[tuple[str, int, Class, str | None, tuple[str, ...]], int] = {}
    subjects: dict[tuple[str, ...], tuple[str, ...]] = {}
    malformed: list[Malformed] = []
    judged: dict[tuple[tuple[str, int], str, tuple[str, ...]], _Judged] = {}
    today = now.date()
    total = 0
    for read in reads:
        if isinstance(read, Malformed):
            malformed.append(read)
            continue
        chain = _parse_chain(read.chain)
        if isinstance(chain, str):
            malformed.append(Malformed(read.where, f"{read.chain_field}{chain}"))
            continue
        total += 1
        entry = find_entry(pin_file, read.hostname, read.port or DEFAULT_PORT)
        if entry is None:
            cls: Class = "unknown-host"
            host, port = read.hostname, read.port or DEFAULT_PORT
        else:
            host, port = entry.host, entry.port
            at = read.seen_at or now
            key = (entry.key, read.hostname, read.chain)
            known = judged.get(key)
            stamp = at.timestamp()
            if known is None or not known.window[0] <= stamp <= known.window[1]:
                ca = pin_file.ca_file_for(entry) or ca_file
                roots_now = load_roots(ca) if entry.verify_chain else ()
                verdict = _judge(chain.certs, read.hostname, roots_now, at)
                known = judged[key] = verdict._replace(
                    cls=_classify(entry, chain.certs, verdict, today)
                )
            cls = known.cls
        group = (host, port, cls, read.app_version, chain.pins)
        counts[group] = counts.get(group, 0) + 1
        subjects.setdefault(chain.pins, chain.subjects)
    groups = [
        Group(h, p, c, v, pins, subjects[pins], n) for (h, p, c, v, pins), n in counts.items()
    ]
    rank = {cls: i for i, cls in enumerate(CLASSES)}
    groups.sort(key=lambda g: (rank[g.cls], -g.count, g.host, g.port, g.app_version or ""))
    return Triage(total, tuple(malformed), tuple(groups))


def find_entry(pin_file: PinFile, hostname: str, port: int) -> HostEntry | None:
    """The host's own entry, else the closest parent domain's with include_subdomains."""
    entry = pin_file.find_host(hostname, port)
    if entry is not None:
        return entry
    parents = [
        e
        for e in pin_file.hosts
        if e.include_subdomains and e.port == port and hostname.endswith("." + e.host.lower())
    ]
    return max(parents, key=lambda e: len(e.host), default=None)


def _classify(
    entry: HostEntry, certs: tuple[x509.Certificate, ...], known: _Judged, today: date
) -> Class:
    if entry.verify_chain and not known.trusted:
        return "interception"
    matched = RULE.match(entry.pins, Presented(certs, known.path), today)
    if matched is not None:
        return "stale-app"
    # Pinned by key alone (verify_chain = false), no trust store vouches for a new key.
    return "rotation" if entry.verify_chain else "interception"


def _judge(
    certs: tuple[x509.Certificate, ...],
    hostname: str,
    roots: tuple[x509.Certificate, ...],
    at: datetime,
) -> _Judged:
    from pinctl.pki.validation import validate

    if not roots:
        return _Judged(False, None, ALWAYS)
    verdict = validate(certs, hostname, roots, at)
    found = verdict.validation
    trusted = found.trusted and found.hostname_match
    path = tuple(verdict.path) if trusted else None
    window = _window(certs + (path or ()))
    if not window[0] <= at.timestamp() <= window[1]:
        window = NEVER  # a certificate was out of date then: at another time, validate again
    return _Judged(trusted, path, window)


ALWAYS = (-math.inf, math.inf)
NEVER = (math.inf, -math.inf)


def _window(certs: tuple[x509.Certificate, ...]) -> tuple[float, float]:
    start = max(c.not_valid_before_utc.timestamp() for c in certs)
    end = min(c.not_valid_after_utc.timestamp() for c in certs)
    return (start, end)


def _parse_chain(pems: tuple[str, ...]) -> _Chain | str:
    """The chain's certificates and pins, or the index and reason of the one that is not."""
    certs, pins, subjects = [], [], []
    for index, pem in enumerate(pems):
        parsed = _certificate(pem)
        if isinstance(parsed, str):
            return f"[{index}] {parsed}"
        cert, pin, subject = parsed
        certs.append(cert)
        pins.append(pin)
        subjects.append(subject)
    return _Chain(tuple(certs), tuple(pins), tuple(subjects))


@functools.lru_cache(maxsize=4096)
def _certificate(pem: str) -> tuple[x509.Certificate, str, str] | str:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8", "surrogateescape"))
        subject = cert.subject.rfc4514_string()
        pin = str(pin_of(cert))
    except ValueError:
        if "-----BEGIN CERTIFICATE-----" not in pem:
            return "is not a PEM certificate (no BEGIN CERTIFICATE line)"
        return "is not a PEM certificate (its content is no DER certificate)"
    return cert, pin, subject
