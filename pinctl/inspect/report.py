"""What a live host showed beyond its certificates: the session, the verdict, or a failure.

Kept apart from `pinctl.pki.entries` because only commands that connect need them: `pin`
reads files, and every class defined at start-up costs it time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlsInfo:
    version: str
    """As OpenSSL names it: ``TLSv1.3``."""
    cipher: str
    """The IANA/OpenSSL cipher suite name."""


@dataclass(frozen=True)
class Validation:
    """The verdict of path validation; fetch reports it, verify enforces it."""

    trusted: bool
    """The chain leads to a trusted root, whatever the name."""
    hostname_match: bool
    """The leaf is valid for the name checked."""
    error: str | None = None
    """Why `trusted` or `hostname_match` is false."""


@dataclass(frozen=True)
class SourceFailure:
    """A target that could not be read or reached; the other targets are still shown."""

    source: str
    error: str
