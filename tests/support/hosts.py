"""Verify host results built directly, for tests of what is done with them (pool, output)."""

from __future__ import annotations

from typing import Any, cast

from pinctl.pinfile.model import HostEntry
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
