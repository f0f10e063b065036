"""How verify sees a host: a live handshake with its retries, or a chain saved earlier.

Both give the check the same `Observed`, so the rule never knows whether it judges a
live server or a file; only the live side waits (see `pinctl.net.steps`), and whoever
drives it holds the host's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import ConnectError
from pinctl.net.steps import Steps, Wait

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.net.session import TlsInfo
    from pinctl.net.starttls.dialogue import Upgrade
    from pinctl.net.targets import Target


@dataclass(frozen=True)
class Observed:
    """What a check saw of a host: the served chain, and the session when it was live."""

    served: tuple[x509.Certificate, ...]
    tls: TlsInfo | None = None
    forward_secrecy: bool | None = None
    starttls: Upgrade | None = None
    """The STARTTLS dialogue that came before the handshake, if any."""


Observe = Callable[["Target", float], Steps[Observed]]
"""Fetch a target's chain by a `time.monotonic()` deadline, or raise `ConnectError`."""


def load_chain(path: Path) -> tuple[x509.Certificate, ...]:
    """Read a saved PEM chain (`pinctl fetch --save`), leaf first."""
    from pinctl.pki.bundle import read_certificates

    return read_certificates(
        path, what="--chain", remedy="save a chain with `pinctl fetch HOST --save FILE`"
    )


def offline(chain: tuple[x509.Certificate, ...]) -> Observe:
    def observe(target: Target, deadline: float) -> Steps[Observed]:
        return Observed(chain)
        yield  # unreachable: a saved chain never waits, but this is a generator

    return observe


def live(
    targets: Iterable[Target],
    *,
    timeout: float,
    retries: int,
    proxy: str | None,
    environ: Mapping[str, str],
) -> Observe:
    """Handshake by the host's deadline, retrying refused or reset connections only.

    Proxy URLs are read first, so that a malformed one is a usage error (exit 2).
    """
    from pinctl.net import tls

    # The same proxy choice as fetch (an explicit --proxy '' goes direct), made up front
    # so that a malformed proxy URL is a usage error (exit 2) before any host is dialled.
    proxies = {
        target: tls.connect_options(
            target,
            timeout=timeout,
            family=None,
            proxy=proxy,
            environ=environ,
        ).proxy
        for target in targets
    }

    def observe(target: Target, deadline: float) -> Steps[Observed]:
        chosen = tls.ConnectOptions(timeout=timeout, proxy=proxies[target])
        attempt = 0
        while True:
            # Every attempt spends the one deadline of the host: retries get what is left.
            try:
                shake = yield from tls.handshake_steps(target, chosen)
            except ConnectError as exc:
                pause = 0.1 * 2**attempt
                retry = exc.retryable and attempt < retries
                if retry and time.monotonic() + pause < deadline:
                    try:
                        yield Wait(None, doing="before a retry", until=time.monotonic() + pause)
                    except ConnectError:
                        pass  # the deadline came during the pause: report what failed, below
                    else:
                        attempt += 1
                        continue
                if attempt:
                    raise ConnectError(f"{exc} (after {attempt + 1} attempts)", exc.status) from exc
                raise
            return Observed(shake.chain, shake.tls, shake.forward_secrecy, shake.starttls)

    return observe
