"""`pinctl plan [HOST...]`: what to do before the next key change breaks a client."""

from __future__ import annotations

from datetime import datetime

import click

from pinctl.cli.checking import Checking, checking_options
from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Outcome,
    at_option,
    complete_hosts,
    now_or,
    output_option,
    pin_file_option,
)
from pinctl.cli.verify import complete_clients
from pinctl.errors import UsageError


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("names", metavar="[HOST]...", nargs=-1, shell_complete=complete_hosts)
@pin_file_option
@checking_options
@click.option(
    "--as",
    "as_clients",
    metavar="CLIENT[,CLIENT...]",
    multiple=True,
    shell_complete=lambda ctx, param, incomplete: complete_clients(incomplete),
    help="Judge the configuration for these clients (okhttp, curl, android, ios, trustkit, "
    "or all), as verify --as does. Repeatable; overrides the pin file's clients.",
)
@at_option
@output_option("table", "json")
def command(
    names: tuple[str, ...],
    pin_file: str,
    checking: Checking,
    as_clients: tuple[str, ...],
    at: datetime | None,
    output: str,
) -> Outcome:
    """List what each HOST's pins need before the next key change.

    All hosts are planned when none is named: backups, stale and retired pins,
    rotation and expiry dates.
    Each finding has a severity, a deadline where one exists, and the command that
    resolves it. Exit status: 0 nothing to act on, 1 some action is needed, 2 bad
    usage or pin file, 3 a host could not be reached (and no action was found).

    \b
    Examples:
      pinctl plan
      pinctl plan --at 2027-03-01 -o json
      pinctl plan api.example.com --chain saved.pem
    """
    from pinctl.exports.clients import parse_clients
    from pinctl.output.plan import RENDERERS
    from pinctl.pinfile import reader as pinfile
    from pinctl.pinfile.selection import select_hosts
    from pinctl.rotation.plan import plan

    pins = pinfile.load(pinfile.resolve_path(pin_file))
    hosts = select_hosts(pins, names)
    if checking.chain_file is not None and len(hosts) > 1:
        raise UsageError(
            f"--chain is one saved chain, and {len(hosts)} hosts are selected; "
            "name the host it belongs to: pinctl plan HOST --chain FILE"
        )
    chosen = parse_clients(as_clients) if as_clients else None
    result = plan(
        pins, hosts, checking.options(), now_or(at), chain=checking.chain(), clients=chosen
    )
    return Outcome(result, RENDERERS[output], result.exit_code)
