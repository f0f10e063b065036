"""One error family: every failure a user can cause carries its exit code and a remedy.

The CLI boundary turns a `PinctlError` into a single ``pinctl: error: ...`` line;
anything else is a bug and is reported as an internal error.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses, as fixed by SPEC.md section 2."""

    OK = 0
    FAILED = 1
    """A check failed (verify), or an internal error."""
    USAGE = 2
    """Bad arguments, a bad input file or an invalid pin file; nothing was contacted."""
    UNREACHABLE = 3
    """Nothing failed, but some target could not be reached or checked."""


class PinctlError(Exception):
    """A failure the user can act on; `str()` is the one-line diagnosis with its remedy."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(PinctlError):
    """An option or argument that cannot work as given."""


class InputError(PinctlError):
    """A file, pin or value that is malformed or of the wrong type."""


class PinFormatError(InputError):
    """A pin in any spelling that cannot be read, or that is a known non-pin."""


class PassphraseError(InputError):
    """A missing or wrong passphrase for an encrypted input."""


class PinFileError(InputError):
    """An invalid pin file; the message names the file and the line."""


class FileExistsRefusal(InputError):
    """pinctl never overwrites a file it was asked to create."""


class ConnectError(PinctlError):
    """A target that could not be reached or did not complete a TLS handshake.

    `status` is the verify status it maps to: ``unreachable``, ``timeout`` or ``tls-error``.
    """

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, status: str = "unreachable", *, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        """True for refused or reset connections, the only ones `verify --retries` repeats."""
