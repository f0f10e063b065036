"""`pinctl remove HOST [--pin PIN]`: take a host, or one of its pins, out of the pin file."""

from __future__ import annotations

import re

import click

from pinctl.cli.common import CONTEXT_SETTINGS, Outcome, complete_hosts, pin_file_option

_WITH_PORT = re.compile(
    r"\[(?P<v6>[^\]]+)\]:(?P<port>[0-9]{1,5})|(?P<name>[^:\[\]]+):(?P<p>[0-9]{1,5})"
)


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("host", shell_complete=complete_hosts)
@click.option("--pin", "pin_text", metavar="PIN", help="Remove only this pin (any spelling).")
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
    from pinctl.pinfile.edit import EditResult
    from pinctl.pinfile.model import remove, resolve_path
    from pinctl.pki.pins import parse_pin

    pin = parse_pin(pin_text) if pin_text is not None else None
    change = remove(resolve_path(pin_file), host, port, pin, dry_run=dry_run)
    return Outcome(EditResult((change,)), render_changes)
