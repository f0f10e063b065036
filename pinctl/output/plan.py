"""Renderers for `pinctl plan`: findings per host as a table or one JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pinctl.output.terminal import Sink, printable
from pinctl.rotation.findings import Finding
from pinctl.rotation.plan import HostPlan, PlanResult


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "finding": finding.finding,
        "severity": finding.severity,
        "message": finding.message,
        "pins": [str(p) for p in finding.pins],
        "certificates": [str(p) for p in finding.certificates],
        "deadline": finding.deadline.isoformat() if finding.deadline else None,
        "command": finding.command,
    }


def host_json(host: HostPlan) -> dict[str, Any]:
    return {
        "host": host.entry.host,
        "port": host.entry.port,
        "status": host.status,
        "error": host.error,
        "findings": [finding_json(f) for f in host.findings],
    }


def render_json(result: PlanResult, sink: Sink) -> None:
    document = {
        "ok": result.ok,
        "exit_code": int(result.exit_code),
        "at": result.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hosts": [host_json(h) for h in result.hosts],
    }
    sink.out.write(json.dumps(document, indent=2) + "\n")


def render_table(result: PlanResult, sink: Sink) -> None:
    """One block per host: its state, then each finding with its deadline and its fix."""
    for host in result.hosts:
        state = "ok" if not host.findings and host.status == "pass" else host.status
        if host.status == "pass":
            state = "action" if host.actions else "info" if host.findings else "ok"
        line = f"{state:<7}{host.entry.label}"
        if host.error:
            line += f"  {host.error}"
        sink.out.write(printable(line) + "\n")
        for f in host.findings:
            due = f"  (deadline {f.deadline.isoformat()})" if f.deadline else ""
            sink.out.write(printable(f"  {f.severity:<7}{f.finding}: {f.message}{due}") + "\n")
            if f.command:
                sink.out.write(printable(f"         $ {f.command}") + "\n")
    actions = sum(1 for h in result.hosts for f in h.findings if f.severity == "action")
    unreached = sum(1 for h in result.hosts if h.status != "pass")
    count = len(result.hosts)
    sink.out.write(
        f"{count} host{'s' * (count != 1)}: {actions} action{'s' * (actions != 1)}, "
        f"{unreached} could not be reached\n"
    )


RENDERERS: dict[str, Callable[[PlanResult, Sink], None]] = {
    "table": render_table,
    "json": render_json,
}
