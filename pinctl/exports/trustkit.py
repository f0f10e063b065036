"""TrustKit: the configuration dictionary, as the Swift literal TrustKit's README shows.

A Swift literal is what a TrustKit user pastes (into `application(_:didFinishLaunching...)`);
the Info.plist form needs the same keys without the `k` prefix and is harder to review.
TrustKit refuses to start with fewer than two hashes for a domain, so that is an error
here, not at the app's launch. Like Android, it stops enforcing after the expiration date.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinctl.errors import InputError
from pinctl.exports.base import Export, ExportOptions, describe, targets
from pinctl.pinfile.model import PinFile


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    found, warnings = targets(pinfile, hosts, options, "TrustKit")
    lines = [
        "let trustKitConfig: [String: Any] = [",
        "    kTSKSwizzleNetworkDelegates: false,",
        "    kTSKPinnedDomains: [",
    ]
    for target in found:
        if len(target.pins) < 2:
            raise InputError(
                f"{target.where}: {target.name} has {len(target.pins)} pin TrustKit can use, "
                "and TrustKit refuses a domain without a backup pin (it needs two); add one "
                f"with `pinctl backup-keygen --host {target.name}`"
            )
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
    return Export("\n".join(lines) + "\n", tuple(warnings))


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
