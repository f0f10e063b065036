"""One leaf's CT report: its SCTs, each attributed and verified, and the two policies.

The issuer key hash needs the certificate that issued the leaf: the caller passes the
validated path's issuer, or with `verify_chain = false` the served certificate that
signed the leaf, or None (every embedded SCT's signature is then `no-issuer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from pinctl.ct.loglist import LogList
from pinctl.ct.policy import POLICIES, JudgedSct, PolicyName, Verdict, judge, lifetime_days
from pinctl.ct.policy import unjudged as unjudged_verdict
from pinctl.ct.sct import (
    Sct,
    SctListError,
    Source,
    embedded_list,
    entry,
    ocsp_list,
    parse_list,
    signed_data,
)
from pinctl.ct.sct import verify as verify_sct

if TYPE_CHECKING:
    from cryptography import x509


class CtSetting(NamedTuple):
    """What one host's CT check is asked for, from --ct, the host and [defaults]."""

    mode: str
    """``report`` or ``require`` (a host with ``off`` gets no setting)."""
    policies: tuple[PolicyName, ...]
    log_list: LogList | None


@dataclass(frozen=True)
class CtReport:
    scts: tuple[JudgedSct, ...]
    lifetime_days: int
    verdicts: dict[PolicyName, Verdict]
    log_list: LogList
    age_days: float | None
    """The list's age at the time judged; None when the list has no timestamp."""
    warnings: tuple[str, ...]
    """The list's age, entries it left out, SCTs that could not be read."""

    @property
    def chrome(self) -> Verdict:
        return self.verdicts["chrome"]

    @property
    def apple(self) -> Verdict:
        return self.verdicts["apple"]


def evaluate(
    leaf: x509.Certificate,
    issuer: x509.Certificate | None,
    stapled_ocsp: bytes | None,
    log_list: LogList,
    now: datetime,
) -> CtReport:
    """Read, attribute and verify the leaf's SCTs, then judge both policies at `now`."""
    from pinctl.pki.der import certificate_spki

    warnings = list(log_list.warnings)
    age = log_list.age_days(now)
    if age is None:
        warnings.append(
            f"CT log list {log_list.file} has no log_list_timestamp: its age is unknown"
        )
    elif log_list.stale(now):
        warnings.append(
            f"CT log list {log_list.file} is {age:.0f} days old (over 70): CT verdicts are "
            "unknown; download a fresh list"
        )
    lists: tuple[tuple[Source, str, Callable[[], bytes | None]], ...] = (
        ("embedded", "the leaf's embedded SCT list", lambda: embedded_list(leaf)),
        ("ocsp", "the stapled OCSP response's SCT list", lambda: _stapled(stapled_ocsp)),
    )
    issuer_spki = certificate_spki(issuer) if issuer is not None else None
    judged: list[JudgedSct] = []
    for source, what, read in lists:
        try:
            raw = read()
            if raw is None:
                continue
            scts, problems = parse_list(raw, source)
            warnings += problems
            logged = entry(source, leaf, issuer_spki) if scts else None
        except SctListError as exc:
            warnings.append(f"{what} is malformed ({exc}); its SCTs are ignored")
            continue
        judged += (_judge(s, logged, log_list) for s in scts)
    for s in judged:
        if s.sct.algorithm is None and s.log is not None:
            warnings.append(
                f"{s.sct.source} SCT {s.sct.index} from {s.log.description} uses hash "
                f"{s.sct.hash_alg} and signature {s.sct.sig_alg}, which RFC 6962 does not allow"
            )
    lifetime = lifetime_days(leaf)
    verdicts = {
        name: unjudged_verdict(age)
        if age is not None and log_list.stale(now)
        else judge(name, judged, lifetime)
        for name in POLICIES
    }
    return CtReport(tuple(judged), lifetime, verdicts, log_list, age, tuple(warnings))


def _stapled(response: bytes | None) -> bytes | None:
    return ocsp_list(response) if response is not None else None


def _judge(sct: Sct, logged: bytes | None, logs: LogList) -> JudgedSct:
    log = logs.logs.get(sct.log_id)
    if log is None:
        return JudgedSct(sct, None, "unknown-log")
    if logged is None:
        return JudgedSct(sct, log, "no-issuer")
    valid = verify_sct(sct, log, signed_data(sct, logged))
    return JudgedSct(sct, log, "valid" if valid else "invalid")


def issuer_of(
    path: tuple[x509.Certificate, ...] | None, served: tuple[x509.Certificate, ...]
) -> x509.Certificate | None:
    """The validated path's issuer of the leaf; without a path, the served signer."""
    if path is not None:
        return path[1] if len(path) > 1 else None
    from cryptography.exceptions import InvalidSignature

    leaf = served[0]
    for candidate in served[1:]:
        try:
            leaf.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None
