"""The options of commands that look at live hosts the way verify does: plan, promote and
`remove --stale` (verify keeps its own declarations, with the same spellings)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from pinctl.cli.common import TIMEOUT

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.verify.run import VerifyOptions


class Checking(NamedTuple):
    """How to reach the hosts: verify's options, or a saved chain."""

    timeout: float
    proxy: str | None
    ca_file: str | None
    concurrency: int | None
    retries: int
    chain_file: str | None

    def options(self) -> VerifyOptions:
        from pinctl.verify.run import VerifyOptions

        return VerifyOptions(
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            ca_file=Path(self.ca_file) if self.ca_file else None,
            proxy=self.proxy,
            environ=dict(os.environ),
        )

    def chain(self) -> tuple[x509.Certificate, ...] | None:
        if self.chain_file is None:
            return None
        from pinctl.verify.observation import load_chain

        return load_chain(Path(self.chain_file))


def checking_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """verify's connection options, handed to the command as one `checking` keyword."""
    decorators = [
        click.option(
            "--timeout",
            type=TIMEOUT,
            default=10.0,
            show_default=True,
            help="Seconds per host for connect, handshake and retries together.",
        ),
        click.option(
            "--proxy",
            metavar="URL",
            help="HTTP CONNECT proxy (env: HTTPS_PROXY, https_proxy; NO_PROXY honoured).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(exists=True, dir_okay=False),
            help="Trust these roots for every host, overriding the pin file's ca_file.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            default=None,
            help="At most N hosts checked at once. [default: what the descriptor limit allows]",
        ),
        click.option(
            "--retries",
            type=click.IntRange(0, 10),
            default=1,
            show_default=True,
            help="Retries of a refused or reset connection (never of a timeout).",
        ),
        click.option(
            "--chain",
            "chain_file",
            type=click.Path(exists=True, dir_okay=False),
            help="Judge this saved PEM chain instead of connecting (offline).",
        ),
    ]

    @functools.wraps(f)
    def bundled(**kwargs: Any) -> Any:
        checking = Checking(*(kwargs.pop(name) for name in Checking._fields))
        return f(checking=checking, **kwargs)

    for decorator in reversed(decorators):
        bundled = decorator(bundled)
    return bundled
