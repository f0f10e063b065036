"""iOS and macOS: the Info.plist `NSAppTransportSecurity` > `NSPinnedDomains` dictionary.

App Transport Security (iOS 14, macOS 11) differs from OkHttp and Android in three ways
the user is told about: with both leaf and CA pins it requires a match in *each* list;
`NSIncludesSubdomains` covers one more label only; and pins never expire. Before iOS 17
(macOS 14) a domain key may not be an IP address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pinctl.exports.base import (
    Export,
    ExportOptions,
    Target,
    backup_warnings,
    targets,
    trust_warnings,
)
from pinctl.exports.verdicts import NO_LEAF, ClientVerdict, Covering, Served, first_match
from pinctl.hostnames import is_ip_address
from pinctl.pinfile.model import PinEntry, PinFile

NO_CA = "no CA pin matches a CA certificate of the chain"
REENCODES = True
"""Apple hashes an SPKI it builds from the key (`SecKey`), not the certificate's bytes."""
IOS_TRUST = (
    "the app must trust that certificate itself (a configuration profile, or its own "
    "server-trust evaluation); NSPinnedDomains only narrows trust, it adds none"
)
SUBDOMAIN_DEPTH = 1
"""NSIncludesSubdomains: "subdomains of the domain that have one additional path component"."""


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    import plistlib

    found, warnings = targets(pinfile, hosts, options, "iOS", reencodes=REENCODES)
    domains: dict[str, Any] = {}
    for target in found:
        config: dict[str, Any] = {"NSIncludesSubdomains": target.include_subdomains}
        leaf, ca = identities(target)
        if ca:
            config["NSPinnedCAIdentities"] = _identities(ca)
        if leaf:
            config["NSPinnedLeafIdentities"] = _identities(leaf)
        domains[target.name] = config
        warnings += _differences(target)
    document = {"NSAppTransportSecurity": {"NSPinnedDomains": domains}}
    text = plistlib.dumps(document, sort_keys=False).decode("utf-8")
    warnings += trust_warnings(pinfile, found, IOS_TRUST)
    warnings += backup_warnings(found, "the app")
    return Export(text, tuple(warnings))


def identities(target: Target) -> tuple[tuple[PinEntry, ...], tuple[PinEntry, ...]]:
    """NSPinnedLeafIdentities and NSPinnedCAIdentities, as the plist holds them."""
    return target.leaf_pins, target.ca_pins


def judge(host: str, covering: Sequence[Covering], served: Served, at: date) -> ClientVerdict:
    """ATS: a non-empty leaf list must name the leaf, a non-empty CA list a CA certificate of
    the chain (anchor included), both when both are there; pins never expire."""
    applies = [c for c in covering if c.depth <= SUBDOMAIN_DEPTH]
    if not applies:
        deeper = f" (NSIncludesSubdomains covers {SUBDOMAIN_DEPTH} label only)" if covering else ""
        return ClientVerdict("ios", "not-pinned", f"the iOS export pins no domain {host}{deeper}")
    leaf, ca = identities(applies[0].target)
    leaf_match = first_match(leaf, served.pins[:1]) if leaf else None
    ca_match = first_match(ca, served.cas) if ca else None
    if leaf and leaf_match is None:
        return ClientVerdict("ios", "reject", NO_LEAF)
    if ca and ca_match is None:
        return ClientVerdict("ios", "reject", NO_CA)
    return ClientVerdict("ios", "accept", matched=leaf_match or ca_match)


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
    if is_ip_address(name):
        notes.append(
            f"{name}: is an IP address; before iOS 17 and macOS 14 NSPinnedDomains takes domain "
            "names only and ignores this key, so the app connects to it unpinned there"
        )
    return notes
