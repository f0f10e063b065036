"""The verify rule: does every host of the pin file still present a pinned key?

CI trusts this to fail closed. Each host ends as a `HostResult` with one of the
statuses of SPEC.md; any exception while checking a host becomes a failed host, never
a pass, and a check that outlives its timeout is abandoned and reported as a timeout.
Which certificates a pin may match is a replaceable `MatchRule` (OkHttp's by default),
so that `verify --as curl|android|ios` can judge the same chain by another client's rule.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

from pinctl.entries import TlsInfo, spki_der
from pinctl.errors import ConnectError, ExitCode, InputError, PinctlError, UsageError
from pinctl.pinfile import HostEntry, PinEntry, PinFile
from pinctl.pins import Pin, compute

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.targets import Target

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

DEFAULT_CONCURRENCY = 32
"""Hung hosts hold a slot for their whole timeout; see bench/verify_many and the README."""
WATCHDOG_GRACE = 0.5
"""How long past its timeout a check may run before it is abandoned as timed out."""
_TLS_VERSIONS = {
    "SSLv3": (3, 0),
    "TLSv1": (1, 0),
    "TLSv1.1": (1, 1),
    "TLSv1.2": (1, 2),
    "TLSv1.3": (1, 3),
}


@dataclass(frozen=True)
class ChainCert:
    """A certificate a rule judged, as the mismatch message shows it."""

    subject: str
    spki: Pin
    """Its sha256 SPKI pin, the spelling OkHttp and curl print."""
    served: bool
    """False for a trust anchor that validation took from the store."""
    not_after: datetime


@dataclass(frozen=True)
class HostResult:
    """The verdict on one host; `ok` is the only thing that makes it pass."""

    entry: HostEntry
    status: Status
    error: str | None = None
    """Why the host did not pass; None for a pass."""
    tls: TlsInfo | None = None
    chain: tuple[ChainCert, ...] = ()
    """The certificates the rule judged (the validated path, else the served chain)."""
    matched: PinEntry | None = None
    warnings: tuple[str, ...] = ()
    strict: bool = False
    internal: bool = False
    """An unexpected exception ended the check: a bug, so the run exits 1, not 3."""
    elapsed: float = 0.0

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

    @property
    def exit_code(self) -> ExitCode:
        """1 wins over 3: a failed check matters more than a host that was not checked."""
        codes = {host.exit_code for host in self.hosts}
        for code in (ExitCode.FAILED, ExitCode.UNREACHABLE):
            if code in codes:
                return code
        return ExitCode.OK if self.hosts else ExitCode.FAILED

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK


@dataclass(frozen=True)
class Observed:
    """What a check saw of a host: the served chain, and the session when it was live."""

    served: tuple[x509.Certificate, ...]
    tls: TlsInfo | None = None
    forward_secrecy: bool | None = None


Observe = Callable[["Target", float], Observed]
"""Fetch a target's chain by a `time.monotonic()` deadline, or raise `ConnectError`."""


@dataclass(frozen=True)
class Presented:
    """The certificates a `MatchRule` may look at."""

    served: tuple[x509.Certificate, ...]
    path: tuple[x509.Certificate, ...] | None
    """The validated path, leaf to trust anchor; None when verify_chain = false."""


class MatchRule(Protocol):
    """A client's pinning rule: which certificates count, and which pin matched."""

    name: str

    def considered(self, chain: Presented) -> tuple[x509.Certificate, ...]: ...

    def match(self, pins: Sequence[PinEntry], chain: Presented, today: date) -> PinEntry | None: ...


class OkHttpRule:
    """OkHttp's CertificatePinner: any unexpired pin on any certificate of the clean chain.

    The clean chain is the validated path, including a trust anchor the server never
    sent; certificates the server sent that are not on the path never count.
    """

    name = "okhttp"

    def considered(self, chain: Presented) -> tuple[x509.Certificate, ...]:
        return chain.path if chain.path is not None else chain.served

    def match(self, pins: Sequence[PinEntry], chain: Presented, today: date) -> PinEntry | None:
        live = [p for p in pins if not p.expired(today)]
        for cert in self.considered(chain):
            for entry in live:
                if pin_matches(entry, cert):
                    return entry
        return None


RULES: dict[str, MatchRule] = {"okhttp": OkHttpRule()}


def pin_matches(entry: PinEntry, cert: x509.Certificate) -> bool:
    from cryptography.hazmat.primitives.serialization import Encoding

    if entry.kind == "cert":
        return compute(cert.public_bytes(Encoding.DER), entry.pin.alg) == entry.pin
    return compute(spki_der(cert.public_key()), entry.pin.alg) == entry.pin


@dataclass(frozen=True)
class VerifyOptions:
    timeout: float = 10.0
    retries: int = 1
    concurrency: int = DEFAULT_CONCURRENCY
    strict: bool = False
    ca_file: Path | None = None
    """Overrides the pin file's ca_file for every host."""
    proxy: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    """For HTTPS_PROXY/NO_PROXY; passed in so the core never reads the process state."""
    rule: MatchRule = field(default_factory=OkHttpRule)


def select_hosts(pin_file: PinFile, names: Sequence[str]) -> tuple[HostEntry, ...]:
    """The hosts named as ``host`` or ``host:port``, in pin file order; all when none."""
    if not pin_file.hosts:
        raise InputError(f"{pin_file.path} has no hosts; add one with `pinctl add HOST`")
    if not names:
        return pin_file.hosts
    chosen: list[HostEntry] = []
    for name in names:
        found = [h for h in pin_file.hosts if _names(h, name)]
        if not found:
            raise UsageError(
                f"host {name!r} is not in {pin_file.path}; "
                f"known: {', '.join(_label(h) for h in pin_file.hosts)}"
            )
        chosen += [h for h in found if h not in chosen]
    return tuple(h for h in pin_file.hosts if h in chosen)


def _names(entry: HostEntry, name: str) -> bool:
    text = name.strip().lower()
    if text.strip("[]") == entry.host.lower():
        return True
    host, sep, port = text.rpartition(":")
    return (
        bool(sep)
        and port.isdigit()
        and host.strip("[]") == entry.host.lower()
        and (int(port) == entry.port)
    )


def _label(entry: HostEntry) -> str:
    host = f"[{entry.host}]" if ":" in entry.host else entry.host
    return f"{host}:{entry.port}"


def load_chain(path: Path) -> tuple[x509.Certificate, ...]:
    """Read a saved PEM chain (`pinctl fetch --save`), leaf first."""
    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read --chain {path}: {exc.strerror or exc}") from None
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        raise InputError(
            f"--chain {path} holds no PEM certificates; save one with `pinctl fetch HOST --save FILE`"
        ) from None


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

    Trust roots are loaded before any host is contacted, so a bad ca_file exits 2.
    """
    from pinctl import chain as chains

    roots = {}
    for entry in hosts:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        if entry.verify_chain and ca not in roots:
            roots[ca] = chains.load_roots(ca)
    observe: Observe = _offline(chain) if chain is not None else _live(options)

    def check(entry: HostEntry, deadline: float) -> HostResult:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        return check_host(entry, pin_file, observe, deadline, roots.get(ca, ()), options, now)

    results = run_pool(hosts, check, options, progress or (lambda _: None))
    return VerifyResult(tuple(results), pin_file.path, options.rule.name)


def check_host(
    entry: HostEntry,
    pin_file: PinFile,
    observe: Observe,
    deadline: float,
    roots: tuple[x509.Certificate, ...],
    options: VerifyOptions,
    now: datetime,
) -> HostResult:
    """Handshake, TLS policy, chain, pins: the first check that fails names the status."""
    from pinctl import chain as chains
    from pinctl.targets import parse_target

    today = now.date()
    strict = options.strict
    file_warnings = pin_warnings(entry.pins, today, pin_file.defaults.warn_days)
    target = parse_target(_label(entry), servername=entry.servername, connect_to=entry.connect_to)
    try:
        seen = observe(target, deadline)
    except ConnectError as exc:
        status = cast(Status, exc.status if exc.status in UNCHECKED else "tls-error")
        return HostResult(entry, status, str(exc), warnings=file_warnings, strict=strict)
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
        path = tuple(verdict.path) if verdict.path else None
    presented = Presented(seen.served, path)
    matched = None
    if status == "pass":
        matched = options.rule.match(entry.pins, presented, today)
        if matched is None:
            status = "pin-mismatch"
            error = "no pin matches the chain" if entry.pins else "the host has no pins"
    known = seen.served + (path or ())
    warnings = file_warnings + chain_warnings(entry.pins, known, now, pin_file.defaults.warn_days)
    if status == "pass" and strict and warnings:
        error = f"--strict: {len(warnings)} warning(s) fail the check: " + "; ".join(warnings)
    chain = describe(options.rule.considered(presented), seen.served)
    return HostResult(entry, status, error, seen.tls, chain, matched, warnings, strict)


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
    return tuple(
        ChainCert(
            c.subject.rfc4514_string(),
            compute(spki_der(c.public_key())),
            c in served,
            c.not_valid_after_utc,
        )
        for c in certs
    )


def run_pool(
    hosts: Sequence[HostEntry],
    check: Callable[[HostEntry, float], HostResult],
    options: VerifyOptions,
    on_done: Callable[[HostResult], None],
) -> list[HostResult]:
    """Run checks on daemon threads, at most `concurrency` at once, each by its own deadline.

    A check still running WATCHDOG_GRACE after its deadline (a resolver that ignores
    timeouts, a bug) is abandoned as a timeout and its slot reused; a late answer is
    ignored. Threads are daemons so an abandoned one never holds the process open.
    """
    done: queue.SimpleQueue[tuple[int, HostResult]] = queue.SimpleQueue()
    results: dict[int, HostResult] = {}
    running: dict[int, tuple[float, float]] = {}  # index -> (started, abandon at)

    def work(index: int, deadline: float) -> None:
        started = time.monotonic()
        try:
            result = check(hosts[index], deadline)
        except BaseException as exc:  # noqa: BLE001 — fail closed, whatever it was
            result = internal_failure(hosts[index], exc, options.strict)
        done.put((index, _timed(result, time.monotonic() - started)))

    def finish(index: int, result: HostResult) -> None:
        del running[index]
        results[index] = result
        on_done(result)

    pending = 0
    while pending < len(hosts) or running:
        while pending < len(hosts) and len(running) < max(1, options.concurrency):
            started = time.monotonic()
            running[pending] = (started, started + options.timeout + WATCHDOG_GRACE)
            thread = threading.Thread(
                target=work, args=(pending, started + options.timeout), daemon=True
            )
            thread.start()
            pending += 1
        wait = min(limit for _, limit in running.values()) - time.monotonic()
        try:
            index, result = done.get(timeout=max(wait, 0.0))
        except queue.Empty:
            clock = time.monotonic()
            for index, (started, limit) in list(running.items()):
                if limit <= clock:
                    finish(index, _abandoned(hosts[index], options, clock - started))
            continue
        if index in running:
            finish(index, result)
    return [results[i] for i in range(len(hosts))]


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


def _abandoned(entry: HostEntry, options: VerifyOptions, elapsed: float) -> HostResult:
    return HostResult(
        entry,
        "timeout",
        f"no verdict within --timeout {options.timeout:g}s; the check was abandoned",
        strict=options.strict,
        elapsed=elapsed,
    )


def _timed(result: HostResult, elapsed: float) -> HostResult:
    from dataclasses import replace

    return replace(result, elapsed=elapsed)


def _offline(chain: tuple[x509.Certificate, ...]) -> Observe:
    def observe(target: Target, deadline: float) -> Observed:
        return Observed(chain)

    return observe


def _live(options: VerifyOptions) -> Observe:
    """Handshake by the host's deadline, retrying refused or reset connections only."""
    from pinctl import tls

    def observe(target: Target, deadline: float) -> Observed:
        proxy = options.proxy or tls.proxy_from_env(target.host, options.environ)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectError(f"timed out after {options.timeout:g} s", "timeout")
            try:
                shake = tls.handshake(target, tls.ConnectOptions(timeout=remaining, proxy=proxy))
            except ConnectError as exc:
                pause = 0.1 * 2**attempt
                if exc.retryable and attempt < options.retries:
                    if time.monotonic() + pause < deadline:
                        attempt += 1
                        time.sleep(pause)
                        continue
                if attempt:
                    raise ConnectError(f"{exc} (after {attempt + 1} attempts)", exc.status) from exc
                raise
            return Observed(shake.chain, shake.tls, shake.forward_secrecy)

    return observe
