"""The verify rule: does every host of the pin file still present a pinned key?

CI trusts this to fail closed. Each host ends as a `HostResult` with one of the
statuses of SPEC.md; any exception while checking a host becomes a failed host, never
a pass, and a host still waited on at its deadline is a timeout (`pinctl.net.pool`).
Which certificates a pin may match is a replaceable `MatchRule` (OkHttp's by default),
so that `verify --as curl|android|ios` can judge the same chain by another client's rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from pinctl.errors import ConnectError, ExitCode, PinctlError
from pinctl.inspect.report import TlsInfo
from pinctl.net.steps import COMPUTE, Steps
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.verify.observation import Observe, Observed, live, offline
from pinctl.verify.rules import MatchRule, OkHttpRule, Presented, pin_matches, pin_of

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.net.targets import Target
    from pinctl.pki.pins import Pin

Status = Literal[
    "pass",
    "pin-mismatch",
    "untrusted",
    "hostname-mismatch",
    "tls-policy",
    "unreachable",
    "timeout",
    "tls-error",
]
UNCHECKED: frozenset[str] = frozenset({"unreachable", "timeout", "tls-error"})
"""Statuses of a host that could not be checked: exit 3 unless something failed."""

DEFAULT_CONCURRENCY: int | None = None
"""Hosts in flight: None is the pool's default (`pinctl.net.pool.bound`), which follows the
descriptor limit, so that hung hosts, which hold a socket each until their timeout, never
keep the others waiting."""
_TLS_VERSIONS = {"TLSv1": (1, 0), "TLSv1.1": (1, 1), "TLSv1.2": (1, 2), "TLSv1.3": (1, 3)}


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
class HostResult:
    """The verdict on one host; `ok` is the only thing that makes it pass."""

    entry: HostEntry
    status: Status
    error: str | None = None
    """Why the host did not pass; None for a pass."""
    tls: TlsInfo | None = None
    chain: tuple[ChainCert, ...] = ()
    """The certificates the rule judged (the validated path, else the leaf and its signers)."""
    matched: PinEntry | None = None
    warnings: tuple[str, ...] = ()
    strict: bool = False
    internal: bool = False
    """An unexpected exception ended the check: a bug, so the run exits 1, not 3."""
    elapsed: float = 0.0

    @property
    def label(self) -> str:
        return self.entry.label

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
    rule: str = "okhttp"
    elapsed: float = 0.0
    lost_report: str | None = None
    """Why the --junit-xml report could not be written; CI lost its artefact, so the run fails."""

    @property
    def exit_code(self) -> ExitCode:
        """1 wins over 3: a failed check matters more than a host that was not checked."""
        if self.lost_report is not None:
            return ExitCode.FAILED
        codes = {host.exit_code for host in self.hosts}
        for code in (ExitCode.FAILED, ExitCode.UNREACHABLE):
            if code in codes:
                return code
        return ExitCode.OK if self.hosts else ExitCode.FAILED

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK


@dataclass(frozen=True)
class VerifyOptions:
    timeout: float = 10.0
    retries: int = 1
    concurrency: int | None = DEFAULT_CONCURRENCY
    strict: bool = False
    ca_file: Path | None = None
    """Overrides the pin file's ca_file for every host."""
    proxy: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    """For HTTPS_PROXY/NO_PROXY; passed in so the core never reads the process state."""
    rule: MatchRule = field(default_factory=OkHttpRule)
    debug: bool = False
    """Re-raise the first unexpected exception after the run, for its traceback."""


def verify(
    pin_file: PinFile,
    hosts: Sequence[HostEntry],
    options: VerifyOptions,
    now: datetime,
    *,
    chain: tuple[x509.Certificate, ...] | None = None,
    progress: Callable[[HostResult], None] | None = None,
) -> VerifyResult:
    """Check `hosts` concurrently; with `chain`, judge that saved chain instead of connecting.

    Targets and trust roots are read before any host is contacted, so that a bad entry
    or ca_file exits 2 having touched nothing.
    """
    from pinctl.net.targets import parse_target
    from pinctl.pki import validation as chains

    started = time.monotonic()
    targets = {
        e.key: parse_target(e.label, servername=e.servername, connect_to=e.connect_to)
        for e in hosts
    }
    roots: dict[Path | None, tuple[x509.Certificate, ...]] = {}
    for entry in hosts:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        if entry.verify_chain and ca not in roots:
            roots[ca] = chains.load_roots(ca)
    observe: Observe = (
        offline(chain)
        if chain is not None
        else live(
            targets.values(),
            timeout=options.timeout,
            retries=options.retries,
            proxy=options.proxy,
            environ=options.environ,
        )
    )

    def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        target = targets[entry.key]
        return check_host(
            entry, target, pin_file, observe, deadline, roots.get(ca, ()), options, now
        )

    errors: list[BaseException] = []
    results = run_pool(hosts, check, options, progress or (lambda _: None), errors)
    if errors and options.debug:
        raise errors[0]
    return VerifyResult(
        tuple(results), pin_file.path, options.rule.name, time.monotonic() - started
    )


def check_host(
    entry: HostEntry,
    target: Target,
    pin_file: PinFile,
    observe: Observe,
    deadline: float,
    roots: tuple[x509.Certificate, ...],
    options: VerifyOptions,
    now: datetime,
) -> Steps[HostResult]:
    """Handshake, TLS policy, chain, pins: the first check that fails names the status."""
    from pinctl.pki import validation as chains

    started = time.monotonic()
    today = now.date()
    strict = options.strict
    file_warnings = pin_warnings(entry.pins, today, pin_file.defaults.warn_days)
    try:
        seen = yield from observe(target, deadline)
    except ConnectError as exc:
        failed = cast(Status, exc.status if exc.status in UNCHECKED else "tls-error")
        return HostResult(
            entry,
            failed,
            str(exc),
            warnings=file_warnings,
            strict=strict,
            elapsed=time.monotonic() - started,
        )
    waited = time.monotonic()
    yield COMPUTE  # the rest is CPU work, faster batched with other hosts'
    started += time.monotonic() - waited  # the host's time, not its turn in the batch
    policy_error = tls_policy_error(
        seen, pin_file.defaults.min_tls, pin_file.defaults.forward_secrecy
    )
    path: tuple[x509.Certificate, ...] | None = None
    status: Status = "pass"
    error: str | None = None
    if policy_error:
        status, error = "tls-policy", policy_error
    elif entry.verify_chain:
        verdict = chains.validate(seen.served, target.check_name, roots, now)
        if not verdict.validation.trusted or not verdict.path:
            status = "untrusted"
            error = verdict.validation.error or "the chain does not lead to a trusted root"
        elif not verdict.validation.hostname_match:
            status = "hostname-mismatch"
            error = verdict.validation.error or f"the certificate is not valid for {entry.host}"
        if verdict.validation.trusted and verdict.path:
            path = tuple(verdict.path)
    presented = Presented(seen.served, path)
    matched = None
    if status == "pass":
        matched = options.rule.match(entry.pins, presented, today)
        if matched is None:
            status = "pin-mismatch"
            error = "no pin matches the chain" if entry.pins else "the host has no pins"
    # What the rule judged: the validated path, else the leaf and its real signers. Checking
    # signatures again for a path that was just validated would double a host's CPU.
    known = options.rule.considered(presented)
    warnings = file_warnings + chain_warnings(entry.pins, known, now, pin_file.defaults.warn_days)
    if status == "pass" and strict and warnings:
        error = f"--strict: {len(warnings)} warning(s) fail the check: " + "; ".join(warnings)
    chain = describe(known, seen.served)
    elapsed = time.monotonic() - started
    return HostResult(
        entry, status, error, seen.tls, chain, matched, warnings, strict, elapsed=elapsed
    )


def tls_policy_error(seen: Observed, min_tls: str, forward_secrecy: bool) -> str | None:
    if seen.tls is None:
        return None  # a saved chain has no session to judge
    version = _TLS_VERSIONS.get(seen.tls.version)
    wanted = tuple(int(part) for part in min_tls.split("."))
    if version is None or version < wanted:
        return f"negotiated {seen.tls.version}, below min_tls = {min_tls!r}"
    if forward_secrecy and not seen.forward_secrecy:
        return (
            f"{seen.tls.version} with {seen.tls.cipher} has no forward secrecy "
            "((EC)DHE key exchange); set forward_secrecy = false in [defaults] to allow it"
        )
    return None


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


def describe(
    certs: Sequence[x509.Certificate], served: Sequence[x509.Certificate]
) -> tuple[ChainCert, ...]:
    return tuple(ChainCert(c, c in served) for c in certs)


def failure_details(host: HostResult) -> list[str]:
    """OkHttp's pinning failure message: the chain's pins, then the pins expected."""
    if host.status not in ("pin-mismatch", "untrusted", "hostname-mismatch") or not host.chain:
        return [f"{host.status}: {host.error}"] if host.error else []
    lines = [f"{host.status}: {host.error}", "  Peer certificate chain:"]
    for cert in host.chain:
        mark = "" if cert.served else " (trust anchor, not served)"
        lines.append(f"    {cert.spki}: {cert.subject}{mark}")
    lines.append(f"  Pinned certificates for {host.label}:")
    for pin in host.entry.pins:
        facts = [pin.kind, "backup" if pin.backup else pin.level]
        if pin.expires is not None:
            facts.append(f"expires {pin.expires.isoformat()}")
        if pin.line is not None:
            facts.append(f"line {pin.line}")
        if pin.note:
            facts.append(pin.note)
        lines.append(f"    {pin.pin} ({', '.join(facts)})")
    return lines


def run_pool(
    hosts: Sequence[HostEntry],
    check: Callable[[HostEntry, float], Steps[HostResult]],
    options: VerifyOptions,
    on_done: Callable[[HostResult], None],
    errors: list[BaseException],
) -> list[HostResult]:
    """Check hosts concurrently; a crash fails its host, a hang becomes its timeout."""
    from pinctl.net.pool import run_pool as pool

    def failed(entry: HostEntry, exc: BaseException) -> HostResult:
        errors.append(exc)
        return internal_failure(entry, exc, options.strict)

    return pool(
        hosts,
        check,
        timeout=options.timeout,
        concurrency=options.concurrency,
        failed=failed,
        on_done=on_done,
    )


def internal_failure(entry: HostEntry, exc: BaseException, strict: bool) -> HostResult:
    """A bug in a check fails the host (exit 1), with the reason; it never passes."""
    if isinstance(exc, PinctlError):
        message = str(exc)
    else:
        message = (
            f"internal error ({type(exc).__name__}: {exc}); "
            "re-run with --debug and report the traceback"
        )
    return HostResult(entry, "tls-error", message, strict=strict, internal=True)
