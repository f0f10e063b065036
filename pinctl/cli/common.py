"""What every command shares: the Outcome it returns and the options it repeats.

Options are written once here as decorators, so that `fetch`, `add` and `verify`
spell `--timeout` or `--ca-file` the same way and completion sees them alike.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from pinctl.errors import ExitCode

if TYPE_CHECKING:
    from pinctl.audit.journal import Journal
    from pinctl.net.targets import Target
    from pinctl.net.tls import ConnectOptions

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 80,
}

HASH_CHOICES = ("sha256", "sha384", "sha512")

ONE_DAY = 86_400
"""The longest --timeout: a check that has not connected in a day never will, and beyond
about 24.8 days the millisecond count overflows poll()."""


class Duration(click.FloatRange):
    """A number of seconds above 0 and at most `maximum`, as every --timeout takes.

    `inf`, `nan`, negative numbers and absurd values are usage errors naming the option and
    the range, not an overflow deep in poll() or a check that never times out (click's
    FloatRange lets `nan` through: every comparison with it is false)."""

    name = "seconds"

    def __init__(self, maximum: int) -> None:
        super().__init__(min=0, max=maximum, min_open=True)
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; {self.remedy()}", param, ctx)
        if not (math.isfinite(number) and 0 < number <= self.maximum):
            self.fail(f"{value!r} is out of range; {self.remedy()}", param, ctx)
        return number

    def remedy(self) -> str:
        days = self.maximum / ONE_DAY
        return f"give seconds above 0, at most {self.maximum} ({days:g} day{'s' * (days != 1)})"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "SECONDS"


TIMEOUT = Duration(ONE_DAY)
"""--timeout of fetch, add and verify: above 0, at most a day."""

MAX_AGE = click.IntRange(0, 365 * ONE_DAY)
"""An HPKP max-age in whole seconds: 0 tells a client to forget the pins; more than a year
pins a site past any key rotation (browsers capped it at 60 days)."""


@dataclass(frozen=True)
class Outcome:
    """A command's result and how to write it; `cli.main` writes it, then exits."""

    result: object
    render: Callable[[Any, Any], None]
    """A renderer from `pinctl.output`, called with (result, Sink)."""
    exit_code: ExitCode = ExitCode.OK
    warnings: tuple[str, ...] = field(default=())
    """Lines for stderr, written before the result."""
    errors: tuple[str, ...] = field(default=())
    """Failures beside the result (it is still written), as ``pinctl: error:`` lines."""

    def write(self) -> None:
        from pinctl.output.terminal import Sink

        sink = Sink(sys.stdout, sys.stderr)
        for line in self.errors:
            sink.error(line)
        for line in self.warnings:
            sink.warn(line)
        self.render(self.result, sink)
        sink.out.flush()


def output_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def hash_option(f: F) -> F:
    return click.option(
        "--hash",
        "hashes",
        type=click.Choice(HASH_CHOICES),
        multiple=True,
        help="Pin hash algorithm; repeat for several. [default: sha256]",
    )(f)


def passphrase_options(f: F) -> F:
    """Passphrases come from a file, an environment variable or a prompt: never argv."""
    f = click.option(
        "--passphrase-env",
        metavar="VAR",
        help="Read the passphrase from environment variable VAR.",
    )(f)
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, allow_dash=False),
        help="Read the passphrase from the first line of this file.",
    )(f)


def pin_file_option(f: F) -> F:
    return click.option(
        "--pin-file",
        type=click.Path(dir_okay=False),
        envvar="PINCTL_PIN_FILE",
        default="pins.toml",
        show_default=True,
        help="The pin file (env: PINCTL_PIN_FILE).",
    )(f)


class Moment(click.ParamType):  # type: ignore[type-arg,unused-ignore]  # generic in click 8.2+
    """``--at TIME``: an ISO 8601 date (midnight UTC) or date-time (UTC unless it says)."""

    name = "time"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from datetime import datetime, timezone

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or date-time; "
                "give 2027-03-01 or 2027-03-01T12:00:00Z",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)


def at_option(f: F) -> F:
    """The moment verify and plan judge at, passed into the core (which has no clock)."""
    return click.option(
        "--at",
        "at",
        type=Moment(),
        default=None,
        help="Judge as of TIME (2027-03-01 or 2027-03-01T12:00:00Z, UTC): path validation, "
        "pin and certificate expiry. [default: now]",
    )(f)


def now_or(at: Any) -> Any:
    """`--at` when given, else the clock: the one place a judging command reads it."""
    from datetime import datetime, timezone

    return at if at is not None else datetime.now(timezone.utc)


def audit_log_option(f: F) -> F:
    return click.option(
        "--audit-log",
        type=click.Path(dir_okay=False),
        envvar="PINCTL_AUDIT_LOG",
        help="Record each change as a JSON line in this file (env: PINCTL_AUDIT_LOG). "
        "[default: the pin file's audit_log]",
    )(f)


def journal(audit_log: str | None) -> Journal:
    """The audit hook for this run's pin-file edits: who ran what, and when."""
    import getpass
    from datetime import datetime, timezone
    from pathlib import Path

    from pinctl.audit.journal import Journal

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a bare container)
        import os

        user = str(os.getuid())
    root = click.get_current_context().find_root()
    argv = tuple((root.obj or {}).get("argv", ()))
    now = datetime.now(timezone.utc)
    return Journal(now, user, argv, Path(audit_log) if audit_log else None)


class Connection(NamedTuple):
    """What the connection options said; turns TARGET texts into targets and their options."""

    port: int | None
    servername: str | None
    connect_to: str | None
    family: int | None
    timeout: float
    proxy: str | None
    ca_file: str | None

    def targets(self, texts: Sequence[str]) -> list[Target]:
        from pinctl.net.targets import parse_target

        return [
            parse_target(t, port=self.port, servername=self.servername, connect_to=self.connect_to)
            for t in texts
        ]

    def options(self, target: Target) -> ConnectOptions:
        """Proxy choice as curl makes it (explicit, else the environment with NO_PROXY)."""
        import os

        from pinctl.net.tls import connect_options

        return connect_options(
            target, timeout=self.timeout, family=self.family, proxy=self.proxy, environ=os.environ
        )


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options of SPEC.md `fetch`, shared by `fetch` and `add`, handed to the command
    as one `Connection` keyword so each command does not rebuild targets and options."""
    decorators = [
        click.option("--port", type=click.IntRange(1, 65535), help="Port, when TARGET has none."),
        click.option(
            "--servername",
            metavar="NAME",
            help="SNI and name to check (default: the host; none for an IP address).",
        ),
        click.option(
            "--connect-to",
            metavar="ADDR[:PORT]",
            help="Dial this address instead, keeping the host for SNI and name checks.",
        ),
        click.option("-4", "family", flag_value=4, help="Use IPv4 only."),
        click.option("-6", "family", flag_value=6, help="Use IPv6 only."),
        click.option(
            "--timeout",
            type=TIMEOUT,
            default=10.0,
            show_default=True,
            help="Seconds for the whole connect and handshake.",
        ),
        click.option(
            "--proxy",
            metavar="URL",
            help="HTTP CONNECT proxy (env: HTTPS_PROXY, https_proxy; NO_PROXY honoured).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(exists=True, dir_okay=False),
            help="Trust the roots in this PEM file instead of the system store.",
        ),
    ]

    @functools.wraps(f)
    def bundled(**kwargs: Any) -> Any:
        connection = Connection(*(kwargs.pop(name) for name in Connection._fields))
        return f(connection=connection, **kwargs)

    for decorator in reversed(decorators):
        bundled = decorator(bundled)
    return bundled


def complete_hosts(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Host names from the pin file, for TAB completion of `verify`, `remove` and `export`.

    Runs on every TAB, so it reads the TOML with the standard library where there is one
    (tomlkit, three times slower to import, on Python 3.10) and never fails loudly: a
    missing or broken pin file simply completes nothing.
    """
    import os
    from pathlib import Path

    from pinctl.files import read_regular

    path = ctx.params.get("pin_file") or os.environ.get("PINCTL_PIN_FILE") or "pins.toml"
    try:  # a FIFO or a huge file must not hang the prompt: read as the pin file is read
        found = read_regular(Path(path), what="pin file", limit=8 << 20, remedy="")
        data = _toml(found[0].decode("utf-8")) if found else {}
        hosts = [str(h["host"]) for h in data.get("hosts", []) if isinstance(h, dict)]
    except Exception:  # completion must never print a traceback at the prompt
        return []
    return [h for h in dict.fromkeys(hosts) if h.startswith(incomplete)]


def _toml(text: str) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+; mypy checks 3.10
    except ModuleNotFoundError:
        import tomlkit

        return tomlkit.parse(text).unwrap()
    result: dict[str, Any] = tomllib.loads(text)
    return result
