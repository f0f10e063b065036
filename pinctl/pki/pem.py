"""Find the PEM blocks of a file in one pass, with RFC 7468's lax grammar.

The scanner pairs boundary lines in order instead of searching from each BEGIN for its
END: a file of a million BEGIN lines and no END then costs one pass, not one pass per
line. Boundary lines may carry trailing whitespace, as openssl accepts and some
published intermediates have.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pinctl.errors import InputError

# Patterns, not compiled objects: `re` compiles and caches them on first use, so a run
# that reads no PEM (DER input, --help, completion) does not pay for it at start-up.
_BOUNDARY = rb"^[ \t]*-----(BEGIN|END) ([^\r\n]*?)-----[ \t]*\r?$"
_LABEL = rb"[\x21-\x7e]+(?:[ -][\x21-\x7e]+)*"
_SHOWN_LABEL = 40


class PemBlock(NamedTuple):
    """One BEGIN ... END pair, with where it starts for messages. (A named tuple: `pin`
    and every trust-store read import this module, and a dataclass costs more to define.)"""

    label: bytes
    body: bytes
    """Everything between the boundary lines: encapsulated headers and base64."""
    start: int
    """Offset of the BEGIN line in the file."""

    def canonical(self) -> bytes:
        """The block rewritten with strict boundary lines, for parsers that want them."""
        body = self.body if self.body.endswith(b"\n") else self.body + b"\n"
        return b"-----BEGIN %s-----\n%s-----END %s-----\n" % (self.label, body, self.label)


def shown_label(label: bytes) -> str:
    """A label for an error message, cut short: a label is whatever the file says."""
    text = label.decode("ascii", "replace")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= _SHOWN_LABEL else text[: _SHOWN_LABEL - 3] + "..."


def shown_labels(blocks: list[PemBlock]) -> str:
    """The distinct labels of a file that held nothing pinctl reads: only the few labels
    it skips get this far (any other is refused where it is met), so all are shown."""
    return ", ".join(sorted({shown_label(b.label) for b in blocks})) or "none"


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def pem_blocks(name: str, data: bytes) -> list[PemBlock]:
    """Every complete block in order; a BEGIN without its END is an `InputError`."""
    blocks: list[PemBlock] = []
    open_label: bytes | None = None
    open_start = body_start = 0
    for match in re.finditer(_BOUNDARY, data, re.MULTILINE):
        kind, label = match.group(1), match.group(2)
        if kind == b"BEGIN":
            if open_label is not None:
                raise _truncated(name, data, open_label, open_start)
            open_label, open_start = label, match.start()
            body_start = match.end() + 1
        elif open_label is not None:
            if label != open_label:
                raise _truncated(name, data, open_label, open_start)
            body = data[body_start : match.start()]
            blocks.append(PemBlock(open_label, body, open_start))
            open_label = None
    if open_label is not None:
        raise _truncated(name, data, open_label, open_start)
    for block in blocks:
        if not re.fullmatch(_LABEL, block.label):
            raise InputError(
                f"{name}:{line_of(data, block.start)}: PEM label "
                f"'{shown_label(block.label)}' is not a valid label (RFC 7468 allows printable "
                "ASCII, with single spaces between words)"
            )
    return blocks


def _truncated(name: str, data: bytes, label: bytes, start: int) -> InputError:
    shown = shown_label(label)
    return InputError(
        f"{name}:{line_of(data, start)}: truncated PEM: BEGIN {shown} has no matching "
        f"END {shown} line; was the file cut short?"
    )
