"""The checks of one host, in order: the pipeline is the tuple below.

Adding a check is one entry here plus its module under `pinctl.verify.checks`. Every
check runs and every verdict is reported, not only the first failure (SPEC.md section
5); a check whose input an earlier one could not give reports `Skipped` with why.
"""

from __future__ import annotations

import time
from typing import cast

from pinctl.errors import ConnectError
from pinctl.net.steps import COMPUTE, Steps
from pinctl.verify.checks import chain, clients, connect, ct, pins, revocation, tls_policy
from pinctl.verify.evidence import Check, Evidence, Subject
from pinctl.verify.results import ChainCert, HostResult, Outcome, Reached, Unreached
from pinctl.verify.rules import Presented
from pinctl.verify.verdicts import UNCHECKED, CheckName, Unchecked, UncheckedStatus, Verdict
from pinctl.verify.warnings import chain_warnings, pin_warnings

PIPELINE: tuple[tuple[CheckName, Check], ...] = (
    ("connect", connect.check),
    ("tls-policy", tls_policy.check),
    ("chain", chain.check),
    ("revocation", revocation.check),
    ("pins", pins.check),
    ("clients", clients.check),
    ("ct", ct.check),
)

NETWORK_PART: CheckName = "connect"
"""After this check the host's chain is in hand and CPU work follows, so the pipeline
yields `COMPUTE`: validations batched with other hosts' cost less CPU each. A later
check may still wait on the network; the pool gives it a slot again."""


def check_host(
    subject: Subject,
    *,
    strict: bool,
    pipeline: tuple[tuple[CheckName, Check], ...] = PIPELINE,
) -> Steps[HostResult]:
    """Run every check of the pipeline on one host; the verdicts decide its status."""
    started = time.monotonic()
    entry, defaults = subject.entry, subject.defaults
    file_warnings = pin_warnings(entry.pins, subject.now.date(), defaults.warn_days)
    evidence = Evidence()
    verdicts: list[tuple[CheckName, Verdict]] = []
    for name, check in pipeline:
        try:
            verdict, evidence = yield from check(subject, evidence)
        except ConnectError as exc:
            # A later check's own network wait (a revocation fetch) timed out or failed:
            # that check could not be made. Not a crash, and never a pass.
            status = exc.status if exc.status in UNCHECKED else "tls-error"
            verdict = Unchecked(cast(UncheckedStatus, status), str(exc))
        verdicts.append((name, verdict))
        if name == NETWORK_PART and evidence.seen is not None:
            waited = time.monotonic()
            yield COMPUTE
            started += time.monotonic() - waited  # the host's time, not its turn in the batch
    outcome: Outcome = Unreached()
    warnings = file_warnings
    seen = evidence.seen
    if seen is not None:
        # What the rule judged: the validated path, else the leaf and its real signers. Checking
        # signatures again for a path that was just validated would double a host's CPU.
        known = subject.rule.considered(Presented(seen.served, evidence.path))
        warnings += chain_warnings(entry.pins, known, subject.now, defaults.warn_days)
        warnings += clients.warnings(subject, evidence)
        warnings += revocation.warnings(evidence.revocation)
        served = seen.served
        described = tuple(ChainCert(c, c in served) for c in known)
        outcome = Reached(
            described,
            seen.tls,
            evidence.matched,
            evidence.clients,
            evidence.revocation,
            starttls=seen.starttls,
        )
    warnings += evidence.ct_warnings
    return HostResult(
        entry,
        tuple(verdicts),
        outcome,
        warnings,
        strict,
        elapsed=time.monotonic() - started,
        ct=evidence.ct,
    )
