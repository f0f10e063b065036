"""`pinctl audit [--verify]`: show the audit log, or check its hash chain."""

from __future__ import annotations

from pathlib import Path

import click

from pinctl.cli.common import CONTEXT_SETTINGS, Outcome, output_option, pin_file_option
from pinctl.errors import ExitCode, UsageError


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--verify", "check", is_flag=True, help="Check the hash chain and the pin file.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    envvar="PINCTL_AUDIT_LOG",
    help="The audit log (env: PINCTL_AUDIT_LOG). [default: the pin file's audit_log]",
)
@pin_file_option
@output_option("table", "json")
def command(check: bool, audit_log: str | None, pin_file: str, output: str) -> Outcome:
    """Print the audit log of pin-file changes; with --verify, check it.

    --verify checks that every line's prev is the SHA-256 of the line before it,
    and that each pin file still has the after_sha256 of its last line (else it
    was edited outside pinctl). Exit status: 0 intact, 1 a break, 2 an unreadable
    or damaged log.

    \b
    Examples:
      pinctl audit
      pinctl audit --verify
      pinctl audit -o json | jq '.lines[] | select(.command[1] == "promote")'
    """
    from pinctl.audit.check import report
    from pinctl.output.audit import RENDERERS

    path = Path(audit_log) if audit_log else _configured(pin_file)
    found = report(path, check=check)
    code = ExitCode.FAILED if found.problems else ExitCode.OK
    return Outcome(found, RENDERERS[output], code)


def _configured(pin_file: str) -> Path:
    from pinctl.pinfile import reader as pinfile

    pins = pinfile.load(pinfile.resolve_path(pin_file))
    if pins.defaults.audit_log is None:
        raise UsageError(
            f"no audit log: {pins.path} sets no audit_log in [defaults]; give --audit-log FILE "
            "or set PINCTL_AUDIT_LOG"
        )
    return pins.defaults.audit_log
