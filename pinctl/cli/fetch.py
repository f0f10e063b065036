"""`pinctl fetch TARGET...`: the chain a server presents, its validation and its pins."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Connection,
    Outcome,
    connection_options,
    hash_option,
    output_option,
)
from pinctl.errors import ExitCode, UsageError
from pinctl.pki.revocation import MODES as REVOCATION_MODES

if TYPE_CHECKING:
    from pinctl.pki.pins import HashAlg


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@connection_options
@hash_option
@click.option(
    "--save",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the served chain as PEM to FILE (one TARGET only).",
)
@click.option(
    "--revocation",
    type=click.Choice(REVOCATION_MODES),
    default="off",
    show_default=True,
    help="Also check each certificate's CRL and OCSP sources and show what they say "
    "(the stapled OCSP response is always asked for and shown).",
)
@click.option(
    "--ct-log-list",
    type=click.Path(dir_okay=False),
    envvar="PINCTL_CT_LOG_LIST",
    help="Show the leaf's SCTs, verified against this v3 CT log list (env: PINCTL_CT_LOG_LIST).",
)
@output_option("table", "json", "pem", "pins")
def command(
    targets: tuple[str, ...],
    connection: Connection,
    hashes: tuple[str, ...],
    save: str | None,
    ct_log_list: str | None,
    revocation: str,
    output: str,
) -> Outcome:
    """Connect to hosts and show their chain, its validation and its pins.

    TARGET is host, host:port, [v6addr]:port or a URL (https, smtps, imaps,
    pop3s, ldaps, ftps set the default port). A chain that fails validation
    is shown with the reason; a host that cannot be reached exits 3.

    \b
    Examples:
      pinctl fetch example.com
      pinctl fetch -o pins https://api.example.com/v1
      pinctl fetch --connect-to 10.0.0.5:8443 api.example.com
      HTTPS_PROXY=http://proxy:3128 pinctl fetch -o json example.com
      pinctl fetch --ca-file internal-root.pem --save chain.pem db.internal:5433
      pinctl fetch --revocation soft example.com
    """
    from pinctl.inspect.hosts import inspect_all
    from pinctl.inspect.report import SourceReport, SourcesResult
    from pinctl.output.sources import RENDERERS, pem_chain
    from pinctl.pki.validation import load_roots

    if save is not None and len(targets) > 1:
        raise UsageError("--save writes one chain; give a single TARGET with --save FILE")
    parsed = connection.targets(targets)
    options = {t: connection.options(t) for t in parsed}  # a bad proxy fails before any dial
    roots = load_roots(Path(connection.ca_file) if connection.ca_file else None)
    algs = cast("tuple[HashAlg, ...]", tuple(dict.fromkeys(hashes)) or ("sha256",))
    logs = None
    if ct_log_list:
        from pinctl.ct import loglist

        logs = loglist.load(Path(ct_log_list))
    now = datetime.now(timezone.utc)
    checking = None
    if revocation != "off":
        import os

        from pinctl.net.http import proxy_chooser
        from pinctl.net.revocation import Fetcher

        checking = (Fetcher(proxy_chooser(connection.proxy, os.environ)), revocation)
    sources = inspect_all(
        parsed, options.__getitem__, roots, algs, now, log_list=logs, revocation=checking
    )
    if save is not None and isinstance(sources[0], SourceReport):
        from pinctl.files import write_atomic

        write_atomic(Path(save), pem_chain(sources[0].entries).encode("ascii"))
    result = SourcesResult(sources, algs, now)
    exit_code = ExitCode.UNREACHABLE if result.failed else ExitCode.OK
    return Outcome(result, RENDERERS[output], exit_code)
