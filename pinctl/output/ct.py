"""CT in words and JSON, for verify and fetch alike (SPEC.md section 8)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from pinctl.output.terminal import printable

if TYPE_CHECKING:
    from pinctl.ct.policy import JudgedSct, Verdict
    from pinctl.ct.report import CtReport


def timestamp(moment: Any) -> str:
    """ISO 8601 UTC with milliseconds: ``2026-01-02T03:04:05.678Z``."""
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z")


def sct_json(judged: JudgedSct) -> dict[str, Any]:
    log = judged.log
    return {
        "log_id": base64.b64encode(judged.sct.log_id).decode(),
        "log": log.description if log else None,
        "operator": log.operator if log else None,
        "timestamp": timestamp(judged.sct.timestamp),
        "source": judged.sct.source,
        "signature": judged.signature,
        "log_state": log.state if log else None,
        "rfc6962": log.rfc6962 if log else None,
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {"compliant": verdict.compliant, "reason": verdict.reason}


def ct_json(report: CtReport | None) -> dict[str, Any] | None:
    """SPEC.md section 8's object; None when the ct check did not run."""
    if report is None:
        return None
    listed = report.log_list
    return {
        "scts": [sct_json(s) for s in report.scts],
        "lifetime_days": report.lifetime_days,
        "chrome": _verdict_json(report.chrome),
        "apple": _verdict_json(report.apple),
        "log_list": {
            "file": str(listed.file),
            "timestamp": timestamp(listed.timestamp) if listed.timestamp else None,
            "age_days": None if report.age_days is None else round(report.age_days, 1),
        },
        "tls_extension": "not-inspected",  # pyOpenSSL does not expose the TLS extension
    }


def _verdict_text(name: str, verdict: Verdict) -> str:
    if verdict.compliant is None:
        return f"{name} unknown"
    if verdict.compliant:
        return f"{name} compliant"
    return f"{name} NOT compliant ({verdict.reason})"


def summary_line(report: CtReport) -> str:
    """``ct: 3 SCTs, 3 verified; chrome compliant, apple NOT compliant (...)``."""
    valid = sum(s.signature == "valid" for s in report.scts)
    verdicts = ", ".join(_verdict_text(n, v) for n, v in report.verdicts.items())
    return printable(f"ct: {len(report.scts)} SCTs, {valid} verified; {verdicts}")


def sct_lines(report: CtReport) -> list[str]:
    """One line per SCT, as fetch shows them, then the policies and the TLS-extension note."""
    lines = []
    for s in report.scts:
        log = s.log
        name = f"{log.description} ({log.operator}, {log.state or 'no state'}" if log else None
        if log is not None:
            name = f"{name}{'' if log.rfc6962 else ', static-CT'})"
        who = name or "unknown log " + base64.b64encode(s.sct.log_id).decode()
        lines.append(
            f"sct: {s.sct.source} {timestamp(s.sct.timestamp)} {who}: signature {s.signature}"
        )
    lines.append(summary_line(report))
    lines.append("ct: SCTs in the TLS extension are not inspected")
    return [printable(line) for line in lines]
