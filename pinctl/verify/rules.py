"""Which certificates a pin may match: the client's rule, a replaceable part of verify.

OkHttp's rule is the default. SPEC.md plans `verify --as curl|android|ios`, each client
judging the same chain by its own rule (curl: the leaf key only), so the rule is an
object verify is given, not code inside it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from pinctl.pinfile.model import PinEntry
from pinctl.pki.pins import HashAlg, Pin, PinKind, compute
from pinctl.pki.validation import signed_prefix

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Presented:
    """The certificates a `MatchRule` may look at."""

    served: tuple[x509.Certificate, ...]
    path: tuple[x509.Certificate, ...] | None
    """The validated path, leaf to trust anchor; None when verify_chain = false."""

    def issued(self) -> tuple[x509.Certificate, ...]:
        """What counts without a validated path: the leaf and the served issuers that
        really signed it (`pinctl.pki.validation.signed_prefix`)."""
        return signed_prefix(self.served)


class MatchRule(Protocol):
    """A client's pinning rule: which certificates count, and which pin matched."""

    name: str

    def considered(self, chain: Presented) -> tuple[x509.Certificate, ...]: ...

    def match(self, pins: Sequence[PinEntry], chain: Presented, today: date) -> PinEntry | None: ...


class OkHttpRule:
    """OkHttp's CertificatePinner: any unexpired pin on any certificate of the clean chain.

    The clean chain is the validated path, including a trust anchor the server never
    sent; certificates the server sent that are not on the path never count. Without
    validation (verify_chain = false) it is the leaf and the served issuers that signed it.
    """

    name = "okhttp"

    def considered(self, chain: Presented) -> tuple[x509.Certificate, ...]:
        return chain.path if chain.path is not None else chain.issued()

    def match(self, pins: Sequence[PinEntry], chain: Presented, today: date) -> PinEntry | None:
        live = [p for p in pins if not p.expired(today)]
        for cert in self.considered(chain):
            for entry in live:
                if pin_matches(entry, cert):
                    return entry
        return None


RULES: dict[str, MatchRule] = {"okhttp": OkHttpRule()}


def pin_matches(entry: PinEntry, cert: x509.Certificate) -> bool:
    return pin_of(cert, entry.kind, entry.pin.alg) == entry.pin


@functools.lru_cache(maxsize=4096)
def reencoded_pin_of(cert: x509.Certificate) -> Pin | None:
    """The sha256 SPKI pin as a client that re-encodes the key computes it, when that is
    not `pin_of(cert)` (an RSA key without its NULL parameter)."""
    from pinctl.pki.der import certificate_spki
    from pinctl.pki.entries import reencoded_pins

    again = reencoded_pins(certificate_spki(cert), ("sha256",))
    return None if again is None else again["sha256"]


@functools.lru_cache(maxsize=4096)
def pin_of(cert: x509.Certificate, kind: PinKind = "spki", alg: HashAlg = "sha256") -> Pin:
    """A certificate's pin, computed once: matching, warnings and reports all ask for it."""
    from cryptography.hazmat.primitives.serialization import Encoding

    if kind == "cert":
        return compute(cert.public_bytes(Encoding.DER), alg)
    from pinctl.pki.der import certificate_spki

    return compute(certificate_spki(cert), alg)
