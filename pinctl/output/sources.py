"""Renderers for `fetch` and `pin`: table, json, pem and pins, keyed by the `-o` value."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pinctl.inspect.report import SourceReport, SourcesResult
from pinctl.output.ct import ct_json, sct_lines
from pinctl.output.revocation import cert_json, revocation_json
from pinctl.output.terminal import Sink, printable
from pinctl.output.terminal import table as terminal_table
from pinctl.pki.entries import Entry, YearZero, days_until
from pinctl.pki.pins import Pin

if TYPE_CHECKING:
    from pinctl.inspect.report import SourceFailure
    from pinctl.net.starttls.dialogue import Upgrade
    from pinctl.pki.revocation import CertRevocation


def _days_left(entry: Entry, now: datetime) -> int | None:
    return None if entry.not_after is None else days_until(entry.not_after, now)


def _day(moment: datetime | YearZero) -> str:
    """To the second, in UTC, as `openssl x509 -dates` gives it (less its month names)."""
    if isinstance(moment, YearZero):
        return moment.text.replace("T", " ").removesuffix("Z")
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _validity(entry: Entry, now: datetime) -> str:
    if entry.not_before is None or entry.not_after is None:
        return ""
    days = _days_left(entry, now)
    span = f"{_day(entry.not_before)} to {_day(entry.not_after)} UTC"
    if days is not None and days < 0:
        return f"{span} (expired {_ago(entry, now)})"
    if isinstance(entry.not_before, datetime) and entry.not_before > now:
        return f"{span} (not yet valid)"
    return f"{span} ({days} days left)"


def _ago(entry: Entry, now: datetime) -> str:
    """Whole days since expiry, counted forwards: a negative timedelta's `.days` rounds
    down, which made 3 days and 12 hours read "4 days ago"."""
    assert entry.not_after is not None
    if isinstance(entry.not_after, YearZero):
        days = now.toordinal() - entry.not_after.ordinal
    else:
        days = (now - entry.not_after).days
    return "less than a day ago" if days == 0 else f"{days} day{'s' * (days != 1)} ago"


def _key(entry: Entry) -> str:
    """``rsa 2048``, ``ec 256 (secp256r1)``; a key pinctl cannot size shows what it knows."""
    key = entry.key
    text = f"{key.type} {key.bits}" if key.bits else key.type
    extra = key.curve or key.oid
    return text + (f" ({extra})" if extra else "")


REENCODED = (
    "(re-encoded with the NULL parameter: what the openssl pipeline, OkHttp, Android, iOS "
    "and TrustKit compute; curl and HPKP take the spki pin)"
)


def _reencoded(entry: Entry) -> list[Pin]:
    return list((entry.spki_reencoded or {}).values())


def _kind_label(entry: Entry) -> str:
    if entry.kind == "certificate" and not entry.served:
        return "trust anchor (from the trust store, not served)"
    return entry.kind.replace("_", " ")


def _validation_line(report: SourceReport) -> str | None:
    v = report.validation
    if v is None:
        return None
    if v.trusted and v.hostname_match:
        return "validation: trusted, hostname matches"
    trust = "trusted" if v.trusted else "NOT trusted"
    name = "hostname matches" if v.hostname_match else "hostname does NOT match"
    return f"validation: {trust}, {name}: {printable(v.error or '')}"


def _rows(entry: Entry, now: datetime) -> list[tuple[str, str]]:
    """An entry's fields as (label, value), in the order both the text and the table show."""
    rows = [
        ("issuer", printable(entry.issuer or "")),
        ("serial", entry.serial),
        ("san", printable(", ".join(entry.san or ()))),
        ("validity", _validity(entry, now)),
        ("key", _key(entry)),
        ("signature", entry.signature_algorithm),
    ]
    rows += [("spki", str(pin)) for pin in entry.spki.values()]
    rows += [("spki*", f"{pin}  {REENCODED}") for pin in _reencoded(entry)]
    rows += [("cert", str(pin)) for pin in (entry.cert or {}).values()]
    rows.append(("sha256 fp", entry.fingerprint_sha256))
    rows.append(("note", entry.note))
    return [(label, value) for label, value in rows if value]


def _failures(result: SourcesResult, sink: Sink) -> None:
    for source in result.sources:
        if not isinstance(source, SourceReport):
            sink.error(f"{source.source}: {source.error}")
    sink.err.flush()


def _upgrade(source: SourceReport) -> str:
    """``  STARTTLS smtp`` after the source, when a dialogue came before the handshake."""
    return f"  STARTTLS {source.starttls.protocol}" if source.starttls else ""


def starttls_json(upgrade: Upgrade | None) -> dict[str, Any] | None:
    """SPEC.md section 12's object; null for direct TLS."""
    if upgrade is None:
        return None
    return {"protocol": upgrade.protocol, "name": upgrade.name, "greeting": upgrade.greeting}


def render_text(result: SourcesResult, sink: Sink) -> None:
    """Plain, stable text for pipes and logs: one block per source, one field per line."""
    _failures(result, sink)
    out: list[str] = []
    for source in result.sources:
        if not isinstance(source, SourceReport):
            continue
        out.append(_title(source))
        for entry in source.entries:
            subject = printable(entry.subject or "")
            out.append(f"  [{entry.index}] {_kind_label(entry)}  {subject}".rstrip())
            out += [f"      {label:<9} {value}" for label, value in _rows(entry, result.now)]
        line = _validation_line(source)
        if line:
            out.append(f"  {line}")
        if source.ct is not None:
            out += [f"  {ct_line}" for ct_line in sct_lines(source.ct)]
        out += [f"  {line}" for line in revocation_lines(source)]
        out += [f"  remark: {printable(remark)}" for remark in source.chain_remarks]
        out.append("")
    sink.out.write("\n".join(out[:-1]) + "\n" if out else "")


def render_table(result: SourcesResult, sink: Sink) -> None:
    """On a terminal: one table per source, a row per field, expiry coloured; else plain text."""
    if not sink.out_tty:
        render_text(result, sink)
        return
    from rich.text import Text

    _failures(result, sink)
    console = sink.console()
    for source in result.sources:
        if not isinstance(source, SourceReport):
            continue
        table = terminal_table(_title(source), show_header=False)
        table.add_column("field", style="dim", no_wrap=True)
        table.add_column("value", overflow="fold")
        for entry in source.entries:
            style = "bold" if entry.served else "bold cyan"
            table.add_row(
                Text(f"[{entry.index}]", style=style),
                Text(
                    f"{_kind_label(entry)}  {printable(entry.subject or '')}".rstrip(), style=style
                ),
            )
            # The same fields as the plain text, indented under their entry as there.
            for label, value in _rows(entry, result.now):
                pin, _, remark = value.partition("  ") if label == "spki*" else (value, "", "")
                table.add_row(f"    {label}", _cell(label, pin, entry, result.now))
                if remark:
                    table.add_row("", Text(remark, style="dim"))
            table.add_section()
        console.print(table)
        line = _validation_line(source)
        if line:
            v = source.validation
            ok = v is not None and v.trusted and v.hostname_match
            console.print(Text(line, style="green" if ok else "bold red"))
        if source.ct is not None:
            for ct_line in sct_lines(source.ct):
                console.print(Text(ct_line), soft_wrap=True)
        for line in revocation_lines(source):
            console.print(Text(line, style="bold red" if " revoked" in line else ""))
        for remark in source.chain_remarks:
            console.print(Text(f"remark: {printable(remark)}", style="yellow"))
        console.print()


def revocation_lines(source: SourceReport) -> list[str]:
    """The staple, whatever the mode; then with --revocation one line per certificate."""
    staple = source.staple
    if staple is None:
        lines = ["stapled OCSP: none" if source.tls is not None else ""]
    else:
        lines = [f"stapled OCSP: {_revocation_text(staple)}"]
    if source.revocation is not None:
        lines += [
            f"revocation [{c.position}]: {_revocation_text(c)}" for c in source.revocation.certs
        ]
    return [printable(line) for line in lines if line]


def _revocation_text(cert: CertRevocation) -> str:
    answer = cert.answer
    if cert.status == "no-source":
        return "no-source (the certificate names no CRL or OCSP responder)"
    if answer is None:
        return f"{cert.status}: {cert.error or 'no answer'}"
    text: str = cert.status
    if answer.revoked_at is not None:
        text += f" at {_iso(answer.revoked_at)}" + (f" ({answer.reason})" if answer.reason else "")
    via = f"{cert.source} {cert.url}" if cert.url else f"{cert.source}"
    until = f", next update {_iso(answer.next_update)}" if answer.next_update else ""
    return f"{text} via {via}{until}"


def _title(source: SourceReport) -> str:
    """``host:port  TLSv1.3  TLS_AES_128_GCM_SHA256  X25519``: the session in one line."""
    tls = source.tls
    session = [tls.version, tls.cipher, tls.group or ""] if tls is not None else []
    return "  ".join([printable(source.source + _upgrade(source)), *session]).rstrip()


def _cell(label: str, value: str, entry: Entry, now: datetime) -> Any:
    from rich.text import Text

    if label == "validity":
        return _validity_text(entry, now)
    if label in ("spki", "spki*", "cert"):
        # A pin that wraps cannot be copied whole: it keeps its line, subjects fold instead.
        return Text(value, no_wrap=True, overflow="ignore")
    return Text(value)


def _validity_text(entry: Entry, now: datetime) -> Any:
    from rich.text import Text

    days = _days_left(entry, now)
    style = "" if days is None else "red" if days < 0 else "yellow" if days < 30 else "green"
    return Text(_validity(entry, now), style=style)


def _iso(moment: datetime | YearZero | None) -> str | None:
    if isinstance(moment, YearZero):
        return moment.text
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "kind": entry.kind,
        "served": entry.served,
        "subject": entry.subject,
        "issuer": entry.issuer,
        "serial": entry.serial,
        "not_before": _iso(entry.not_before),
        "not_after": _iso(entry.not_after),
        "key": {"type": entry.key.type, "bits": entry.key.bits},
        "spki": {alg: str(pin) for alg, pin in entry.spki.items()},
        "cert": None if entry.cert is None else {alg: str(pin) for alg, pin in entry.cert.items()},
        "san": None if entry.san is None else list(entry.san),
        "signature_algorithm": entry.signature_algorithm,
        "fingerprint_sha256": entry.fingerprint_sha256,
    } | _optional(entry)


def _optional(entry: Entry) -> dict[str, Any]:
    """Fields only some entries have, present when they say something: others stay as they were."""
    extra: dict[str, Any] = {}
    if entry.spki_reencoded is not None:
        extra["spki_reencoded"] = {alg: str(pin) for alg, pin in entry.spki_reencoded.items()}
    if entry.note is not None:
        extra["note"] = entry.note
    return extra


def source_json(source: SourceReport | SourceFailure) -> dict[str, Any]:
    if not isinstance(source, SourceReport):
        return {
            "source": source.source,
            "error": source.error,
            "tls": None,
            "validation": None,
            "entries": [],
            "starttls": None,
            "stapled_ocsp": None,
            "revocation": None,
            "chain_remarks": [],
        }
    return {
        "source": source.source,
        "error": None,
        "tls": None
        if source.tls is None
        else {
            "version": source.tls.version,
            "cipher": source.tls.cipher,
            "group": source.tls.group,
        },
        "validation": None
        if source.validation is None
        else {
            "trusted": source.validation.trusted,
            "hostname_match": source.validation.hostname_match,
            "error": source.validation.error,
        },
        "entries": [entry_json(entry) for entry in source.entries],
        "starttls": starttls_json(source.starttls),
        **({"ct": ct_json(source.ct)} if source.ct is not None else {}),
        "stapled_ocsp": _staple_json(source.staple),
        "revocation": revocation_json(source.revocation),
        "chain_remarks": list(source.chain_remarks),
    }


def _staple_json(staple: CertRevocation | None) -> dict[str, Any] | None:
    if staple is None:
        return None
    shown = cert_json(staple)
    keys = ("status", "this_update", "next_update", "revoked_at", "reason", "error")
    return {key: shown[key] for key in keys}


def render_json(result: SourcesResult, sink: Sink) -> None:
    _failures(result, sink)
    document = {"sources": [source_json(source) for source in result.sources]}
    sink.write_json(document)


def render_pins(result: SourcesResult, sink: Sink) -> None:
    """One SPKI pin per line, leaf first, for shell pipes."""
    _failures(result, sink)
    lines = [
        str(pin)
        for source in result.sources
        if isinstance(source, SourceReport)
        for entry in source.entries
        for pin in entry.spki.values()
    ]
    sink.out.write("".join(f"{line}\n" for line in lines))


def pem_chain(entries: tuple[Entry, ...]) -> str:
    """The served certificates as PEM, in served order (what `--save` writes too)."""
    blocks = []
    for entry in entries:
        if entry.der is None or not entry.served:
            continue
        body = base64.encodebytes(entry.der).decode("ascii").replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        blocks.append(
            "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
        )
    return "".join(blocks)


def render_pem(result: SourcesResult, sink: Sink) -> None:
    _failures(result, sink)
    sink.out.write(
        "".join(
            pem_chain(source.entries)
            for source in result.sources
            if isinstance(source, SourceReport)
        )
    )


RENDERERS: dict[str, Callable[[SourcesResult, Sink], None]] = {
    "table": render_table,
    "json": render_json,
    "pem": render_pem,
    "pins": render_pins,
}
