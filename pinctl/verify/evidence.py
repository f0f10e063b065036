"""What a check is given and what it hands on: the shape every check of the pipeline has.

A check is a generator, `check(subject, evidence) -> Steps[(Verdict, Evidence)]`, so
that it may wait on the network wherever it runs in the pipeline (connect does; a
revocation fetch after validation will): the pipeline passes its waits through with
`yield from`, and whoever drives it holds the host's deadline. `Evidence` is what the
checks so far established; a check that has nothing to add hands it on unchanged, and
a check whose input is missing returns `Skipped` saying which earlier check left it none.

Both are named tuples, not dataclasses: they are made for every host on verify's hot
path and never leave it, and a tuple is built several times faster than a frozen
dataclass, which sets each field through `object.__setattr__`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from pinctl.net.steps import Steps
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry
from pinctl.verify.observation import Observe, Observed
from pinctl.verify.rules import MatchRule
from pinctl.verify.verdicts import Verdict

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.report import CtReport, CtSetting
    from pinctl.exports.clients import Apps
    from pinctl.exports.verdicts import ClientVerdict
    from pinctl.net.revocation import Fetcher
    from pinctl.net.targets import Target
    from pinctl.pinfile.model import Client
    from pinctl.pki.revocation import PathRevocation


class Subject(NamedTuple):
    """One host under check, and everything its checks are given (nothing is global)."""

    entry: HostEntry
    target: Target
    defaults: Defaults
    roots: tuple[x509.Certificate, ...]
    """The trust anchors for this host (empty when verify_chain = false)."""
    rule: MatchRule
    observe: Observe
    deadline: float
    """The host's `time.monotonic()` deadline; the driver enforces it."""
    now: datetime
    """The time the host is judged at: path validation and expiry."""
    clients: tuple[Client, ...] = ()
    """The clients (`--as`, else the pin file's `clients`) whose verdicts are asked for."""
    apps: Apps | None = None
    """The pin file as each client's export holds it, for those verdicts."""
    ct: CtSetting | None = None
    """What the CT check is asked for; None when CT is off for the host."""
    fetcher: Fetcher | None = None
    """The run's revocation sources, shared by its hosts; None: revocation is not checked."""
    revocation: str | None = None
    """`--revocation`, which overrides the pin file's modes; None follows them."""


class Evidence(NamedTuple):
    """What earlier checks established, for the checks after them."""

    seen: Observed | None = None
    """The served chain and session, from connect; None when the host was not reached."""
    path: tuple[x509.Certificate, ...] | None = None
    """The validated path, leaf to trust anchor, from chain; None when there is none."""
    matched: PinEntry | None = None
    """The pin that matched, from pins."""
    clients: tuple[ClientVerdict, ...] = ()
    """Each selected client's verdict, from clients."""
    ct: CtReport | None = None
    """The leaf's SCTs and the CT verdicts, from ct."""
    ct_warnings: tuple[str, ...] = ()
    """What ct warns of (policies not met under `report`, the log list's age)."""
    revocation: PathRevocation | None = None
    """What each certificate's revocation sources said, from revocation."""


Check = Callable[[Subject, Evidence], Steps[tuple[Verdict, Evidence]]]
