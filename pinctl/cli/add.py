"""`pinctl add TARGET...`: fetch and validate a host's chain, then pin it in the pin file."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import cast

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Connection,
    Outcome,
    connection_options,
    pin_file_option,
)
from pinctl.errors import ExitCode, UsageError
from pinctl.pinfile.model import LEVELS, Level


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@connection_options
@click.option(
    "--level",
    "levels",
    type=click.Choice(LEVELS),
    multiple=True,
    help="Certificates to pin; repeat for several. root is the validated path's trust "
    "anchor, even if the server does not send it. [default: leaf, intermediate]",
)
@click.option(
    "--expires", metavar="DAYS|DATE", help="Expiry of the new pins: days from today, or YYYY-MM-DD."
)
@click.option("--note", help="Note for the new pins. [default: each certificate's common name]")
@click.option(
    "--no-verify-chain",
    is_flag=True,
    help="Pin a chain that does not validate, and record verify_chain = false for the host.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@pin_file_option
def command(
    targets: tuple[str, ...],
    connection: Connection,
    levels: tuple[str, ...],
    expires: str | None,
    note: str | None,
    no_verify_chain: bool,
    dry_run: bool,
    pin_file: str,
) -> Outcome:
    """Fetch and validate each TARGET's chain, then add its pins to the pin file.

    The pin file is created if missing. A pin already present changes nothing.
    A chain that fails validation is refused unless --no-verify-chain is given.
    A new host records its port, --servername, --connect-to, --ca-file and
    its STARTTLS protocol and name.

    \b
    Examples:
      pinctl add api.example.com
      pinctl add --level leaf --expires 90 --note "api key 2025" api.example.com
      pinctl add --dry-run --level root https://pay.example.com:8443/
      pinctl add --ca-file internal-root.pem db.internal:5433
    """
    from pinctl.inspect.candidates import add_targets
    from pinctl.output.pinfile import render_changes
    from pinctl.pinfile.edit import transaction
    from pinctl.pinfile.reader import resolve_path

    now = datetime.now(timezone.utc)
    fields = {
        "servername": connection.servername,
        "connect_to": connection.connect_to,
        "ca_file": connection.ca_file,
    }
    chosen = cast("tuple[Level, ...]", tuple(dict.fromkeys(levels)) or ("leaf", "intermediate"))
    expiry = parse_expires(expires, now.date())
    dials = connection.targets(targets)
    with transaction(resolve_path(pin_file), dry_run=dry_run) as edit:
        result = add_targets(
            edit,
            dials,
            connection.options,
            levels=chosen,
            note=note,
            expires=expiry,
            host_fields={key: value for key, value in fields.items() if value is not None},
            verify_chain=not no_verify_chain,
            now=now,
        )
    exit_code = ExitCode.UNREACHABLE if result.failures else ExitCode.OK
    return Outcome(result, render_changes, exit_code)


def parse_expires(text: str | None, today: date) -> date | None:
    """``90`` (days from today) or ``2026-03-01``; a date already past is refused."""
    if text is None:
        return None
    value = text.strip()
    try:
        expires = (
            today + timedelta(days=int(value)) if value.isdigit() else date.fromisoformat(value)
        )
    except (ValueError, OverflowError):
        raise UsageError(
            f"--expires {text!r}: give a number of days (90) or a date (2026-03-01)"
        ) from None
    if expires < today:
        raise UsageError(f"--expires {text!r} is in the past (today is {today.isoformat()})")
    return expires
