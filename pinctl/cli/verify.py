"""`pinctl verify [HOST...]`: the CI check, which fails closed."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pinctl.cli.common import (
    CONTEXT_SETTINGS,
    TIMEOUT,
    Outcome,
    at_option,
    complete_hosts,
    now_or,
    output_option,
    pin_file_option,
)
from pinctl.errors import UsageError
from pinctl.pki.revocation import MODES as REVOCATION_MODES

if TYPE_CHECKING:
    from pinctl.output.reports import ReportFile
    from pinctl.pinfile.model import Client
    from pinctl.verify.results import VerifyResult


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("names", metavar="[HOST]...", nargs=-1, shell_complete=complete_hosts)
@pin_file_option
@click.option(
    "--timeout",
    type=TIMEOUT,
    default=10.0,
    show_default=True,
    help="Seconds per host for connect, handshake and retries together.",
)
@click.option(
    "--proxy",
    metavar="URL",
    help="HTTP proxy: CONNECT for the hosts (env: HTTPS_PROXY, https_proxy), plain "
    "requests for CRL and OCSP fetches (env: http_proxy); NO_PROXY honoured.",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust these roots for every host, overriding the pin file's ca_file.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,  # the pool sizes itself from the descriptor limit (pinctl.net.pool.bound)
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
@click.option(
    "--revocation",
    type=click.Choice(REVOCATION_MODES),
    help="Revocation checking (CRL, OCSP, staple), overriding the pin file's; "
    "soft fails revoked certificates, hard also unanswered ones, require also "
    "certificates naming no source. [default: the pin file's, else soft]",
)
@click.option(
    "--crl",
    "crl_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A CRL (PEM or DER) to use before any fetch; repeatable (with --chain: offline).",
)
@click.option(
    "--crl-max-bytes",
    type=click.IntRange(min=1),
    default=100 * 1024 * 1024,
    show_default=True,
    help="Refuse a CRL or OCSP answer larger than this.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    envvar="PINCTL_CACHE_DIR",
    help="Keep verified revocation answers here until their next update "
    "(env: PINCTL_CACHE_DIR). [default: no cache]",
)
@click.option(
    "--as",
    "as_clients",
    metavar="CLIENT[,CLIENT...]",
    multiple=True,
    shell_complete=lambda ctx, param, incomplete: complete_clients(incomplete),
    help="Also judge each host as this client's app would, with the pins its export "
    "writes: okhttp, curl, android, ios, trustkit, or all. Repeatable; overrides the pin "
    "file's clients.",
)
@at_option
@output_option("table", "json", "prometheus")
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a JUnit XML report here, one test case per host (and per client with --as).",
)
@click.option(
    "--ct",
    "ct_mode",
    type=click.Choice(["off", "report", "require"]),
    help="Certificate Transparency: off, report (warn) or require (fail), for every host. "
    "[default: the pin file's ct, else off]",
)
@click.option(
    "--ct-log-list",
    type=click.Path(dir_okay=False),
    envvar="PINCTL_CT_LOG_LIST",
    help="The v3 CT log list (JSON) you downloaded (env: PINCTL_CT_LOG_LIST).",
)
@click.option(
    "--textfile",
    type=click.Path(dir_okay=False),
    help="Also write Prometheus metrics here, atomically, mode 0644 (for node_exporter's "
    "textfile collector: name it *.prom).",
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
    as_clients: tuple[str, ...],
    at: datetime | None,
    revocation: str | None,
    crl_files: tuple[str, ...],
    crl_max_bytes: int,
    cache_dir: str | None,
    output: str,
    junit_xml: str | None,
    ct_mode: str | None,
    ct_log_list: str | None,
    textfile: str | None,
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
      pinctl verify --as curl,ios
      pinctl verify --revocation hard api.example.com
      pinctl verify --textfile /var/lib/node_exporter/textfile/pinctl.prom
    """
    from pinctl.net import pool
    from pinctl.output.terminal import Sink
    from pinctl.output.verify import RENDERERS, progress
    from pinctl.pinfile import reader as pinfile
    from pinctl.pinfile.selection import select_hosts
    from pinctl.verify import run as core
    from pinctl.verify.observation import load_chain

    clients = _clients(as_clients)
    pins = pinfile.load(pinfile.resolve_path(pin_file))
    hosts = select_hosts(pins, names)
    if chain_file is not None and not names and len(hosts) > 1:
        raise UsageError(
            f"--chain judges one saved chain, and {pins.path} has {len(hosts)} hosts; "
            "name the host(s) it belongs to: pinctl verify HOST --chain FILE"
        )
    reports = _reports(junit_xml, textfile)
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
        clients=clients,
        ct=ct_mode,
        ct_log_list=Path(ct_log_list) if ct_log_list else None,
        revocation=revocation,
        crl_files=tuple(Path(f) for f in crl_files),
        crl_max_bytes=crl_max_bytes,
        cache_dir=Path(cache_dir) if cache_dir else None,
    )
    now = now_or(at)
    with progress(Sink(sys.stdout, sys.stderr), len(hosts)) as tick:
        result = core.verify(pins, hosts, options, now, chain=chain, progress=tick)
    lost = _write(reports, result)
    if lost:  # the checks ran and are shown, but CI lost an artefact: fail closed
        result = replace(result, lost_reports=lost)
    notes: tuple[str, ...] = (capped,) if capped else ()
    if textfile is not None and not textfile.endswith(".prom"):
        notes += (f"--textfile {textfile}: node_exporter's textfile collector reads *.prom only",)
    return Outcome(result, RENDERERS[output], result.exit_code, notes, errors=lost)


def _reports(junit_xml: str | None, textfile: str | None) -> list[ReportFile[VerifyResult]]:
    """The report files asked for, their paths checked before any host is contacted."""
    if junit_xml is None and textfile is None:
        return []  # a run without report files does not import their machinery
    from pinctl.output.reports import ReportFile, check_reports

    reports: list[ReportFile[VerifyResult]] = []
    if junit_xml is not None:
        from pinctl.output import junit  # only a run that writes the report compiles its pattern

        reports.append(
            ReportFile("--junit-xml", Path(junit_xml), junit.render_junit, "JUnit report")
        )
    if textfile is not None:
        from pinctl.output.prometheus import render_prometheus

        # 0644 whatever the umask or an older file's mode: node_exporter often runs as
        # another user, and metrics hold no secrets (SPEC.md section 13).
        reports.append(
            ReportFile("--textfile", Path(textfile), render_prometheus, "metrics file", 0o644)
        )
    check_reports(reports)
    return reports


def _write(reports: list[ReportFile[VerifyResult]], result: VerifyResult) -> tuple[str, ...]:
    if not reports:
        return ()  # a run without report files does not import their machinery
    from pinctl.output.reports import write_reports

    return write_reports(reports, result, sys.stderr)


def _clients(given: tuple[str, ...]) -> tuple[Client, ...] | None:
    """`--as`, parsed before the pin file is read: an unknown name is a usage error (exit 2)."""
    if not given:
        return None
    from pinctl.exports.clients import parse_clients

    return parse_clients(given)


def complete_clients(incomplete: str) -> list[str]:
    """The client names, completing the last item of a comma list."""
    from pinctl.pinfile.model import CLIENTS

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [prefix + name for name in (*CLIENTS, "all") if name.startswith(last)]


def _debug() -> bool:
    root = click.get_current_context().find_root()
    return bool(root.params.get("debug")) or bool(os.environ.get("PINCTL_DEBUG"))
