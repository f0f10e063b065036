"""ct: the leaf's SCTs are verified and meet the CT policies (SPEC.md section 8).

`report` turns a policy not met into a warning; `require` fails the host with
`ct-noncompliant`. A list too old to judge by leaves the verdicts unknown, never enforced
(as Chrome does), with a warning. Which certificate issued the leaf, for the issuer key
hash, comes from the validated path, or with verify_chain = false from the served
certificate that really signed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pinctl.net.steps import Steps
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.verdicts import Failed, Passed, Skipped, Verdict

if TYPE_CHECKING:
    from pinctl.ct.report import CtReport, CtSetting

OFF = Skipped("ct = off")
NOT_REACHED = Skipped("no chain: the host was not reached")
NO_PATH = Skipped("no validated path to take the issuer from: the chain check failed")


def check(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
    setting = subject.ct
    if setting is None:
        return OFF, evidence
    if evidence.seen is None:
        return NOT_REACHED, evidence
    if setting.log_list is None:
        reason = (
            f"ct = {setting.mode}, but no log list is given (--ct-log-list, "
            "$PINCTL_CT_LOG_LIST or ct_log_list)"
        )
        return Skipped(reason), evidence._replace(ct_warnings=(reason,))
    if subject.entry.verify_chain and evidence.path is None:
        return NO_PATH, evidence
    from pinctl.ct.report import evaluate, issuer_of

    served = evidence.seen.served
    leaf = served[0]
    issuer = issuer_of(evidence.path, served)
    tls = evidence.seen.tls
    stapled = tls.stapled_ocsp if tls is not None else None
    report = evaluate(leaf, issuer, stapled, setting.log_list, subject.now)
    verdict, warnings = judged(report, setting)
    return verdict, evidence._replace(ct=report, ct_warnings=warnings)
    yield  # a generator, as every check is


def judged(report: CtReport, setting: CtSetting) -> tuple[Verdict, tuple[str, ...]]:
    """The check's verdict and warnings: policies not met fail under `require` only."""
    unmet = [
        f"{name} CT policy not met: {report.verdicts[name].reason}"
        for name in setting.policies
        if report.verdicts[name].compliant is False
    ]
    warnings = report.warnings
    if setting.mode == "require" and unmet:
        return Failed("ct-noncompliant", "; ".join(unmet)), warnings
    valid = sum(s.signature == "valid" for s in report.scts)
    note = f"{valid} of {len(report.scts)} SCTs verified"
    if any(report.verdicts[name].compliant is None for name in setting.policies):
        note += "; verdicts unknown: the log list is too old to judge by"
    if unmet:
        return Passed(f"{note}; report only: {'; '.join(unmet)}"), warnings + tuple(unmet)
    return Passed(note), warnings
