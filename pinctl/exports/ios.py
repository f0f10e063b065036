"""iOS and macOS: the Info.plist `NSAppTransportSecurity` > `NSPinnedDomains` dictionary.

App Transport Security (iOS 14, macOS 11) differs from OkHttp and Android in three ways
the user is told about: with both leaf and CA pins it requires a match in *each* list;
`NSIncludesSubdomains` covers one more label only; and pins never expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pinctl.exports.base import Export, ExportOptions, Target, backup_warnings, targets
from pinctl.pinfile.model import PinEntry, PinFile


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    import plistlib

    found, warnings = targets(pinfile, hosts, options, "iOS")
    domains: dict[str, Any] = {}
    for target in found:
        config: dict[str, Any] = {"NSIncludesSubdomains": target.include_subdomains}
        if target.ca_pins:
            config["NSPinnedCAIdentities"] = _identities(target.ca_pins)
        if target.leaf_pins:
            config["NSPinnedLeafIdentities"] = _identities(target.leaf_pins)
        domains[target.name] = config
        warnings += _differences(target)
    document = {"NSAppTransportSecurity": {"NSPinnedDomains": domains}}
    text = plistlib.dumps(document, sort_keys=False).decode("utf-8")
    warnings += backup_warnings(found, "the app")
    return Export(text, tuple(warnings))


def _identities(pins: Sequence[PinEntry]) -> list[dict[str, str]]:
    return [{"SPKI-SHA256-BASE64": pin.pin.base64} for pin in pins]


def _differences(target: Target) -> list[str]:
    name = target.name
    notes = []
    if target.leaf_pins and target.ca_pins:
        notes.append(
            f"{name}: has leaf and CA pins; iOS requires a match in each list "
            "(NSPinnedLeafIdentities and NSPinnedCAIdentities), while OkHttp and Android "
            "accept any one pin"
        )
    if target.include_subdomains:
        notes.append(
            f"{name}: iOS NSIncludesSubdomains covers one more label only (a.{name}, not "
            f"b.a.{name}), while Android's includeSubdomains and OkHttp's **. cover any depth"
        )
    if target.expiry is not None:
        notes.append(
            f"{name}: iOS pins never expire: after {target.expiry.isoformat()} they are still "
            "enforced (it fails closed); ship an update with new pins before then"
        )
    return notes
