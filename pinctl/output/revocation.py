"""SPEC.md section 7's JSON `revocation` object, for verify's hosts and fetch's sources."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pinctl.pki.revocation import CertRevocation, PathRevocation


def revocation_json(report: PathRevocation | None) -> dict[str, Any] | None:
    """SPEC.md section 7's object; null when the step did not run (no validated path)."""
    if report is None:
        return None
    return {
        "mode": report.mode,
        "status": report.status,
        "certs": [cert_json(c) for c in report.certs],
    }


def cert_json(cert: CertRevocation) -> dict[str, Any]:
    answer = cert.answer
    return {
        "position": cert.position,
        "subject": cert.subject,
        "status": cert.status,
        "source": cert.source,
        "url": cert.url,
        "this_update": _when(answer.this_update if answer else None),
        "next_update": _when(answer.next_update if answer else None),
        "revoked_at": _when(answer.revoked_at if answer else None),
        "reason": answer.reason if answer else None,
        "error": cert.error,
    }


def _when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
