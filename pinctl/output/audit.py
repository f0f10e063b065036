"""Renderers for `pinctl audit`: one line per change, or the log as one JSON document."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from pinctl.audit.check import AuditReport
from pinctl.output.terminal import Sink, printable


def render_table(found: AuditReport, sink: Sink) -> None:
    """The log, one change per two lines; with --verify only the verdict (for CI)."""
    for line in () if found.checked else found.lines:
        r = line.record
        what = ", ".join(
            f"{c['action']} {c['host']}:{c['port']}" + (f" {c['pin']}" if c.get("pin") else "")
            for c in r["changes"]
        )
        command = shlex.join(str(a) for a in r["command"])
        sink.out.write(printable(f"{r['time']}  {r['user']}  {command}") + "\n")
        sink.out.write(printable(f"    {what}") + "\n")
    for problem in found.problems:
        sink.error(problem)
    if found.checked and not found.problems:
        sink.note(f"{found.path}: {len(found.lines)} lines, the chain and the pin file agree")


def render_json(found: AuditReport, sink: Sink) -> None:
    document = {
        "audit_log": str(found.path),
        "ok": not found.problems,
        "problems": list(found.problems),
        "lines": [dict(line.record) for line in found.lines],
    }
    sink.out.write(json.dumps(document, indent=2) + "\n")


RENDERERS: dict[str, Callable[[AuditReport, Sink], None]] = {
    "table": render_table,
    "json": render_json,
}
