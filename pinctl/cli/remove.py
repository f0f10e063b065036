"""`pinctl remove HOST [--pin PIN]`: take a host, or one of its pins, out of the pin file."""

from __future__ import annotations

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    INTERNAL,
    ExitStatus,
    Outcome,
    complete_hosts,
    complete_pins,
    pin_file_option,
)

EXIT_STATUS: ExitStatus = (
    (0, "The host or the pin was removed (with --dry-run: would be)."),
    INTERNAL,
    (2, "A usage error, a missing or invalid pin file, or a host or pin that is not in it."),
)
"""What `pinctl remove` exits with: its manual page's EXIT STATUS."""


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("host", shell_complete=complete_hosts)
@click.option(
    "--pin",
    "pin_text",
    metavar="PIN",
    shell_complete=complete_pins,
    help="Remove only this pin (any spelling).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="The host's port, when it is in the pin file with several.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@pin_file_option
def command(
    host: str, pin_text: str | None, port: int | None, dry_run: bool, pin_file: str
) -> Outcome:
    """Remove HOST from the pin file, or with --pin only that one pin.

    HOST may carry its port (host:8443, [::1]:8443) instead of --port.
    Comments and formatting elsewhere in the file are kept.

    \b
    Examples:
      pinctl remove old.example.com
      pinctl remove api.example.com --pin "$(pinctl pin -o pins old-cert.pem)"
      pinctl remove --dry-run pay.example.com:8443
    """
    from pinctl.output.pinfile import render_changes
    from pinctl.pinfile.edit import EditResult, transaction
    from pinctl.pinfile.reader import resolve_path
    from pinctl.pki.pins import parse_pin

    pins = () if pin_text is None else (parse_pin(pin_text),)
    with transaction(resolve_path(pin_file), dry_run=dry_run) as edit:
        change = edit.remove(host, port, pins)
    return Outcome(EditResult((change,)), render_changes)
