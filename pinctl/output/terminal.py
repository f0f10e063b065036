"""Where output goes, and whether it may be coloured: the only terminal knowledge."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Sink:
    """stdout for data, stderr for messages; tables and colour only on a terminal."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    @property
    def out_tty(self) -> bool:
        return _isatty(self.out)

    @property
    def err_tty(self) -> bool:
        return _isatty(self.err)

    @property
    def color(self) -> bool:
        """NO_COLOR (any value) and TERM=dumb turn colour off, as no-color.org asks."""
        return self.out_tty and _colour_allowed()

    @property
    def err_color(self) -> bool:
        """Colour on stderr follows stderr's terminal, not stdout's (`verify -o json | jq`)."""
        return self.err_tty and _colour_allowed()

    def write_json(self, document: object) -> None:
        """One JSON document on stdout, so `pinctl ... -o json | jq` always parses."""
        import json  # only the json renderers pay for it

        self.out.write(json.dumps(document, indent=2) + "\n")

    def error(self, message: str) -> None:
        """A failure beside the result (the result is still written); see `error_line`."""
        self.err.write(error_line(message))
        self.err.flush()

    def warn(self, message: str) -> None:
        self.err.write(f"pinctl: warning: {message}\n")
        self.err.flush()

    def note(self, message: str) -> None:
        self.err.write(f"{message}\n")
        self.err.flush()

    def console(self, *, stderr: bool = False) -> Console:
        """A rich console that never interprets attacker-controlled text as markup."""
        from rich.console import Console

        return Console(
            file=self.err if stderr else self.out,
            markup=False,
            emoji=False,
            highlight=False,
            no_color=not (self.err_color if stderr else self.color),
            soft_wrap=False,
        )


def table(title: str | None = None, *, show_header: bool = True) -> Any:
    """The one table style of every command on a terminal: a bold left title, bold column
    names over a single rule, no frame (so nothing but the data is copied with a pin)."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_header=show_header,
        header_style="bold",
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
    )


def _colour_allowed() -> bool:
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def printable(text: str) -> str:
    """Escape control and format characters: subjects and server errors are attacker text.

    A certificate subject with a newline could forge a line of output ("validation:
    trusted"), and one with ESC could drive the terminal; escaped, both show as data.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code <= 0xFF
        else f"\\u{code:04x}"
        if code <= 0xFFFF
        else (f"\\U{code:08x}")
    )


def error_line(message: str) -> str:
    """The one form of every error pinctl prints: ``pinctl: error: ...`` on a single line.

    Whitespace is folded, so a multi-line library message cannot break the one-line rule,
    and control characters are escaped: a server's words end up in these messages.
    """
    return f"pinctl: error: {printable(' '.join(message.split()))}\n"
