"""Live targets to reports: handshake, validate, and describe every certificate with its pins.

Targets are inspected concurrently, since each costs a network round trip, and reported in
the order given. A target that cannot be reached becomes a `SourceFailure`; the others are
still reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pinctl.errors import ConnectError
from pinctl.inspect.report import SourceFailure
from pinctl.net.targets import Target
from pinctl.net.tls import ConnectOptions
from pinctl.pki.entries import SourceReport, certificate_entry
from pinctl.pki.pins import HashAlg

if TYPE_CHECKING:
    from cryptography import x509

OptionsFor = Callable[[Target], ConnectOptions]


def inspect(
    target: Target,
    options: ConnectOptions,
    roots: Sequence[x509.Certificate],
    hashes: tuple[HashAlg, ...],
    now: datetime,
) -> SourceReport:
    """Handshake and validate; entries are the served chain, then the anchor if not served."""
    from pinctl.net.tls import handshake
    from pinctl.pki.validation import validate

    shake = handshake(target, options)
    verdict = validate(shake.chain, target.check_name, roots, now)
    entries = [certificate_entry(cert, i, hashes) for i, cert in enumerate(shake.chain)]
    if not verdict.anchor_served:
        entries.append(certificate_entry(verdict.path[-1], len(entries), hashes, served=False))
    return SourceReport(
        source=target.label,
        entries=tuple(entries),
        tls=shake.tls,
        validation=verdict.validation,
    )


def inspect_all(
    targets: Sequence[Target],
    options: ConnectOptions | OptionsFor,
    roots: Sequence[x509.Certificate],
    hashes: tuple[HashAlg, ...],
    now: datetime,
    concurrency: int = 8,
) -> tuple[SourceReport | SourceFailure, ...]:
    """Every target's report or failure, in input order; `options` may differ per target."""

    def one(target: Target) -> SourceReport | SourceFailure:
        chosen = options if isinstance(options, ConnectOptions) else options(target)
        try:
            return inspect(target, chosen, roots, hashes, now)
        except ConnectError as exc:
            return SourceFailure(target.label, str(exc))

    if len(targets) <= 1 or concurrency <= 1:
        return tuple(one(target) for target in targets)
    return _concurrently(one, targets, concurrency)


def _concurrently(
    work: Callable[[Target], SourceReport | SourceFailure],
    targets: Sequence[Target],
    concurrency: int,
) -> tuple[SourceReport | SourceFailure, ...]:
    """Daemon threads, not an executor: Ctrl-C must not wait for handshakes in flight."""
    import threading

    results: dict[int, SourceReport | SourceFailure] = {}
    crashes: list[BaseException] = []
    pending = iter(enumerate(targets))
    lock = threading.Lock()

    def worker() -> None:
        while not crashes:
            with lock:
                index, target = next(pending, (-1, None))
            if target is None:
                return
            try:
                results[index] = work(target)
            except BaseException as exc:  # a bug: re-raised in the caller's thread
                crashes.append(exc)

    threads = [
        threading.Thread(target=worker, name=f"pinctl-fetch-{n}", daemon=True)
        for n in range(min(concurrency, len(targets)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashes:
        raise crashes[0]
    return tuple(results[i] for i in range(len(targets)))
