"""JSON: the pin file itself, every pin with every field, for tools of the user's own.

Nothing is filtered here (cert pins, other hashes and expired pins included), because
the consumer is a program that can read `kind`, the algorithm prefix and `expires`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pinctl.exports.base import Export, ExportOptions
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pinfile.schema import as_json
from pinctl.pinfile.selection import select_hosts


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    base = pinfile.path.parent
    document = {
        "version": pinfile.version,
        "defaults": defaults_dict(pinfile),
        "hosts": [host_dict(entry, base) for entry in select_hosts(pinfile, hosts)],
    }
    return Export(json.dumps(document, indent=2) + "\n")


def defaults_dict(pinfile: PinFile) -> dict[str, Any]:
    """[defaults] as JSON, in the schema's JSON form (`list -o json` shows the same)."""
    return as_json(pinfile.defaults, "defaults", pinfile.path.parent)


def host_dict(entry: HostEntry, base: Path) -> dict[str, Any]:
    """A [[hosts]] table as JSON, paths as written in the pin file."""
    return {**as_json(entry, "host", base), "pins": [pin_dict(p, base) for p in entry.pins]}


def pin_dict(pin: PinEntry, base: Path) -> dict[str, Any]:
    return as_json(pin, "pin", base)
