"""What a path's revocation sources said, certificate by certificate (SPEC.md section 7).

The facts only: `pinctl.net.revocation` finds them, `pinctl.verify.checks.revocation`
judges them by mode, and the output layer shows them. `prove_staple` is here because a
staple needs no fetch: fetch shows what it proves in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pinctl.pki.crl import Answer, Unproven

if TYPE_CHECKING:
    from cryptography import x509

MODES = ("off", "soft", "hard", "require")
"""`--revocation` and the pin file's `revocation`, loosest first."""
CertState = Literal["good", "revoked", "unknown", "unavailable", "no-source"]
SourceName = Literal["ocsp-stapled", "crl", "ocsp"]


@dataclass(frozen=True)
class CertRevocation:
    """What the sources said about one certificate of the path."""

    position: int
    cert: x509.Certificate
    status: CertState
    source: SourceName | None = None
    url: str | None = None
    """The source that answered (a file path for --crl)."""
    answer: Answer | None = None
    faults: tuple[str, ...] = ()
    """Why each source asked gave no answer, in the order asked."""
    must_staple: bool = False
    """The certificate demands a staple (RFC 7633) and the handshake had no valid one."""

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    @property
    def error(self) -> str | None:
        return "; ".join(self.faults) or None


@dataclass(frozen=True)
class PathRevocation:
    mode: str
    certs: tuple[CertRevocation, ...] = ()

    @property
    def status(self) -> Literal["good", "revoked", "unavailable", "not-checked"]:
        """The path's summary: revoked if any is, else unavailable if any went unanswered."""
        if self.mode == "off":
            return "not-checked"
        states = {c.status for c in self.certs}
        if "revoked" in states:
            return "revoked"
        if states & {"unknown", "unavailable"} or any(c.must_staple for c in self.certs):
            return "unavailable"
        if self.mode == "require" and "no-source" in states:
            return "unavailable"
        return "good"


def prove_staple(
    staple: bytes | None, path: Sequence[x509.Certificate], now: datetime
) -> CertRevocation | None:
    """What the stapled response proves about the leaf (fetch shows it in every mode)."""
    from pinctl.pki import ocsp

    if not staple or len(path) < 2:
        return None
    try:
        answer = ocsp.check(staple, path[0], path[1], now)
    except Unproven as exc:
        return CertRevocation(0, path[0], "unavailable", "ocsp-stapled", faults=(str(exc),))
    state: CertState = answer.status
    return CertRevocation(0, path[0], state, "ocsp-stapled", None, answer)
