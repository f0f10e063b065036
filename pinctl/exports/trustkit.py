"""TrustKit: the configuration dictionary, as the Swift literal TrustKit's README shows.

A Swift literal is what a TrustKit user pastes (into `application(_:didFinishLaunching...)`);
the Info.plist form needs the same keys without the `k` prefix and is harder to review.
TrustKit refuses to start with fewer than two hashes for a domain, or with a domain that is
not under a public suffix (an IP address, a single label such as localhost), so those are
errors here, not at the app's launch. Like Android, it stops enforcing once the expiration
date has begun (it parses the date as midnight UTC), and it checks every certificate of
the evaluated chain, anchor included; `kTSKIncludeSubdomains` covers any depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pinctl.errors import InputError
from pinctl.exports.base import Export, ExportOptions, Target, describe, targets, trust_warnings
from pinctl.exports.verdicts import ClientVerdict, Covering, Served, expired_on, first_match
from pinctl.hostnames import is_ip_address
from pinctl.pinfile.model import PinFile

REJECT = "no pin matches a certificate of the evaluated chain"
REENCODES = True
"""TrustKit prefixes the key's bytes with a fixed ASN.1 header per key type, which
holds RSA's NULL parameter."""
TRUSTKIT_TRUST = (
    "the app must trust that certificate itself; TrustKit checks pins after the system's "
    "own validation, which refuses it"
)


def refusal(target: Target) -> str | None:
    """Why TrustKit.initSharedInstance raises for this domain (the app does not start)."""
    if is_ip_address(target.name) or "." not in target.name.strip("."):
        return (
            f"TrustKit refuses {target.name}, which is not a domain under a public suffix "
            "(its configuration check raises for IP addresses and single labels)"
        )
    if len(target.pins) < 2:
        return (
            f"{target.name} has {len(target.pins)} pin TrustKit can use, and TrustKit refuses "
            "a domain without a backup pin (it needs two)"
        )
    return None


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    found, warnings = targets(pinfile, hosts, options, "TrustKit", reencodes=REENCODES)
    lines = [
        "let trustKitConfig: [String: Any] = [",
        "    kTSKSwizzleNetworkDelegates: false,",
        "    kTSKPinnedDomains: [",
    ]
    for target in found:
        refused = refusal(target)
        if refused is not None:
            remedy = (
                f"add one with `pinctl backup-keygen --host {target.name}`"
                if len(target.pins) < 2
                else "pin it in the app another way, or name only the other hosts"
            )
            raise InputError(f"{target.where}: {refused}; {remedy}")
        lines.append(f"        {_swift_string(target.name)}: [")
        lines.append("            kTSKEnforcePinning: true,")
        subdomains = str(target.include_subdomains).lower()
        lines.append(f"            kTSKIncludeSubdomains: {subdomains},")
        if target.expiry is not None:
            date = target.expiry.isoformat()
            lines.append(f'            kTSKExpirationDate: "{date}",')
            warnings.append(
                f"{target.name}: TrustKit stops enforcing these pins on {date} (it fails "
                "open, not closed); renew them and ship an update before then"
            )
        lines.append("            kTSKPublicKeyHashes: [")
        for pin in target.pins:
            lines.append(f'                "{pin.pin.base64}", // {describe(pin)}')
        lines += ["            ],", "        ],"]
    lines += ["    ],", "]", "TrustKit.initSharedInstance(withConfiguration: trustKitConfig)"]
    warnings += trust_warnings(pinfile, found, TRUSTKIT_TRUST)
    return Export("\n".join(lines) + "\n", tuple(warnings))


def judge(host: str, covering: Sequence[Covering], served: Served, at: date) -> ClientVerdict:
    """The closest pinned domain; a configuration TrustKit refuses stops the app at launch."""
    if not covering:
        return ClientVerdict("trustkit", "not-pinned", f"the TrustKit export pins no domain {host}")
    target = covering[0].target
    refused = refusal(target)
    if refused is not None:
        return ClientVerdict("trustkit", "config-error", f"{refused}: the app does not start")
    if expired_on(target.expiry, at):
        when = target.expiry.isoformat() if target.expiry else ""
        return ClientVerdict(
            "trustkit",
            "accept-expired",
            f"kTSKExpirationDate {when} has passed: TrustKit no longer enforces pins "
            "(pinning is silently off)",
        )
    matched = first_match(target.pins, served.pins)
    if matched is None:
        return ClientVerdict("trustkit", "reject", REJECT)
    return ClientVerdict("trustkit", "accept", matched=matched)


def _swift_string(text: str) -> str:
    """A Swift string literal holding exactly `text`, in printable ASCII."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    out.append('"')
    return "".join(out)
