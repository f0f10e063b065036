"""What a client would do with a chain: the verdict of `verify --as CLIENT` (SPEC.md §9).

A client module judges with exactly the `Target` its exporter writes, so the export and
the verdict cannot disagree; the chain reaches it as sha256 SPKI pins (the only pins a
client holds), computed once by verify for every client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from pinctl.exports.base import Target
from pinctl.pinfile.model import Client, PinEntry
from pinctl.pki.pins import Pin

VerdictWord = Literal["accept", "reject", "accept-expired", "config-error", "not-pinned"]
BREAKS: frozenset[VerdictWord] = frozenset({"reject", "config-error"})
"""The app cannot connect (or does not start): the host's status becomes client-reject."""
NO_LEAF = "no leaf pin matches the served leaf"
"""Why curl and iOS refuse a leaf rotated under a pinned CA (and the default warning's cue)."""
WARNS: frozenset[VerdictWord] = frozenset({"accept-expired", "not-pinned"})
"""The app connects without pinning: a warning, a failure under --strict."""


@dataclass(frozen=True)
class Served:
    """The chain a client judges, as sha256 SPKI pins: leaf first, the trust anchor last."""

    pins: tuple[Pin, ...]
    reencoded: tuple[Pin, ...] | None = None
    """The same chain's pins as the clients that re-encode a key hash it (OkHttp, Android,
    iOS, TrustKit), when one certificate's key lacks RSA's NULL parameter; else None."""

    def as_reencoded(self) -> Served:
        """The chain as a re-encoding client sees it."""
        return self if self.reencoded is None else Served(self.reencoded)

    @property
    def leaf(self) -> Pin:
        return self.pins[0]

    @property
    def cas(self) -> tuple[Pin, ...]:
        """Every certificate above the leaf: intermediates and the anchor, sent or not."""
        return self.pins[1:]


@dataclass(frozen=True)
class Covering:
    """A host name's pins as the app holds them: its own entry, or a parent's subdomain rule."""

    target: Target
    depth: int
    """Labels between the host and `target.name`: 0 for the host's own pins."""


@dataclass(frozen=True)
class ClientVerdict:
    client: Client
    verdict: VerdictWord
    reason: str | None = None
    """Why, for every verdict but a plain accept."""
    matched: PinEntry | None = None
    """The exported pin that matched, for accept."""

    @property
    def breaks(self) -> bool:
        return self.verdict in BREAKS

    @property
    def warns(self) -> bool:
        return self.verdict in WARNS


class Judge(Protocol):
    def __call__(
        self, host: str, covering: Sequence[Covering], served: Served, at: date
    ) -> ClientVerdict: ...


def first_match(pins: Sequence[PinEntry], chain: Sequence[Pin]) -> PinEntry | None:
    """The pin of the first certificate (in chain order) that any of `pins` names."""
    wanted = {p.pin: p for p in reversed(pins)}
    return next((wanted[pin] for pin in chain if pin in wanted), None)


def expired_on(expiry: date | None, at: date) -> bool:
    """Android and TrustKit parse the expiration as the start of that day and stop enforcing
    once it has passed, so the pins are already off on the expiration date itself."""
    return expiry is not None and at >= expiry
