"""HPKP: the `Public-Key-Pins` response header of RFC 7469, one line per host.

RFC 7469 section 4.3 makes a browser ignore a header without a backup pin (one that is
not in the served chain), so a host with fewer than two pins is refused. Browsers have
since dropped HPKP; the header is still what some HTTP clients and audits read.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinctl.errors import InputError
from pinctl.exports.base import Export, ExportOptions, Target, targets
from pinctl.pinfile.model import PinFile


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    found, warnings = targets(pinfile, hosts, options, "HPKP")
    lines = []
    for target in found:
        if len(target.pins) < 2:
            raise InputError(
                f"{target.where}: {target.name} has {len(target.pins)} pin for HPKP, and "
                "RFC 7469 section 4.3 requires a backup pin (at least two); add one with "
                f"`pinctl backup-keygen --host {target.name}`"
            )
        if not any(p.backup for p in target.pins):
            warnings.append(
                f"{target.name}: no pin is marked backup = true; browsers ignore the header "
                "unless one pin is absent from the served chain (RFC 7469 section 4.3)"
            )
        if len(found) > 1:
            lines.append(f"# {target.name}")
        lines.append(header(target, options.max_age))
    warnings.append(
        "HPKP is obsolete: current browsers ignore Public-Key-Pins; pin in your own clients "
        "(okhttp-*, android, ios) instead"
    )
    return Export("\n".join(lines) + "\n", tuple(warnings))


def header(target: Target, max_age: int) -> str:
    directives = [f'pin-sha256="{pin.pin.base64}"' for pin in target.pins]
    directives.append(f"max-age={max_age}")
    if target.include_subdomains:
        directives.append("includeSubDomains")
    return "Public-Key-Pins: " + "; ".join(directives)
