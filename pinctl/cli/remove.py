"""`pinctl remove HOST [--pin PIN]... [--stale]`: take a host, or some of its pins, out of
the pin file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pinctl.cli.checking import Checking, checking_options
from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Outcome,
    audit_log_option,
    complete_hosts,
    journal,
    now_or,
    pin_file_option,
)
from pinctl.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from pinctl.pki.pins import Pin


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("host", shell_complete=complete_hosts)
@click.option(
    "--pin",
    "pin_texts",
    metavar="PIN",
    multiple=True,
    help="Remove only this pin (any spelling); repeat for several.",
)
@click.option(
    "--stale",
    is_flag=True,
    help="Remove the pins `pinctl plan` reports as stale (connects, as plan does).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="The host's port, when it is in the pin file with several.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@checking_options
@pin_file_option
@audit_log_option
def command(
    host: str,
    pin_texts: tuple[str, ...],
    stale: bool,
    port: int | None,
    dry_run: bool,
    checking: Checking,
    pin_file: str,
    audit_log: str | None,
) -> Outcome:
    """Remove HOST from the pin file, or with --pin only those pins.

    HOST may carry its port (host:8443, [::1]:8443) instead of --port. --stale
    removes the pins that match nothing the server presents and are neither
    backups nor retired (with --dry-run, only shows them). Comments and
    formatting elsewhere in the file are kept.

    \b
    Examples:
      pinctl remove old.example.com
      pinctl remove api.example.com --pin "$(pinctl pin -o pins old-cert.pem)"
      pinctl remove api.example.com --stale --dry-run
      pinctl remove --dry-run pay.example.com:8443
    """
    from pinctl.output.pinfile import render_changes
    from pinctl.pinfile.edit import EditResult, transaction
    from pinctl.pinfile.reader import resolve_path
    from pinctl.pki.pins import parse_pin

    path = resolve_path(pin_file)
    pins = tuple(dict.fromkeys(parse_pin(text) for text in pin_texts))
    if stale and pins:
        raise UsageError("--stale chooses the pins itself; give it without --pin")
    if stale:
        pins = _stale(path, host, port, checking)
        if not pins:
            return Outcome(host, lambda name, sink: sink.note(f"{name}: no stale pins to remove"))
    with transaction(path, dry_run=dry_run, journal=journal(audit_log)) as edit:
        change = edit.remove(host, port, pins)
    return Outcome(EditResult((change,)), render_changes)


def _stale(path: Path, host: str, port: int | None, checking: Checking) -> tuple[Pin, ...]:
    """The pins plan calls stale for the host; a host that cannot be reached removes none."""
    from pinctl.errors import ConnectError
    from pinctl.pinfile import reader
    from pinctl.pinfile.selection import one_host
    from pinctl.rotation.plan import plan

    pin_file = reader.load(path)
    entry = one_host(pin_file, host, port)
    [found] = plan(
        pin_file, (entry,), checking.options(), now_or(None), chain=checking.chain()
    ).hosts
    if found.status != "pass":
        raise ConnectError(
            f"{entry.label} could not be reached ({found.error}); --stale needs the live "
            "chain (or --chain FILE)",
            found.status,
        )
    return tuple(p for f in found.findings if f.finding == "stale-pin" for p in f.pins)
