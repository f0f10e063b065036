"""`pinctl promote HOST --pin PIN`: the emergency switch to a backup key."""

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
from pinctl.errors import ConnectError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from pinctl.pinfile.model import HostEntry, PinFile
    from pinctl.pki.pins import Pin


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("host", shell_complete=complete_hosts)
@click.option("--pin", "pin_text", metavar="PIN", required=True, help="The backup to promote.")
@click.option(
    "--retire", "retire_texts", metavar="PIN", multiple=True, help="Retire this pin; repeatable."
)
@click.option("--force", is_flag=True, help="Promote without checking the server presents PIN.")
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@checking_options
@pin_file_option
@audit_log_option
def command(
    host: str,
    pin_text: str,
    retire_texts: tuple[str, ...],
    force: bool,
    dry_run: bool,
    checking: Checking,
    pin_file: str,
    audit_log: str | None,
) -> Outcome:
    """Make backup PIN of HOST its live pin, retiring the --retire pins.

    PIN must be a backup (backup = true) of HOST and, unless --force, be presented by
    the server (or the --chain file): it loses backup = true and its note gains
    "promoted DATE"; each --retire pin gets retired = true. Then export the pins for
    your apps, and make a new backup. Exit status: 0 done, 2 refused (file
    untouched), 3 the server could not be reached.

    \b
    Examples:
      pinctl promote api.example.com --pin sha256/... --retire sha256/...
      pinctl promote api.example.com:8443 --pin sha256/... --chain new.pem
    """
    from pinctl.output.pinfile import render_promotion
    from pinctl.pinfile import reader as pinfile
    from pinctl.pinfile.edit import transaction
    from pinctl.pinfile.selection import one_host
    from pinctl.pki.pins import parse_pin
    from pinctl.rotation.promote import check_request, promote

    path = pinfile.resolve_path(pin_file)
    pin = parse_pin(pin_text)
    retire = tuple(parse_pin(t) for t in retire_texts)
    pins = pinfile.load(path)
    entry = one_host(pins, host)
    check_request(entry, pin, retire, path)
    now = now_or(None)
    if not force:
        _presented(pins, entry, pin, checking, now)
    with transaction(path, dry_run=dry_run, journal=journal(audit_log)) as edit:
        done = promote(edit, entry.host, entry.port, pin, retire, now.date())
    return Outcome(done, render_promotion)


def _presented(
    pins: PinFile, entry: HostEntry, pin: Pin, checking: Checking, now: datetime
) -> None:
    """Refuse unless the server (or --chain) presents `pin`: promoting an undeployed key
    would break every client at once."""
    from pinctl.verify.results import Reached
    from pinctl.verify.rules import pin_of
    from pinctl.verify.run import verify

    [seen] = verify(pins, (entry,), checking.options(), now, chain=checking.chain()).hosts
    if not isinstance(seen.outcome, Reached) or not seen.outcome.chain:
        raise ConnectError(
            f"{entry.label} could not be reached ({seen.error}); promote needs to see the "
            "backup key served (or give --chain FILE, or --force)",
            seen.status,
        )
    served = [str(pin_of(c.cert, "spki", pin.alg)) for c in seen.outcome.chain]
    if str(pin) not in served:
        raise UsageError(
            f"{entry.label} does not present {pin} (it presents {', '.join(served)}); deploy "
            "the backup key on the server first, or promote anyway with --force"
        )
