"""Verify host results built directly, for tests of what is done with them (pool, output)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeAlias, cast

import trustme
from cryptography import x509

from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import HashAlg, Pin, compute
from pinctl.verify.results import ChainCert, HostResult, Reached, Unreached
from pinctl.verify.verdicts import UNCHECKED, CheckName, Failed, Passed, Unchecked, Verdict

CHECK_OF: dict[str, CheckName] = {
    "tls-policy": "tls-policy",
    "untrusted": "chain",
    "hostname-mismatch": "chain",
    "revoked": "revocation",
    "pin-mismatch": "pins",
    "client-reject": "clients",
    "ct-noncompliant": "ct",
    "starttls-unsupported": "connect",
    "unreachable": "connect",
    "timeout": "connect",
    "tls-error": "connect",
    "revocation-unavailable": "revocation",
}
"""The check that reports each status."""

ServedPki: TypeAlias = tuple[trustme.CA, trustme.CA, tuple[x509.Certificate, ...]]
"""The verify tests' `pki` fixture: a root, an intermediate under it, the chain served."""


def host_result(
    entry: HostEntry,
    status: str = "pass",
    reason: str | None = None,
    *,
    chain: tuple[ChainCert, ...] = (),
    elapsed: float = 0.0,
) -> HostResult:
    """A result whose verdicts give `status`, as the pipeline would have ended."""
    if status == "pass":
        checks: tuple[tuple[CheckName, Verdict], ...] = (("connect", Passed()), ("pins", Passed()))
        return HostResult(entry, checks, Reached(chain, None, None), elapsed=elapsed)
    text = reason or status
    if status in UNCHECKED and CHECK_OF[status] == "connect":
        checks = (("connect", Unchecked(cast(Any, status), text)),)
        return HostResult(entry, checks, Unreached(), elapsed=elapsed)
    verdict: Verdict = (
        Unchecked(cast(Any, status), text)
        if status in UNCHECKED
        else Failed(cast(Any, status), text)
    )
    checks = (("connect", Passed()), (CHECK_OF[status], verdict))
    if CHECK_OF[status] != "pins":
        checks += (("pins", Passed()),)
    return HostResult(entry, checks, Reached(chain, None, None), elapsed=elapsed)


NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def certs(pems: Sequence[trustme.Blob]) -> tuple[x509.Certificate, ...]:
    """Certificates as cryptography objects, in the order given."""
    return tuple(x509.load_pem_x509_certificate(pem.bytes()) for pem in pems)


def root_of(ca: trustme.CA) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes())


def spki(cert: x509.Certificate, alg: HashAlg = "sha256") -> Pin:
    return compute(spki_der(cert.public_key()), alg)


def pin(cert: x509.Certificate, **kw: Any) -> PinEntry:
    return PinEntry(spki(cert), **kw)


def other_pin() -> PinEntry:
    """A backup pin of a key no chain in the tests has."""
    return pin(root_of(trustme.CA()), backup=True)


def verify_saved_chain(
    tmp_path: Path,
    root: trustme.CA,
    served: tuple[x509.Certificate, ...],
    pins: Sequence[PinEntry],
    **host: Any,
) -> HostResult:
    """Run the whole verify pipeline on a saved chain, trusting `root`."""
    ca = tmp_path / "root.pem"
    root.cert_pem.write_to_path(str(ca))
    entry = HostEntry("api.test", pins=tuple(pins), **host)
    pin_file = PinFile(tmp_path / "pins.toml", defaults=Defaults(ca_file=ca), hosts=(entry,))
    from pinctl.verify.run import VerifyOptions, verify

    result = verify(pin_file, pin_file.hosts, VerifyOptions(), NOW, chain=served)
    return result.hosts[0]
