"""Live targets to reports: handshake, validate, and describe every certificate with its pins.

Targets run on the same pool as verify (`pinctl.net.pool`), since each costs a network
round trip, and are reported in the order given. A target that cannot be reached becomes
a `SourceFailure`; the others are still reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pinctl.errors import ConnectError
from pinctl.inspect.report import SourceFailure, SourceReport
from pinctl.net.steps import COMPUTE, Steps
from pinctl.net.targets import Target
from pinctl.net.tls import ConnectOptions
from pinctl.pki.entries import certificate_entry
from pinctl.pki.pins import HashAlg

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.loglist import LogList
    from pinctl.net.revocation import Fetcher

OptionsFor = Callable[[Target], ConnectOptions]
Inspected = SourceReport | SourceFailure


def inspect_steps(
    target: Target,
    options: ConnectOptions,
    roots: Sequence[x509.Certificate],
    hashes: tuple[HashAlg, ...],
    now: datetime,
    log_list: LogList | None = None,
    revocation: tuple[Fetcher, str] | None = None,
) -> Steps[Inspected]:
    """Handshake and validate; entries are the served chain, then the anchor if not served.

    The stapled OCSP response is always proven and shown; with `revocation` (the run's
    fetcher and mode) every certificate of the validated path is checked too.
    """
    from pinctl.net.tls import handshake_steps
    from pinctl.pki.revocation import prove_staple
    from pinctl.pki.validation import validate

    try:
        shake = yield from handshake_steps(target, options)
    except ConnectError as exc:
        return SourceFailure(target.label, str(exc))
    yield COMPUTE
    verdict = validate(shake.chain, target.check_name, roots, now)
    entries = [certificate_entry(cert, i, hashes) for i, cert in enumerate(shake.chain)]
    if not verdict.anchor_served:
        entries.append(certificate_entry(verdict.path[-1], len(entries), hashes, served=False))
    ct = None
    if log_list is not None:
        from pinctl.ct.report import evaluate, issuer_of

        path = tuple(verdict.path) if verdict.validation.trusted and verdict.path else None
        issuer = issuer_of(path, shake.chain)
        ct = evaluate(shake.chain[0], issuer, shake.tls.stapled_ocsp, log_list, now)
    path = tuple(verdict.path) if verdict.validation.trusted else ()
    checked = None
    if revocation is not None and path:
        fetcher, mode = revocation
        checked = yield from fetcher.check_path(path, shake.tls.stapled_ocsp, mode, now)
    return SourceReport(
        source=target.label,
        entries=tuple(entries),
        tls=shake.tls,
        validation=verdict.validation,
        ct=ct,
        staple=prove_staple(shake.tls.stapled_ocsp, path or shake.chain, now),
        revocation=checked,
    )


def inspect_all(
    targets: Sequence[Target],
    options: ConnectOptions | OptionsFor,
    roots: Sequence[x509.Certificate],
    hashes: tuple[HashAlg, ...],
    now: datetime,
    concurrency: int | None = None,
    log_list: LogList | None = None,
    revocation: tuple[Fetcher, str] | None = None,
) -> tuple[Inspected, ...]:
    """Every target's report or failure, in input order; `options` may differ per target.

    Options are chosen for every target before any is dialled, so that a bad proxy URL is
    a usage error having touched nothing. An error that is not the target's (a bug) is
    raised here once the others are done, never lost.
    """
    from pinctl.net.pool import run_pool

    chosen = [options if isinstance(options, ConnectOptions) else options(t) for t in targets]
    crashes: list[Exception] = []

    def failed(index: int, exc: Exception) -> Inspected:
        crashes.append(exc)
        return SourceFailure(targets[index].label, str(exc))

    results = run_pool(
        range(len(targets)),
        lambda i, _deadline: inspect_steps(
            targets[i], chosen[i], roots, hashes, now, log_list, revocation
        ),
        timeout=max((o.timeout for o in chosen), default=0.0),
        concurrency=concurrency,
        failed=failed,
        on_done=lambda _: None,
    )
    if crashes:
        raise crashes[0]
    return tuple(results)
