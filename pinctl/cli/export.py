"""`pinctl export --format FORMAT [HOST...]`: the pin file's pins where clients need them."""

from __future__ import annotations

from typing import Any

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    INTERNAL,
    MAX_AGE,
    ExitStatus,
    Outcome,
    pin_file_option,
)
from pinctl.cli.suggestions import complete_hosts
from pinctl.errors import UsageError
from pinctl.exports import DEFAULT_MAX_AGE, FORMATS, Format

EXIT_STATUS: ExitStatus = (
    (0, "The pins were written; warnings (skipped pins, client differences) do not change it."),
    INTERNAL,
    (
        2,
        "A usage error, an invalid pin file, a HOST not in it, or a host left with no "
        "exportable pin; nothing is written.",
    ),
)
"""What `pinctl export` exits with: its manual page's EXIT STATUS."""


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("hosts", nargs=-1, metavar="[HOST[:PORT]]...", shell_complete=complete_hosts)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    required=True,
    help="The client to export for.",
)
@click.option(
    "--max-age",
    type=MAX_AGE,
    metavar="SECONDS",
    help=f"hpkp only: the header's max-age. [default: {DEFAULT_MAX_AGE} (60 days)]",
)
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False),
    help="Write to this file (atomically replaced) instead of standard output.",
)
@pin_file_option
def command(
    hosts: tuple[str, ...],
    format_: Format,
    max_age: int | None,
    output_file: str | None,
    pin_file: str,
) -> Outcome:
    """Write the pins in a client's format, ready to paste.

    Only spki sha256 pins that have not expired can be exported; the others
    are left out with a warning on standard error, as are the ways a client
    differs from the pin file's meaning. HOST limits the export to those
    hosts. The curl value holds one server's pins, so name one host when
    the pin file has several.

    \b
    Examples:
      pinctl export --format okhttp-kotlin
      pinctl export --format android --output-file network_security_config.xml
      pinctl export --format ios api.example.com
      curl --pinnedpubkey "$(pinctl export --format curl api.example.com)" \\
          https://api.example.com/
      pinctl export --format hpkp --max-age 86400 api.example.com
    """
    from datetime import datetime, timezone
    from pathlib import Path

    from pinctl.exports import ExportOptions, export
    from pinctl.files import check_target, write_atomic
    from pinctl.pinfile import reader as pinfile

    if max_age is not None and format_ != "hpkp":
        raise UsageError(f"--max-age applies to --format hpkp only, not {format_}")
    if output_file is not None:
        check_target("--output-file", Path(output_file))
    pins = pinfile.load(pinfile.resolve_path(pin_file))
    today = datetime.now(timezone.utc).date()
    options = ExportOptions(today, DEFAULT_MAX_AGE if max_age is None else max_age)
    result = export(format_, pins, hosts, options)
    if output_file is None:
        return Outcome(result, _write_text, warnings=result.warnings)
    write_atomic(Path(output_file), result.text.encode("utf-8"))
    return Outcome(result, _nothing, warnings=result.warnings)


def _write_text(result: Any, sink: Any) -> None:
    sink.out.write(result.text)


def _nothing(result: Any, sink: Any) -> None:
    """The text went to --output-file; stdout stays empty, as with `curl -o`."""
