"""`pinctl add TARGET...`: fetch and validate a host's chain, then pin it in the pin file."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import cast

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Connection,
    Outcome,
    audit_log_option,
    connection_options,
    journal,
    passphrase_options,
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
@click.option(
    "--from",
    "from_files",
    metavar="FILE",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Pin the certificates, keys or CSRs in FILE instead of connecting; repeatable.",
)
@click.option("--backup", is_flag=True, help="Record the --from pins as backup = true.")
@passphrase_options
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
@pin_file_option
@audit_log_option
def command(
    targets: tuple[str, ...],
    connection: Connection,
    levels: tuple[str, ...],
    expires: str | None,
    note: str | None,
    no_verify_chain: bool,
    from_files: tuple[str, ...],
    backup: bool,
    passphrase_file: str | None,
    passphrase_env: str | None,
    dry_run: bool,
    pin_file: str,
    audit_log: str | None,
) -> Outcome:
    """Fetch and validate each TARGET's chain, then add its pins to the pin file.

    The pin file is created if missing. A pin already present changes nothing.
    A chain that fails validation is refused unless --no-verify-chain is given.
    A new host records its port, --servername, --connect-to and --ca-file.

    \b
    Examples:
      pinctl add api.example.com
      pinctl add --level leaf --expires 90 --note "api key 2025" api.example.com
      pinctl add --dry-run --level root https://pay.example.com:8443/
      pinctl add --ca-file internal-root.pem db.internal:5433
      pinctl add api.example.com --from next-key.pub.pem --backup
    """
    from pinctl.inspect.candidates import add_targets
    from pinctl.output.pinfile import render_changes
    from pinctl.pinfile.edit import transaction
    from pinctl.pinfile.reader import resolve_path

    now = datetime.now(timezone.utc)
    if from_files or backup:
        return _from_files(
            targets, connection, levels, parse_expires(expires, now.date()), note, backup,
            from_files, (passphrase_file, passphrase_env), dry_run, pin_file, audit_log,
        )  # fmt: skip
    fields = {
        "servername": connection.servername,
        "connect_to": connection.connect_to,
        "ca_file": connection.ca_file,
    }
    chosen = cast("tuple[Level, ...]", tuple(dict.fromkeys(levels)) or ("leaf", "intermediate"))
    expiry = parse_expires(expires, now.date())
    dials = connection.targets(targets)
    with transaction(resolve_path(pin_file), dry_run=dry_run, journal=journal(audit_log)) as edit:
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


def _from_files(
    targets: tuple[str, ...],
    connection: Connection,
    levels: tuple[str, ...],
    expires: date | None,
    note: str | None,
    backup: bool,
    files: tuple[str, ...],
    passphrase: tuple[str | None, str | None],
    dry_run: bool,
    pin_file: str,
    audit_log: str | None,
) -> Outcome:
    """`add HOST --from FILE...`: pins from local files, with add's idempotent edit."""
    from pinctl.inspect.material import file_pins
    from pinctl.output.pinfile import render_changes
    from pinctl.pinfile.edit import EditResult, transaction
    from pinctl.pinfile.reader import resolve_path
    from pinctl.pinfile.selection import matching
    from pinctl.pki.passphrase import read_passphrase

    if not files:
        raise UsageError("--backup records pins from --from FILE; give the file(s)")
    if len(targets) != 1 or len(set(levels)) > 1:
        raise UsageError("--from adds to one HOST, with at most one --level")
    [target] = connection.targets(targets)

    def ask() -> bytes | None:
        return read_passphrase(*passphrase, prompt="Passphrase: ", confirm=False, required=True)

    level = cast("Level | None", levels[0] if levels else None)
    pins = file_pins(files, ask, level=level, backup=backup, note=note, expires=expires)
    path = resolve_path(pin_file)
    with transaction(path, dry_run=dry_run, journal=journal(audit_log)) as edit:
        # HOST names an entry as every command reads it (localhost -> its one localhost:N)
        known = matching(edit.pin_file, targets[0], connection.port)
        host, port = (
            (known[0].host, known[0].port) if len(known) == 1 else (target.host, target.port)
        )
        change = edit.add_pins(host, port, pins)
    return Outcome(EditResult((change,)), render_changes)


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
