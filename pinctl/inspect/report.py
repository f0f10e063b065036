"""What fetch and pin report: each source's entries, or why it could not be read or reached.

Named tuples, not dataclasses: `pin` imports this module at every start, and generating a
frozen dataclass's methods costs more than the rest of what `pin` defines.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pinctl.ct.report import CtReport
    from pinctl.net.session import TlsInfo
    from pinctl.pki.entries import Entry
    from pinctl.pki.pins import HashAlg
    from pinctl.pki.revocation import CertRevocation, PathRevocation
    from pinctl.pki.validation import Validation


class SourceReport(NamedTuple):
    """A source that could be read: a file, or a host that completed a handshake."""

    source: str
    entries: tuple[Entry, ...]
    tls: TlsInfo | None = None
    validation: Validation | None = None
    ct: CtReport | None = None
    """The leaf's SCTs and CT verdicts, when a log list was given."""
    staple: CertRevocation | None = None
    """What the stapled OCSP response proves about the leaf; None when none was stapled."""
    revocation: PathRevocation | None = None
    """`fetch --revocation`: what each certificate's sources said; None when off."""


class SourcesResult(NamedTuple):
    """The whole outcome of one `fetch` or `pin` run."""

    sources: tuple[SourceReport | SourceFailure, ...]
    hashes: tuple[HashAlg, ...]
    now: datetime
    """When the run happened, passed in by the command; the table derives "days left"."""

    @property
    def failed(self) -> bool:
        return not all(isinstance(s, SourceReport) for s in self.sources)


class SourceFailure(NamedTuple):
    """A target that could not be read or reached; the other targets are still shown."""

    source: str
    error: str
