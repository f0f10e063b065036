"""The click layer: a lazy command group and the one error boundary.

Subcommands are imported only when run, so `pinctl --help` and every TAB completion
pay for click alone, not for cryptography, pyOpenSSL or rich.

SIGTERM (what a CI job's timeout sends) is handled as Ctrl-C is: it raises where the
program is, so every `finally` runs and no temporary file is left, then exits 143.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from pinctl import __version__
from pinctl.cli.common import CONTEXT_SETTINGS, Outcome
from pinctl.errors import ExitCode, PinctlError
from pinctl.net import interrupts

if TYPE_CHECKING:
    import signal as _signal
else:  # the same functions, without the enum wrappers `signal` builds at every start
    import _signal

# name -> (module under pinctl.cli, one-line summary shown by `pinctl --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "fetch": ("fetch", "Connect to hosts and show their chain and pins."),
    "pin": ("pin", "Derive pins from certificate, key and CSR files."),
    "add": ("add", "Fetch a host's chain and add its pins to the pin file."),
    "remove": ("remove", "Remove a host, or one of its pins, from the pin file."),
    "list": ("list", "Show the pin file's hosts and pins."),
    "verify": ("verify", "Check live hosts against the pin file (for CI)."),
    "backup-keygen": ("backup_keygen", "Generate spare key pairs whose pins are backups."),
    "plan": ("plan", "List what the pins need before the next key change."),
    "promote": ("promote", "Switch a host to its backup pin, retiring old pins."),
    "audit": ("audit", "Show or check the audit log of pin-file changes."),
    "export": ("export", "Write the pins in a client's format (OkHttp, Android, iOS, ...)."),
    "completion": ("completion", "Print a shell completion script."),
    "report": ("report", "Triage the pin-failure reports apps send (TrustKit, HPKP)."),
}

INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for Ctrl-C."""
TERMINATED = 128 + _signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was: a KeyboardInterrupt, so that every clean-up
    written for Ctrl-C (sockets closed, temporary files removed) runs for it too."""


class _Stopped(BaseException):
    """Carries a KeyboardInterrupt past click, which would print a blank line and turn it
    into a bare Abort, losing whether it was Ctrl-C or SIGTERM."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__()
        self.interrupt = interrupt


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Stopped(exc) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"pinctl.cli.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        if not any(p.name == "debug" for p in command.params):
            # `main` reads --debug wherever it is; each command need only accept it.
            command.params.append(
                click.Option(["--debug"], is_flag=True, hidden=True, expose_value=False)
            )
        return command

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Commands with their one-line summaries, without importing every command."""
        from click.shell_completion import CompletionItem

        names = [n for n in COMMANDS if n.startswith(incomplete)]
        items = [CompletionItem(n, help=COMMANDS[n][1]) for n in names]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="pinctl")
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks instead of one-line errors (also after the command).",
)
def cli(debug: bool) -> None:
    """TLS certificate pinning that fails closed.

    Fetch chains, derive pins, keep them in a reviewed pin file, verify live
    hosts against it in CI, generate backup keys and export the pins.

    \b
    Examples:
      pinctl fetch example.com
      pinctl pin cert.pem
      pinctl add api.example.com && pinctl verify
    """


def main(argv: list[str] | None = None) -> NoReturn:
    """Run pinctl and exit; the only place that turns errors into exit codes."""
    # A run lasts seconds and makes almost no reference cycles, while the commands' imports
    # allocate hundreds of thousands of objects that the default thresholds would scan
    # again and again during start-up.
    gc.set_threshold(100_000, 20, 20)
    if "_PINCTL_COMPLETE" in os.environ:  # a TAB: pinctl's own protocol, never click's
        from pinctl.cli.completion import answer

        sys.exit(answer(cli, os.environ))
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("PINCTL_DEBUG"))
    _handle_sigterm()
    interrupts.keep_dropped()
    sys.exit(_run(args, debug))


def _handle_sigterm() -> None:
    """Turn SIGTERM into `Terminated`, unless whoever started us chose to ignore it."""
    if _signal.getsignal(_signal.SIGTERM) == _signal.SIG_DFL:
        _signal.signal(_signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated


def _run(args: list[str], debug: bool) -> int:
    try:
        return _boundary(args, debug)
    except KeyboardInterrupt as exc:  # one that arrived while the boundary was reporting
        return _interrupted(exc)


def _boundary(args: list[str], debug: bool) -> int:
    try:
        rv: Any = cli.main(args=args, prog_name="pinctl", standalone_mode=False, obj={"argv": args})
        interrupts.raise_dropped()  # Ctrl-C came while the command ran, but Python lost it
        if isinstance(rv, Outcome):
            rv.write()
            return int(rv.exit_code)
        return 0 if rv is None else int(rv)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help(), err=True)
        return ExitCode.USAGE
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _error(f"{exc.format_message()}{hint}")
        return ExitCode.USAGE
    except click.ClickException as exc:
        _error(exc.format_message())
        return ExitCode.USAGE
    except _Stopped as exc:
        return _interrupted(exc.interrupt)
    except (click.Abort, KeyboardInterrupt) as exc:  # Ctrl-C at a prompt, or while writing
        return _interrupted(exc)
    except PinctlError as exc:
        if debug:
            raise
        _error(str(exc))
        return int(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`pinctl fetch ... | head`); say nothing more to it.
        _silence_stdout()
        return ExitCode.FAILED
    except Exception as exc:
        if debug:
            raise
        _error(
            f"internal error ({type(exc).__name__}: {exc}); "
            "re-run with --debug and report the traceback"
        )
        return ExitCode.FAILED


def _interrupted(exc: BaseException) -> int:
    if isinstance(exc, Terminated):
        _error("terminated")
        return TERMINATED
    if _on_terminal(sys.stderr):
        sys.stderr.write("\n")  # end the line the terminal echoed ^C on
    _error("interrupted")
    return INTERRUPTED


def _on_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _error(message: str) -> None:
    from pinctl.output.terminal import error_line

    try:
        sys.stderr.write(error_line(message))
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
