"""tls-policy: the session meets `min_tls` and, unless turned off, has forward secrecy."""

from __future__ import annotations

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.observation import Observed
from pinctl.verify.verdicts import Failed, Passed, Skipped, Verdict

_TLS_VERSIONS = {"TLSv1": (1, 0), "TLSv1.1": (1, 1), "TLSv1.2": (1, 2), "TLSv1.3": (1, 3)}


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    if evidence.seen is None:
        return Skipped("no session: the host was not reached"), evidence
    defaults = subject.defaults
    return policy(evidence.seen, defaults.min_tls, defaults.forward_secrecy), evidence
    yield  # a generator, as every check is


def policy(seen: Observed, min_tls: str, forward_secrecy: bool) -> Verdict:
    """A protocol this table does not know fails closed, as if it were below any minimum."""
    if seen.tls is None:
        return Skipped("a saved chain has no TLS session to judge")
    version = _TLS_VERSIONS.get(seen.tls.version)
    wanted = tuple(int(part) for part in min_tls.split("."))
    if version is None or version < wanted:
        return Failed("tls-policy", f"negotiated {seen.tls.version}, below min_tls = {min_tls!r}")
    if forward_secrecy and not seen.forward_secrecy:
        return Failed(
            "tls-policy",
            f"{seen.tls.version} with {seen.tls.cipher} has no forward secrecy "
            "((EC)DHE key exchange); set forward_secrecy = false in [defaults] to allow it",
        )
    return Passed()
