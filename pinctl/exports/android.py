"""Android: res/xml/network_security_config.xml, one `<domain-config>` per host.

Android accepts a connection when a pin matches a certificate of the trusted chain, and
`includeSubdomains` covers subdomains at any depth (the most specific domain-config
wins). After the pin-set's `expiration` date it stops enforcing the pins at all: it fails
open, so the date is worth a warning. It parses that date as the start of the day in the
device's time zone (`SimpleDateFormat("yyyy-MM-dd")`) and skips pinning once the clock has
passed it, so pins are off from the expiration date itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from pinctl.exports.base import (
    Export,
    ExportOptions,
    Target,
    backup_warnings,
    describe,
    one_line,
    private_trust,
    targets,
    trust_warnings,
)
from pinctl.exports.verdicts import ClientVerdict, Covering, Served, expired_on, first_match
from pinctl.pinfile.model import PinFile

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

REJECT = "no pin matches a certificate of the trusted chain"
REENCODES = True
"""The pin-set is checked against `getPublicKey().getEncoded()`, the platform's own
encoding of the key, as OkHttp's Java does."""
ANDROID_TRUST = (
    "fill in the <trust-anchors> placeholder of its domain-config with that certificate "
    "(a PEM or DER file in res/raw)"
)


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    import xml.etree.ElementTree as ET

    found, warnings = targets(pinfile, hosts, options, "Android", reencodes=REENCODES)
    root = ET.Element("network-security-config")
    for target in found:
        config = ET.SubElement(root, "domain-config")
        domain = ET.SubElement(
            config, "domain", includeSubdomains=str(target.include_subdomains).lower()
        )
        domain.text = target.name
        _trust_anchors(config, pinfile, target)
        pin_set = ET.SubElement(config, "pin-set")
        if target.expiry is not None:
            pin_set.set("expiration", target.expiry.isoformat())
            warnings.append(
                f"{target.name}: Android stops enforcing these pins on "
                f"{target.expiry.isoformat()} (it fails open, not closed); renew them and "
                "ship an update before then"
            )
        for pin in target.pins:
            pin_set.append(ET.Comment(f" {_comment_safe(describe(pin))} "))
            ET.SubElement(pin_set, "pin", digest="SHA-256").text = pin.pin.base64
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    warnings += trust_warnings(pinfile, found, ANDROID_TRUST)
    warnings += backup_warnings(found, "the app")
    return Export(f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n', tuple(warnings))


def judge(host: str, covering: Sequence[Covering], served: Served, at: date) -> ClientVerdict:
    """The most specific domain-config's pin-set; past its expiration nothing is enforced."""
    if not covering:
        return ClientVerdict(
            "android", "not-pinned", f"the Android export has no pin-set for {host}"
        )
    target = covering[0].target
    if expired_on(target.expiry, at):
        when = target.expiry.isoformat() if target.expiry else ""
        return ClientVerdict(
            "android",
            "accept-expired",
            f"the pin-set expired on {when}: Android no longer enforces pins (pinning is "
            "silently off)",
        )
    matched = first_match(target.pins, served.pins)
    if matched is None:
        return ClientVerdict("android", "reject", REJECT)
    return ClientVerdict("android", "accept", matched=matched)


def _trust_anchors(config: ET.Element, pinfile: PinFile, target: Target) -> None:
    """A placeholder the user fills in: the app must trust what pinctl trusts for the host."""
    import xml.etree.ElementTree as ET

    trust = private_trust(pinfile, target)
    if trust is None:
        return
    kind, path = trust
    if kind == "ca_file":
        what = f"the CA of ca_file {path}"
        name = path.rsplit("/", 1)[-1].split(".", 1)[0]
    else:
        what = "the server's own certificate (verify_chain = false)"
        name = f"{target.name}_cert"
    anchors = ET.SubElement(config, "trust-anchors")
    text = one_line(f"pinctl: placeholder: put {what} in res/raw and name it here")
    anchors.append(ET.Comment(f" {_comment_safe(text)} "))
    ET.SubElement(anchors, "certificates", src=f"@raw/{_resource_name(name)}")


def _resource_name(text: str) -> str:
    """Android resource names are lower-case letters, digits and underscores, letter first."""
    name = re.sub(r"[^a-z0-9_]", "_", text.lower()).strip("_") or "ca"
    return name if name[0].isalpha() else f"ca_{name}"


def _comment_safe(text: str) -> str:
    """XML forbids "--" inside a comment and a "-" right before its end."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text.rstrip("-")
