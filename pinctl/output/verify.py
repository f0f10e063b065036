"""Renderers for `verify`: a report a person on call can act on, and SPEC.md's JSON.

The text report is one line per host, and for a host that failed on its chain the
OkHttp-style block: each certificate's SPKI pin and subject, then the pins expected.
Every piece of verify's text is made here, so the core holds verdicts, not sentences
for a terminal; the JUnit report reuses the same block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pinctl.errors import ExitCode
from pinctl.output.ct import ct_json, summary_line
from pinctl.output.revocation import revocation_json
from pinctl.output.terminal import Sink, printable
from pinctl.verify.results import Crashed, HostResult, Reached, Unreached, VerifyResult
from pinctl.verify.verdicts import (
    Failed,
    Passed,
    Skipped,
    Unchecked,
    Verdict,
    deciding,
    result_name,
    unhandled,
)

if TYPE_CHECKING:
    from pinctl.exports.verdicts import ClientVerdict

PROGRESS_MIN_HOSTS = 8
"""Fewer hosts finish before a bar would be worth drawing."""

_STYLES = {"ok": "green", "FAIL": "bold red", "ERROR": "bold yellow", "warning": "yellow"}


def _verdict(host: HostResult) -> str:
    if host.ok:
        return "ok"
    return "ERROR" if host.exit_code == ExitCode.UNREACHABLE else "FAIL"


def report_lines(result: VerifyResult) -> list[tuple[str, str | None]]:
    """The text report as (line, style) pairs; the style is used on a terminal only."""
    lines: list[tuple[str, str | None]] = []
    for host in result.hosts:
        verdict = _verdict(host)
        head = f"{verdict:<5} {host.label}"
        if host.ok:
            session = f"  {host.tls.version} {host.tls.cipher}" if host.tls else ""
            matched = host.matched
            role = f"{matched.level}, backup" if matched and matched.backup else ""
            head += session + (
                f"  matched {matched.pin} ({role or matched.level})" if matched else ""
            )
            lines.append((head, _STYLES[verdict]))
        else:
            details = failure_details(host) or [host.status]
            lines.append((f"{head}  {details[0]}", _STYLES[verdict]))
            lines += [("    " + line, None) for line in details[1:]]
        if host.clients:
            lines.append(("      " + clients_line(host.clients), None))
        if host.ct is not None:
            lines.append(("      " + summary_line(host.ct), None))
        lines += [(f"      warning: {w}", _STYLES["warning"]) for w in host.warnings]
    lines.append((_summary(result), None))
    return [(printable(line), style) for line, style in lines]


def clients_line(verdicts: tuple[ClientVerdict, ...]) -> str:
    """``clients: okhttp ok, ios REJECT (no leaf pin matches the served leaf)``."""
    return "clients: " + ", ".join(client_words(v) for v in verdicts)


def client_words(verdict: ClientVerdict) -> str:
    word = {"accept": "ok", "reject": "REJECT", "config-error": "CONFIG-ERROR"}.get(
        verdict.verdict, verdict.verdict
    )
    return f"{verdict.client} {word}" + (f" ({verdict.reason})" if verdict.reason else "")


def _summary(result: VerifyResult) -> str:
    verdicts = [_verdict(h) for h in result.hosts]
    total = len(verdicts)
    parts = [
        f"{verdicts.count('ok')} passed",
        f"{verdicts.count('FAIL')} failed",
        f"{verdicts.count('ERROR')} could not be checked",
    ]
    noun = "host" if total == 1 else "hosts"
    return f"{total} {noun}: {', '.join(parts)}"


def render_table(result: VerifyResult, sink: Sink) -> None:
    """Plain, stable text off a terminal; the same lines coloured on one."""
    lines = report_lines(result)
    if not sink.out_tty:
        sink.out.write("".join(f"{line}\n" for line, _ in lines))
        return
    from rich.text import Text

    console = sink.console()
    for line, style in lines:
        console.print(Text(line, style=style or ""), soft_wrap=True)


def failure_details(host: HostResult) -> list[str]:
    """OkHttp's pinning failure message: the chain's pins, then the pins expected; then
    what the other checks found, since every verdict counts, not only the first."""
    if host.status not in ("pin-mismatch", "untrusted", "hostname-mismatch") or not host.chain:
        head = [f"{host.status}: {host.error}"] if host.error else []
        return head + _also(host) if head else []
    return _mismatch(host) + _also(host)


def _also(host: HostResult) -> list[str]:
    """The findings beside the one that named the status, in pipeline order."""
    worst = deciding(host.checks)
    return [
        f"  also {verdict.status}: {verdict.reason}"
        for _, verdict in host.checks
        if isinstance(verdict, (Failed, Unchecked)) and verdict is not worst
    ]


def _mismatch(host: HostResult) -> list[str]:
    lines = [f"{host.status}: {host.error}", "  Peer certificate chain:"]
    for cert in host.chain:
        mark = "" if cert.served else " (trust anchor, not served)"
        lines.append(f"    {cert.spki}: {cert.subject}{mark}")
    lines.append(f"  Pinned certificates for {host.label}:")
    for pin in host.entry.pins:
        facts = [pin.kind, "backup" if pin.backup else pin.level]
        facts += ["retired"] if pin.retired else []
        if pin.expires is not None:
            facts.append(f"expires {pin.expires.isoformat()}")
        if pin.line is not None:
            facts.append(f"line {pin.line}")
        if pin.note:
            facts.append(pin.note)
        lines.append(f"    {pin.pin} ({', '.join(facts)})")
    return lines


def host_json(host: HostResult) -> dict[str, Any]:
    """SPEC.md section 3's fields unchanged, then section 5's: checks, chain, and the
    objects of checks not built yet (null: the step did not run)."""
    outcome = host.outcome
    match outcome:
        case Reached(chain=chain, tls=tls):
            session = {"version": tls.version, "cipher": tls.cipher} if tls else None
        case Unreached() | Crashed():
            chain, session = (), None
        case _:
            unhandled(outcome)
    return {
        "host": host.entry.host,
        "port": host.entry.port,
        "status": host.status,
        "ok": host.ok,
        "matched_pin": str(host.matched.pin) if host.matched else None,
        "tls": session,
        "chain_spki": [str(cert.spki) for cert in chain],
        "warnings": list(host.warnings),
        "error": host.error,
        "checks": [
            {"check": name, "result": result_name(verdict), "reason": _reason(verdict)}
            for name, verdict in host.checks
        ],
        "chain": [
            {"position": i, "subject": c.subject, "spki": str(c.spki), "served": c.served}
            for i, c in enumerate(chain)
        ],
        "starttls": None,
        "revocation": revocation_json(outcome.revocation if isinstance(outcome, Reached) else None),
        "clients": _clients_json(host),
        "ct": ct_json(host.ct),
    }


def _clients_json(host: HostResult) -> dict[str, Any] | None:
    """Exactly the selected clients' verdicts; null when the clients step did not run."""
    if not any(name == "clients" and isinstance(v, (Passed, Failed)) for name, v in host.checks):
        return None
    return {
        v.client: {
            "verdict": v.verdict,
            "matched_pin": str(v.matched.pin) if v.matched else None,
            "reason": v.reason,
        }
        for v in host.clients
    }


def _reason(verdict: Verdict) -> str | None:
    match verdict:
        case Passed(note=note):
            return note
        case Failed(reason=reason) | Unchecked(reason=reason) | Skipped(reason=reason):
            return reason
        case _:
            return unhandled(verdict)


def render_json(result: VerifyResult, sink: Sink) -> None:
    """The text `json.dumps(document, indent=2)` would give, written one host at a time.

    Encoded host by host (a fleet's whole document would cost more memory than the run
    itself), nested at the depth the whole document would have, by `pinctl.output.jsontext`
    (the standard library's indenting encoder costs more CPU than checking the hosts).
    """
    from pinctl.output.jsontext import dumps

    head = dumps({"ok": result.ok, "exit_code": int(result.exit_code)})
    out = sink.out
    out.write(head[:-2] + ',\n  "hosts": [')
    for index, host in enumerate(result.hosts):
        out.write(("," if index else "") + "\n    " + dumps(host_json(host), level=2))
    out.write("\n  ]\n}\n" if result.hosts else "]\n}\n")


def render_prometheus(result: VerifyResult, sink: Sink) -> None:
    """SPEC.md section 13's metrics (`pinctl.output.prometheus`, loaded only when asked for)."""
    from pinctl.output.prometheus import render_prometheus as render

    render(result, sink)


RENDERERS: dict[str, Callable[[VerifyResult, Sink], None]] = {
    "table": render_table,
    "json": render_json,
    "prometheus": render_prometheus,
}


@contextlib.contextmanager
def progress(sink: Sink, total: int) -> Iterator[Callable[[HostResult], None]]:
    """A bar on stderr while hosts are checked, only on a terminal and only for many hosts."""
    if not sink.err_tty or total < PROGRESS_MIN_HOSTS:
        yield lambda _: None
        return
    from rich.progress import Progress

    with Progress(console=sink.console(stderr=True), transient=True) as bar:
        task = bar.add_task("verifying", total=total)
        yield lambda _: bar.advance(task)
