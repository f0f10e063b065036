"""curl: the `--pinnedpubkey` value, `sha256//A;sha256//B`, for exactly one host.

curl compares the value's text byte for byte, so there is no space after a `;`. It
checks the public key of the leaf only: a CA pin can never match there, so CA pins are
left out, with a warning. One value holds the pins of one server, so the output is that
value alone (for `--pinnedpubkey "$(pinctl export --format curl HOST)"`), and a
selection of several hosts is an error naming them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinctl.errors import InputError, UsageError
from pinctl.exports.base import Export, ExportOptions, targets
from pinctl.pinfile.model import PinFile


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    found, warnings = targets(pinfile, hosts, options, "curl", by_port=True)
    if len(found) > 1:
        names = ", ".join(t.entries[0].label for t in found)
        raise UsageError(
            f"curl's --pinnedpubkey holds the pins of one server, and {len(found)} are "
            f"selected ({names}); name one: pinctl export --format curl HOST[:PORT]"
        )
    target = found[0]
    for pin in target.ca_pins:
        warnings.append(
            f"{target.name}: left out {pin.pin} ({pin.level}): curl checks the leaf key only, "
            "so a CA pin never matches there"
        )
    if not target.leaf_pins:
        raise InputError(
            f"{target.where}: {target.name} has no leaf pin, and curl checks the leaf key "
            f"only; add one with `pinctl add --level leaf {target.name}`"
        )
    value = ";".join(f"sha256//{pin.pin.base64}" for pin in target.leaf_pins)
    return Export(value + "\n", tuple(warnings))
