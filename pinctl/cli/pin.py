"""`pinctl pin FILE...`: pins of local certificates, keys, CSRs and bundles."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    INTERNAL,
    ExitStatus,
    Outcome,
    hash_option,
    output_option,
    passphrase_options,
)
from pinctl.errors import ExitCode, InputError

EXIT_STATUS: ExitStatus = (
    (0, "Every FILE was read and its pins shown."),
    INTERNAL,
    (2, "A usage error, or a FILE that cannot be read or holds no certificate, key or CSR."),
)
"""What `pinctl pin` exits with: its manual page's EXIT STATUS."""


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument(
    "files", nargs=-1, required=True, metavar="FILE...", type=click.Path(allow_dash=True)
)
@hash_option
@passphrase_options
@output_option("table", "json", "pins")
def command(
    files: tuple[str, ...],
    hashes: tuple[str, ...],
    passphrase_file: str | None,
    passphrase_env: str | None,
    output: str,
) -> Outcome:
    """Derive pins from each FILE; '-' reads standard input.

    The type is read from the content, not the extension: PEM or DER
    certificates, PEM bundles, PKCS#7, PKCS#12, public keys, private keys
    (PKCS#8, PKCS#1, SEC1; encrypted too) and CSRs.

    \b
    Examples:
      pinctl pin cert.pem
      pinctl pin -o pins chain.pem
      pinctl pin --passphrase-file pass.txt server.p12
      openssl s_client -connect host:443 </dev/null | pinctl pin -
    """
    from pinctl.inspect.report import SourceReport, SourcesResult
    from pinctl.output.sources import RENDERERS
    from pinctl.pki.formats import read_source
    from pinctl.pki.pins import HashAlg

    algs = cast("tuple[HashAlg, ...]", tuple(dict.fromkeys(hashes)) or ("sha256",))
    reports = []
    for name in files:

        def ask(name: str = name) -> bytes | None:
            from pinctl.pki.passphrase import read_passphrase

            return read_passphrase(
                passphrase_file,
                passphrase_env,
                prompt=f"Passphrase for {name}: ",
                confirm=False,
                required=True,
            )

        entries = read_source(name, _read(name), algs, ask, details=output != "pins")
        report = SourceReport(source=name, entries=entries)
        reports.append(report)
    result = SourcesResult(tuple(reports), algs, datetime.now(timezone.utc))
    return Outcome(result, RENDERERS[output], ExitCode.OK)


def _read(name: str) -> bytes:
    from pinctl.pki.formats import MAX_INPUT

    try:
        if name == "-":
            return sys.stdin.buffer.read(MAX_INPUT + 1)
        with Path(name).open("rb") as handle:
            return handle.read(MAX_INPUT + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
