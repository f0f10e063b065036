"""Passphrases come from a file, an environment variable or a terminal: never from argv.

A command line is visible to every user of the machine (``ps``, /proc) and lands in
shell history, so pinctl has no ``--passphrase VALUE``. A file is read the way
``openssl -passin file:`` reads it (the first line, without its newline), so one
passphrase file works for pinctl and openssl alike.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pinctl.errors import PassphraseError, UsageError

MIN_LENGTH = 12
"""Characters below which a passphrase is too weak for keys kept for years (backups wait
offline until the day they are promoted; an attacker with the file has all that time)."""
MAX_TRIES = 3
"""How many times a terminal user may mistype the confirmation before pinctl gives up."""
_MAX_FILE = 64 * 1024


def read_passphrase(
    file: str | None,
    env: str | None,
    *,
    prompt: str,
    confirm: bool,
    required: bool,
    alternative: str | None = None,
) -> bytes | None:
    """The passphrase from `file`, else `env`, else a no-echo terminal prompt.

    Returns None only when no source is given, stdin is not a terminal and the caller
    can do without (`required` false). `alternative` names another way out, such as
    ``--no-encrypt``, for the message shown when a required passphrase cannot be had.
    """
    if file is not None and env is not None:
        raise UsageError(
            "give one passphrase source, --passphrase-file or --passphrase-env, not both"
        )
    if file is not None:
        return _nonempty(_from_file(Path(file)), f"passphrase file {file}")
    if env is not None:
        return _nonempty(_from_env(env), f"environment variable {env}")
    if _stdin_is_terminal():
        return _from_terminal(prompt, confirm=confirm)
    if not required:
        return None
    other = f", or {alternative}" if alternative else ""
    raise PassphraseError(
        "a passphrase is needed and stdin is not a terminal to ask on; "
        f"give --passphrase-file FILE or --passphrase-env VAR{other}"
    )


def too_short(secret: bytes) -> int | None:
    """The passphrase's length in characters when it is under `MIN_LENGTH`, else None."""
    length = len(secret.decode("utf-8", "replace"))
    return length if length < MIN_LENGTH else None


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _from_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise PassphraseError(
            f"cannot read passphrase file {path}: {exc.strerror or exc}"
        ) from None
    if len(data) > _MAX_FILE:
        # Cutting it would silently use a passphrase other than the one written down.
        raise PassphraseError(
            f"passphrase file {path} is larger than {_MAX_FILE >> 10} KiB; is it the right "
            "file? It should hold the passphrase on its first line"
        )
    return data.split(b"\n", 1)[0]


def _from_env(name: str) -> bytes:
    environb = getattr(os, "environb", None)
    if environb is not None:
        value: bytes | None = environb.get(os.fsencode(name))
    else:  # Windows has no bytes environment
        text = os.environ.get(name)
        value = None if text is None else text.encode("utf-8")
    if value is None:
        raise PassphraseError(
            f"environment variable {name} is not set; export it, or use --passphrase-file"
        )
    return value


def _nonempty(secret: bytes, where: str) -> bytes:
    if not secret:
        raise PassphraseError(
            f"the passphrase from {where} is empty; an empty passphrase protects nothing"
        )
    return secret


def _from_terminal(prompt: str, *, confirm: bool) -> bytes:
    for _ in range(MAX_TRIES):
        first = _ask(prompt)
        if not first:
            _tell("an empty passphrase protects nothing; type one, or press Ctrl-C to stop")
            continue
        if not confirm or _ask("Enter the same passphrase again: ") == first:
            return first
        _tell("the passphrases do not match; try again")
    raise PassphraseError(
        f"no usable passphrase after {MAX_TRIES} tries; "
        "give it with --passphrase-file or --passphrase-env instead"
    )


def _ask(prompt: str) -> bytes:
    """Read one line from the controlling terminal with echo off, or fail: never echo."""
    import getpass
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            text = getpass.getpass(prompt)
        except getpass.GetPassWarning:
            raise PassphraseError(
                "cannot turn off echo on this terminal to ask for the passphrase; "
                "give it with --passphrase-file or --passphrase-env"
            ) from None
        except EOFError:
            raise PassphraseError("no passphrase was entered (end of input)") from None
    return text.encode("utf-8")


def _tell(message: str) -> None:
    sys.stderr.write(f"pinctl: {message}\n")  # stderr is line-buffered since Python 3.9
