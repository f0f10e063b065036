"""`pinctl verify [HOST...]`: the CI check, which fails closed."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    Outcome,
    complete_hosts,
    output_option,
    pin_file_option,
)
from pinctl.errors import InputError, UsageError
from pinctl.verify.run import DEFAULT_CONCURRENCY


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("names", metavar="[HOST]...", nargs=-1, shell_complete=complete_hosts)
@pin_file_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds per host for connect, handshake and retries together.",
)
@click.option(
    "--proxy",
    metavar="URL",
    help="HTTP CONNECT proxy (env: HTTPS_PROXY, https_proxy; NO_PROXY honoured).",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust these roots for every host, overriding the pin file's ca_file.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=DEFAULT_CONCURRENCY,
    help="At most N hosts checked at once; more than the descriptor limit (ulimit -n) "
    "allows is capped to it. [default: 1024, or what the limit allows]",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Retries of a refused or reset connection (never of a timeout or mismatch).",
)
@click.option("--strict", is_flag=True, help="Fail hosts that have warnings.")
@click.option(
    "--chain",
    "chain_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Check this saved PEM chain instead of connecting (offline CI).",
)
@output_option("table", "json")
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a JUnit XML report here, one test case per host.",
)
def command(
    names: tuple[str, ...],
    pin_file: str,
    timeout: float,
    proxy: str | None,
    ca_file: str | None,
    concurrency: int | None,
    retries: int,
    strict: bool,
    chain_file: str | None,
    output: str,
    junit_xml: str | None,
) -> Outcome:
    """Check each HOST of the pin file (all when none is named) against its pins.

    A host passes when its handshake meets the TLS policy, its chain
    validates for its name, and an unexpired pin matches a certificate of the
    validated chain, trust anchor included (OkHttp's rule). Exit status: 0 all
    passed, 1 a check failed, 2 bad usage or pin file, 3 a host could not be
    checked. With --chain, the saved chain is judged for each named host (or
    for the pin file's only host).

    \b
    Examples:
      pinctl verify
      pinctl verify api.example.com --strict --junit-xml report.xml
      pinctl verify -o json | jq '.hosts[] | select(.ok | not)'
      pinctl verify api.example.com --chain saved.pem
    """
    from pinctl.net import pool
    from pinctl.output.terminal import Sink
    from pinctl.output.verify import RENDERERS, progress
    from pinctl.pinfile import model as pinfile
    from pinctl.pinfile.selection import select_hosts
    from pinctl.verify import run as core
    from pinctl.verify.observation import load_chain

    pins = pinfile.load(pinfile.resolve_path(pin_file))
    hosts = select_hosts(pins, names)
    if chain_file is not None and not names and len(hosts) > 1:
        raise UsageError(
            f"--chain judges one saved chain, and {pins.path} has {len(hosts)} hosts; "
            "name the host(s) it belongs to: pinctl verify HOST --chain FILE"
        )
    if junit_xml is not None:
        _check_report_path(junit_xml)
    chain = load_chain(Path(chain_file)) if chain_file is not None else None
    capped = pool.bound(concurrency).notice
    options = core.VerifyOptions(
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
        strict=strict,
        ca_file=Path(ca_file) if ca_file else None,
        proxy=proxy,
        environ=dict(os.environ),
        debug=_debug(),
    )
    now = datetime.now(timezone.utc)
    with progress(Sink(sys.stdout, sys.stderr), len(hosts)) as tick:
        result = core.verify(pins, hosts, options, now, chain=chain, progress=tick)
    if junit_xml is not None:
        from pinctl.output import junit  # its XML-safe pattern alone costs 9 ms to compile

        try:
            junit.write(Path(junit_xml), junit.verify_suite(result, now))
        except InputError as exc:
            # The checks ran and are reported, but CI lost its artefact: fail closed.
            lost = f"{exc}; the hosts were checked, but no JUnit report was written"
            result = replace(result, lost_report=lost)
            return Outcome(
                result, RENDERERS[output], result.exit_code, _notes(capped), errors=(lost,)
            )
    return Outcome(result, RENDERERS[output], result.exit_code, _notes(capped))


def _notes(notice: str | None) -> tuple[str, ...]:
    return (notice,) if notice else ()


def _check_report_path(junit_xml: str) -> None:
    """Catch what can be caught before any host is contacted (exit 2 means none was)."""
    target = os.path.realpath(junit_xml)
    if os.path.islink(target):
        raise UsageError(f"--junit-xml {junit_xml}: a loop of symbolic links; fix the link")
    if not os.path.isdir(os.path.dirname(target)):
        raise UsageError(f"--junit-xml {junit_xml}: its directory does not exist; create it first")


def _debug() -> bool:
    root = click.get_current_context().find_root()
    return bool(root.params.get("debug")) or bool(os.environ.get("PINCTL_DEBUG"))
