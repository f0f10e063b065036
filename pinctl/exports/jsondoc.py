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
    """[defaults] as JSON; `list -o json` shows the same fields."""
    return {
        "warn_days": pinfile.defaults.warn_days,
        "min_tls": pinfile.defaults.min_tls,
        "forward_secrecy": pinfile.defaults.forward_secrecy,
        "ca_file": _path(pinfile.defaults.ca_file, pinfile.path.parent),
    }


def host_dict(entry: HostEntry, base: Path) -> dict[str, Any]:
    """A [[hosts]] table as JSON, paths as written in the pin file."""
    return {
        "host": entry.host,
        "port": entry.port,
        "servername": entry.servername,
        "connect_to": entry.connect_to,
        "include_subdomains": entry.include_subdomains,
        "verify_chain": entry.verify_chain,
        "ca_file": _path(entry.ca_file, base),
        "pins": [pin_dict(pin) for pin in entry.pins],
    }


def pin_dict(pin: PinEntry) -> dict[str, Any]:
    return {
        "pin": str(pin.pin),
        "kind": pin.kind,
        "level": pin.level,
        "backup": pin.backup,
        "note": pin.note,
        "expires": pin.expires.isoformat() if pin.expires else None,
    }


def _path(path: Path | None, base: Path) -> str | None:
    """As written in the pin file (relative to it), not this machine's absolute path."""
    if path is None:
        return None
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
