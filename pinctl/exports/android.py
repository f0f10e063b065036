"""Android: res/xml/network_security_config.xml, one `<domain-config>` per host.

Android accepts a connection when a pin matches a certificate of the trusted chain, and
`includeSubdomains` covers subdomains at any depth. After the pin-set's `expiration`
date it stops enforcing the pins at all: it fails open, so the date is worth a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinctl.exports.base import Export, ExportOptions, backup_warnings, describe, targets
from pinctl.pinfile.model import PinFile


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    import xml.etree.ElementTree as ET

    found, warnings = targets(pinfile, hosts, options, "Android")
    root = ET.Element("network-security-config")
    for target in found:
        config = ET.SubElement(root, "domain-config")
        domain = ET.SubElement(
            config, "domain", includeSubdomains=str(target.include_subdomains).lower()
        )
        domain.text = target.name
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
    warnings += backup_warnings(found, "the app")
    return Export(f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n', tuple(warnings))


def _comment_safe(text: str) -> str:
    """XML forbids "--" inside a comment and a "-" right before its end."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text.rstrip("-")
