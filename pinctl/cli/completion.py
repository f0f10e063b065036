"""`pinctl completion bash|zsh|fish`: the shell's TAB completion script, made by click.

The scripts call pinctl back on every TAB (with `_PINCTL_COMPLETE` set), so what they
propose is always the installed pinctl's own commands, options and choices.
"""

from __future__ import annotations

from typing import Any

import click

from pinctl.cli.common import CONTEXT_SETTINGS, Outcome

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_PINCTL_COMPLETE"


def completion_script(shell: str) -> str:
    """The script for `shell`, exactly as shipped in completions/ (ends with a newline)."""
    from click.shell_completion import get_completion_class

    from pinctl.cli import cli

    comp_cls = get_completion_class(shell)
    if comp_cls is None:  # SHELLS lists only shells click registers
        raise click.BadParameter(f"no completion for {shell}")
    return comp_cls(cli, {}, "pinctl", COMPLETE_VAR).source().rstrip("\n") + "\n"


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def command(shell: str) -> Outcome:
    """Print the TAB completion script for SHELL (bash, zsh or fish).

    It completes commands, options, fixed option values, file names and the
    host names of the pin file. Install it once, or load it in the shell's
    start-up file; it asks the installed pinctl on every TAB.

    \b
    Examples:
      pinctl completion bash > ~/.local/share/bash-completion/completions/pinctl
      eval "$(pinctl completion bash)"          # in ~/.bashrc
      pinctl completion zsh > ~/.zfunc/_pinctl  # with fpath+=(~/.zfunc)
      pinctl completion fish > ~/.config/fish/completions/pinctl.fish
    """
    return Outcome(completion_script(shell), _write_script)


def _write_script(script: Any, sink: Any) -> None:
    sink.out.write(script)
