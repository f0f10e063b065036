"""The verify run: every selected host of the pin file through the pipeline, concurrently.

CI trusts this to fail closed. Targets and trust roots are read before any host is
contacted (a bad entry or ca_file exits 2 having touched nothing); any exception while
checking a host becomes a failed host, never a pass, and a host still waited on at its
deadline is a timeout (`pinctl.net.pool`). Which certificates a pin may match is a
replaceable `MatchRule` (OkHttp's by default), so that `verify --as curl|android|ios`
can judge the same chain by another client's rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import PinctlError, UsageError
from pinctl.verify.rules import MatchRule, OkHttpRule

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.policy import PolicyName
    from pinctl.ct.report import CtSetting
    from pinctl.exports.clients import Apps
    from pinctl.net.revocation import Fetcher
    from pinctl.net.steps import Steps
    from pinctl.pinfile.model import Client, HostEntry, PinFile
    from pinctl.verify.observation import Observe
    from pinctl.verify.results import HostResult, VerifyResult

# The pipeline and its checks are imported where a run starts, not here: `verify --help`
# and shell completion load this module for DEFAULT_CONCURRENCY alone.

DEFAULT_CONCURRENCY: int | None = None
"""Hosts in flight: None is the pool's default (`pinctl.net.pool.bound`), which follows the
descriptor limit, so that hung hosts, which hold a socket each until their timeout, never
keep the others waiting."""


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
    clients: tuple[Client, ...] | None = None
    """`--as`: the clients to judge every host for; None takes the pin file's `clients`."""
    debug: bool = False
    """Re-raise the first unexpected exception after the run, for its traceback."""
    ct: str | None = None
    """``--ct``: overrides every host's and [defaults]' ``ct``."""
    ct_log_list: Path | None = None
    """``--ct-log-list`` or ``$PINCTL_CT_LOG_LIST``: overrides the pin file's ``ct_log_list``."""
    revocation: str | None = None
    """`--revocation`, overriding the pin file's modes; None follows them."""
    crl_files: tuple[Path, ...] = ()
    crl_max_bytes: int | None = None
    """None: `pinctl.pki.crl.CRL_MAX_BYTES`."""
    cache_dir: Path | None = None
    """Where verified revocation answers are kept (--cache-dir, $PINCTL_CACHE_DIR)."""
    starttls: str | None = None
    """``--starttls``: the dialogue for every host, overriding the pin file's ``starttls``."""


def verify(
    pin_file: PinFile,
    hosts: Sequence[HostEntry],
    options: VerifyOptions,
    now: datetime,
    *,
    chain: tuple[x509.Certificate, ...] | None = None,
    progress: Callable[[HostResult], None] | None = None,
) -> VerifyResult:
    """Check `hosts` concurrently; with `chain`, judge that saved chain instead of connecting."""
    from pinctl.net.targets import host_target
    from pinctl.verify.evidence import Subject
    from pinctl.verify.observation import live, offline
    from pinctl.verify.pipeline import check_host
    from pinctl.verify.results import VerifyResult

    started = time.monotonic()
    apps, selection = _apps(pin_file, hosts, options.clients, now)
    targets = {
        e.key: host_target(
            e.host,
            e.port,
            e.servername,
            e.connect_to,
            options.starttls or e.starttls,
            e.starttls_name,
        )
        for e in hosts
    }
    roots: dict[Path | None, tuple[x509.Certificate, ...]] = {}
    for entry in hosts:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        if entry.verify_chain and ca not in roots:
            roots[ca] = _roots(ca, pin_file, entry, given=options.ca_file is not None)
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

    ct = ct_settings(pin_file, hosts, options)
    fetcher = revocation_fetcher(pin_file, hosts, options)

    def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
        ca = options.ca_file or pin_file.ca_file_for(entry)
        subject = Subject(
            entry,
            targets[entry.key],
            pin_file.defaults,
            roots.get(ca, ()),
            options.rule,
            observe,
            deadline,
            now,
            selection.get(entry.key, ()),
            apps,
            ct.get(entry.key),
            fetcher,
            options.revocation,
        )
        return check_host(subject, strict=options.strict)

    errors: list[BaseException] = []
    results = run_pool(hosts, check, options, progress or (lambda _: None), errors)
    if errors and options.debug:
        raise errors[0]
    return VerifyResult(
        tuple(results), pin_file.path, now, options.rule.name, time.monotonic() - started
    )


def _apps(
    pin_file: PinFile,
    hosts: Sequence[HostEntry],
    given: tuple[Client, ...] | None,
    now: datetime,
) -> tuple[Apps, dict[tuple[str, int], tuple[Client, ...]]]:
    """The clients each host is judged for, read before any host is contacted (a bad name
    in the pin file is a usage error, exit 2), and the pin file as their exports hold it."""
    from pinctl.exports.clients import Apps, selected

    selection = {entry.key: selected(entry, pin_file, given) for entry in hosts}
    return Apps(pin_file, now.date()), selection


def ct_settings(
    pin_file: PinFile, hosts: Sequence[HostEntry], options: VerifyOptions
) -> dict[tuple[str, int], CtSetting]:
    """Each host's CT setting, the log list read once; `require` without a list is a usage
    error, and a list that cannot be read is refused, before any host is contacted."""
    from pinctl.ct.report import CtSetting

    defaults = pin_file.defaults
    modes = {e.key: options.ct or e.ct or defaults.ct for e in hosts}
    wanted = {key: mode for key, mode in modes.items() if mode != "off"}
    if not wanted:
        return {}
    path = options.ct_log_list or defaults.ct_log_list
    if path is None:
        strict = [e.label for e in hosts if wanted.get(e.key) == "require"]
        if strict:
            raise UsageError(
                f"ct = require for {strict[0]} needs a CT log list; give --ct-log-list FILE, "
                "$PINCTL_CT_LOG_LIST or ct_log_list in [defaults] (see the README: "
                "Certificate Transparency)"
            )
    from pinctl.ct import loglist

    logs = loglist.load(path) if path is not None else None
    settings = {}
    for entry in hosts:
        if entry.key in wanted:
            chosen = entry.ct_policy or defaults.ct_policy
            policies = POLICY_SETS[chosen]
            settings[entry.key] = CtSetting(wanted[entry.key], policies, logs)
    return settings


POLICY_SETS: dict[str, tuple[PolicyName, ...]] = {
    "chrome": ("chrome",),
    "apple": ("apple",),
    "both": ("chrome", "apple"),
}


def revocation_fetcher(
    pin_file: PinFile, hosts: Sequence[HostEntry], options: VerifyOptions
) -> Fetcher | None:
    """The run's shared revocation sources; None when no host checks revocation.

    Made before any host is contacted: a bad --crl file or proxy URL exits 2 first. The
    --crl files are read even when every host's revocation is off: a file given on the
    command line that cannot be used is an error, not something silently left unread.
    """
    from pinctl.pki.crl import CRL_MAX_BYTES

    cap = options.crl_max_bytes or CRL_MAX_BYTES
    if options.crl_files:
        from pinctl.net.revocation import load_crl_files

        given = load_crl_files(options.crl_files, cap)
    else:
        given = ()
    modes = {options.revocation or e.revocation or pin_file.defaults.revocation for e in hosts}
    if modes <= {"off"}:
        return None
    from pinctl.net.cache import AnswerCache
    from pinctl.net.http import proxy_chooser
    from pinctl.net.revocation import Fetcher

    return Fetcher(
        proxy_chooser(options.proxy, options.environ),
        cap,
        given,
        AnswerCache(options.cache_dir, cap) if options.cache_dir else None,
    )


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


def _roots(
    ca: Path | None, pin_file: PinFile, entry: HostEntry, *, given: bool
) -> tuple[x509.Certificate, ...]:
    """The roots of `ca`; a pin file's unusable ca_file is named by file, line and key."""
    from pinctl.pki import validation as chains

    if given or ca is None:
        return chains.load_roots(ca)
    from pinctl.pinfile.reader import pin_file_roots

    return pin_file_roots(pin_file, entry)


def internal_failure(entry: HostEntry, exc: BaseException, strict: bool) -> HostResult:
    """A bug in a check fails the host (exit 1), with the reason; it never passes."""
    from pinctl.verify.results import Crashed, HostResult

    if isinstance(exc, PinctlError):
        message = str(exc)
    else:
        message = (
            f"internal error ({type(exc).__name__}: {exc}); "
            "re-run with --debug and report the traceback"
        )
    return HostResult(entry, (), Crashed(message), strict=strict)
