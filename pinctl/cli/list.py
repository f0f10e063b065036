"""`pinctl list`: the pin file's hosts and pins, with each pin's days to expiry."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    INTERNAL,
    ExitStatus,
    Outcome,
    output_option,
    pin_file_option,
)

EXIT_STATUS: ExitStatus = (
    (0, "The pin file was shown."),
    INTERNAL,
    (2, "A usage error, or a missing or invalid pin file."),
)
"""What `pinctl list` exits with: its manual page's EXIT STATUS."""


@click.command(context_settings=CONTEXT_SETTINGS)
@pin_file_option
@output_option("table", "json")
def command(pin_file: str, output: str) -> Outcome:
    """Show the pin file's hosts and pins: level, backup flag, expiry and note.

    \b
    Examples:
      pinctl list
      pinctl list --pin-file deploy/pins.toml
      pinctl list -o json | jq '.hosts[].pins[].days_left'
    """
    from pinctl.output.pinfile import RENDERERS
    from pinctl.pinfile.model import Listing
    from pinctl.pinfile.reader import load, resolve_path

    listing = Listing(load(resolve_path(pin_file)), datetime.now(timezone.utc).date())
    return Outcome(listing, RENDERERS[output])
