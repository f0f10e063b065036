"""tls-policy: the session meets `min_tls` and, unless turned off, has forward secrecy."""

from __future__ import annotations

import functools

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.observation import Observed
from pinctl.verify.verdicts import PASSED, Failed, Skipped, Verdict

NOT_REACHED = Skipped("no session: the host was not reached")
SAVED = Skipped("a saved chain has no TLS session to judge")

_TLS_VERSIONS = {
    "TLSv1": (1, 0),
    "TLSv1.1": (1, 1),
    "TLSv1.2": (1, 2),
    "TLSv1.3": (1, 3),
}
_MIN_TLS = {"TLSv1": "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2", "TLSv1.3": "1.3"}
"""The min_tls value that would allow a negotiated version, for the remedy."""


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    if evidence.seen is None:
        return NOT_REACHED, evidence
    min_tls, forward_secrecy = subject.defaults.tls_policy(subject.entry)
    return policy(evidence.seen, min_tls, forward_secrecy), evidence
    yield  # a generator, as every check is


def policy(seen: Observed, min_tls: str, forward_secrecy: bool) -> Verdict:
    """A protocol this table does not know fails closed, as if it were below any minimum."""
    if seen.tls is None:
        return SAVED
    version = _TLS_VERSIONS.get(seen.tls.version)
    wanted = _version(min_tls)
    if version is None or version < wanted:
        allow = _MIN_TLS.get(seen.tls.version)
        fix = (
            f'; set min_tls = "{allow}" for the host (or in [defaults]) to allow it'
            if allow
            else ""
        )
        return Failed(
            "tls-policy", f"negotiated {seen.tls.version}, below min_tls = {min_tls!r}{fix}"
        )
    if forward_secrecy and not seen.forward_secrecy:
        return Failed(
            "tls-policy",
            f"{seen.tls.version} with {seen.tls.cipher} has no forward secrecy "
            "((EC)DHE key exchange); set forward_secrecy = false for the host "
            "(or in [defaults]) to allow it",
        )
    return PASSED


@functools.lru_cache(maxsize=8)
def _version(min_tls: str) -> tuple[int, ...]:
    """Parsed once per run, not once per host: most hosts share [defaults]'s."""
    return tuple(int(part) for part in min_tls.split("."))
