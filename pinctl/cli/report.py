"""`pinctl report triage FILE...`: what the pin-failure reports apps sent mean."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from pinctl.cli.common import CONTEXT_SETTINGS, Outcome, output_option, pin_file_option


@click.group(context_settings=CONTEXT_SETTINGS)
def command() -> None:
    """Read the pin-failure reports apps and browsers send (TrustKit, HPKP).

    \b
    Examples:
      pinctl report triage reports.jsonl
    """


@command.command(context_settings=CONTEXT_SETTINGS)
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@pin_file_option
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust these roots for hosts whose pin file entry names no ca_file.",
)
@output_option("table", "json")
def triage(files: tuple[str, ...], pin_file: str, ca_file: str | None, output: str) -> Outcome:
    """Classify the pin-failure reports of apps against the pin file.

    Each FILE holds one JSON report, a JSON array or JSON lines; - reads stdin.
    Every reported chain is pinned and judged: stale-app (it matches a current
    pin: the app has old pins), rotation (trusted but unpinned: a key or CA
    changed), interception (not trusted: a proxy or an attacker) or
    unknown-host. Reports are grouped by host, class, app version and chain;
    malformed ones are counted and named, never fatal. Exit status: 0 no
    rotation or interception, 1 some, 2 bad usage or an unreadable file.

    \b
    Examples:
      pinctl report triage reports.jsonl
      pinctl report triage -o json collected/*.json | jq '.groups[]'
      zcat reports.jsonl.gz | pinctl report triage -
    """
    from pinctl.output.triage import RENDERERS
    from pinctl.pinfile.reader import load, resolve_path
    from pinctl.triage.classify import triage as classify
    from pinctl.triage.reports import read_sources

    pins = load(resolve_path(pin_file))
    reads = read_sources(files, sys.stdin.buffer)
    now = datetime.now(timezone.utc)
    result = classify(pins, reads, now, ca_file=Path(ca_file) if ca_file else None)
    return Outcome(result, RENDERERS[output], result.exit_code)
