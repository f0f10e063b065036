"""OkHttp: a `CertificatePinner.Builder()` chain in Kotlin or Java, one `.add()` per pin.

OkHttp accepts a connection when any pin of the host matches any certificate of the
cleaned chain, so leaf and CA pins go in alike. `**.host` (OkHttp 4.3+) covers the host
and its subdomains at any depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pinctl.exports.base import (
    Export,
    ExportOptions,
    Target,
    backup_warnings,
    describe,
    targets,
    trust_warnings,
)
from pinctl.exports.verdicts import ClientVerdict, Covering, Served, first_match
from pinctl.pinfile.model import PinFile

REJECT = "no pin matches a certificate of the validated chain"
REENCODES = True
"""CertificatePinner hashes `publicKey.encoded`, Java's own encoding of the key (proven
with the OkHttp jar on a key that lacks RSA's NULL parameter)."""


def export_kotlin(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    return _export(pinfile, hosts, options, kotlin=True)


def export_java(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    return _export(pinfile, hosts, options, kotlin=False)


def _export(
    pinfile: PinFile, hosts: Sequence[str], options: ExportOptions, *, kotlin: bool
) -> Export:
    found, warnings = targets(pinfile, hosts, options, "OkHttp", reencodes=REENCODES)
    head = (
        "val certificatePinner = CertificatePinner.Builder()"
        if kotlin
        else "CertificatePinner certificatePinner = new CertificatePinner.Builder()"
    )
    lines = [head]
    for target in found:
        pattern = string_literal(_pattern(target), kotlin=kotlin)
        for pin in target.pins:
            comment = describe(pin)
            if not kotlin:
                # javac turns \uXXXX into characters even inside comments.
                comment = comment.replace("\\", "\\\\")
            lines.append(f'    .add({pattern}, "{pin.pin}") // {comment}')
    lines.append("    .build()" if kotlin else "    .build();")
    warnings += _subdomain_warnings(found)
    warnings += trust_warnings(pinfile, found, OKHTTP_TRUST)
    warnings += backup_warnings(found, "the app")
    return Export("\n".join(lines) + "\n", tuple(warnings))


OKHTTP_TRUST = (
    "the OkHttpClient must trust it itself (an sslSocketFactory whose X509TrustManager holds "
    "that certificate); CertificatePinner only narrows trust, it adds none"
)


def judge(host: str, covering: Sequence[Covering], served: Served, at: date) -> ClientVerdict:
    """CertificatePinner.findMatchingPins: the host's own pins and every **. pattern that
    covers it, together; any one on any certificate of the cleaned chain connects."""
    pins = [pin for c in covering for pin in c.target.pins]
    if not pins:
        return ClientVerdict("okhttp", "not-pinned", f"the OkHttp export has no pin for {host}")
    matched = first_match(pins, served.pins)
    if matched is None:
        return ClientVerdict("okhttp", "reject", REJECT)
    return ClientVerdict("okhttp", "accept", matched=matched)


def _pattern(target: Target) -> str:
    return f"**.{target.name}" if target.include_subdomains else target.name


def _subdomain_warnings(found: Sequence[Target]) -> list[str]:
    return [
        f"{t.name}: exported as **.{t.name}, which covers {t.name} and subdomains at any "
        "depth and needs OkHttp 4.3 or later (OkHttp 3 knows only *., one label)"
        for t in found
        if t.include_subdomains
    ]


def string_literal(text: str, *, kotlin: bool) -> str:
    """A Java or Kotlin string literal holding exactly `text`, in printable ASCII."""
    out = ['"']
    for ch in text:
        if ch in '"\\' or (kotlin and ch == "$"):
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            encoded = ch.encode("utf-16-be")
            for i in range(0, len(encoded), 2):
                out.append(f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04x}")
    out.append('"')
    return "".join(out)
