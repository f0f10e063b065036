"""Exports: the pin file in each client's own format, one module per client, one registry.

Every exporter is a pure function ``(pinfile, hosts, options) -> Export``; the CLI offers
exactly the keys of `EXPORTERS` as ``--format`` choices, and a test checks that the two
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pinctl.exports import android, curl, hpkp, ios, jsondoc, okhttp, trustkit
from pinctl.exports.base import DEFAULT_MAX_AGE, Export, Exporter, ExportOptions
from pinctl.pinfile.model import PinFile

__all__ = [
    "DEFAULT_MAX_AGE",
    "EXPORTERS",
    "FORMATS",
    "Export",
    "ExportOptions",
    "Exporter",
    "Format",
    "export",
]

Format = Literal[
    "okhttp-kotlin", "okhttp-java", "android", "ios", "trustkit", "hpkp", "curl", "json"
]
FORMATS: tuple[Format, ...] = get_args(Format)

EXPORTERS: dict[Format, Exporter] = {
    "okhttp-kotlin": okhttp.export_kotlin,
    "okhttp-java": okhttp.export_java,
    "android": android.export,
    "ios": ios.export,
    "trustkit": trustkit.export,
    "hpkp": hpkp.export,
    "curl": curl.export,
    "json": jsondoc.export,
}


def export(
    format: Format, pinfile: PinFile, hosts: Sequence[str], options: ExportOptions
) -> Export:
    """Render `pinfile` (limited to `hosts`, if any) for one client."""
    return EXPORTERS[format](pinfile, hosts, options)
