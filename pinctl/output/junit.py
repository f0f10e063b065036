"""JUnit XML, the report format every CI system reads (GitLab, Jenkins, GitHub reporters).

The writer follows the common subset that all of them accept: ``testsuites`` >
``testsuite`` > ``testcase`` with ``classname``, ``name`` and ``time``, a ``failure``
element with ``message`` and ``type`` for a failed case, and ``system-out`` for notes.
Text from certificates is attacker-controlled, so characters XML 1.0 cannot carry are
replaced rather than allowed to make the whole report unreadable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pinctl.output.terminal import Sink
    from pinctl.verify.results import HostResult, VerifyResult

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Failure:
    message: str
    """One line: what a CI summary shows."""
    type: str
    text: str
    """The details: what a person opens the report for."""


@dataclass(frozen=True)
class Case:
    classname: str
    name: str
    time: float
    failure: Failure | None = None
    system_out: str | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    cases: tuple[Case, ...]
    timestamp: datetime
    time: float

    @property
    def failures(self) -> int:
        return sum(case.failure is not None for case in self.cases)


def to_xml(suite: Suite) -> bytes:
    import xml.etree.ElementTree as ET

    counts = {"tests": str(len(suite.cases)), "failures": str(suite.failures), "errors": "0"}
    totals = {"name": _clean(suite.name), "time": _seconds(suite.time), **counts}
    root = ET.Element("testsuites", totals)
    stamp = suite.timestamp.strftime("%Y-%m-%dT%H:%M:%S")
    element = ET.SubElement(root, "testsuite", {**totals, "skipped": "0", "timestamp": stamp})
    for case in suite.cases:
        node = ET.SubElement(
            element,
            "testcase",
            classname=_clean(case.classname),
            name=_clean(case.name),
            time=_seconds(case.time),
        )
        if case.failure is not None:
            failure = ET.SubElement(
                node,
                "failure",
                message=_clean(case.failure.message),
                type=_clean(case.failure.type),
            )
            failure.text = _clean(case.failure.text)
        if case.system_out:
            ET.SubElement(node, "system-out").text = _clean(case.system_out)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def render_junit(result: VerifyResult, sink: Sink) -> None:
    """The report as text, for a `pinctl.output.reports.ReportFile` (or any other sink)."""
    sink.out.write(to_xml(verify_suite(result, result.checked_at)).decode("utf-8"))


def verify_suite(result: VerifyResult, timestamp: datetime) -> Suite:
    """One test case per host, named ``host:port``; any host that is not ok is a failure."""
    return Suite(
        name=f"pinctl verify {result.pin_file}",
        cases=tuple(case for host in result.hosts for case in _host_cases(host)),
        timestamp=timestamp,
        time=result.elapsed,
    )


def _verify_case(host: HostResult) -> Case:
    from pinctl.output.verify import failure_details

    name = host.label
    notes = [f"warning: {w}" for w in host.warnings]
    if host.tls is not None:
        notes.insert(0, f"{host.tls.version} {host.tls.cipher}")
    if host.matched is not None:
        notes.insert(0, f"matched {host.matched.pin}")
    if host.ct is not None:
        from pinctl.output.ct import summary_line

        notes.append(summary_line(host.ct))
    failure = None
    if not host.ok:
        message = f"{host.status}: {host.error}" if host.error else host.status
        failure = Failure(message, host.status, "\n".join(failure_details(host)))
    # The classname CI systems group by; kept from before verify was split into modules.
    return Case("pinctl.verify.run", name, host.elapsed, failure, "\n".join(notes) or None)


def _host_cases(host: HostResult) -> list[Case]:
    """The host's case, then one per client judged (`verify --as`): a CI dashboard then
    names the app that would break, not only the host."""
    from pinctl.output.verify import client_words

    cases = [_verify_case(host)]
    for verdict in host.clients:
        failed = verdict.breaks or (host.strict and verdict.warns)
        failure = (
            Failure(client_words(verdict), f"client-{verdict.verdict}", verdict.reason or "")
            if failed
            else None
        )
        note = f"{client_words(verdict)}" + (
            f"; matched {verdict.matched.pin}" if verdict.matched else ""
        )
        name = f"{host.label} as {verdict.client}"
        cases.append(Case("pinctl.verify.clients", name, 0.0, failure, note))
    return cases


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"
