"""Renderers for `backup-keygen`: the new pins on stdout, where the keys went on stderr."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pinctl.output.terminal import Sink
from pinctl.output.terminal import table as terminal_table
from pinctl.pki.keygen import BackupKey, KeygenResult

if TYPE_CHECKING:
    from rich.status import Status


def _notes(result: KeygenResult, sink: Sink) -> None:
    """The pin file change always; the storage reminder only for a person at a terminal."""
    if result.recorded is not None:
        count = len(result.keys)
        sink.note(
            f"added {count} backup pin{'s' if count != 1 else ''} for {result.recorded.label} "
            f"to {result.recorded.path}"
        )
    if not sink.err_tty:
        return
    where = result.out_dir if str(result.out_dir) not in {"", "."} else "the current directory"
    state = "encrypted with your passphrase" if result.encrypted else "NOT encrypted"
    sink.note(f"The private keys in {where} are {state} (mode 0600).")
    sink.note(
        "Move them to offline or HSM-backed storage, apart from the passphrase and from "
        "the servers whose keys they back up."
    )


def _columns(key: BackupKey, result: KeygenResult) -> list[str]:
    row = [str(key.key_file), str(key.public_key_file)]
    if result.subject is not None:
        row.append(str(key.csr_file))
    return [*row, result.key_type, str(key.pin)]


def _headers(result: KeygenResult) -> list[str]:
    csr = ["csr"] if result.subject is not None else []
    return ["private key", "public key", *csr, "type", "pin (spki sha256)"]


def render_text(result: KeygenResult, sink: Sink) -> None:
    """Aligned plain columns: stable for logs and diffs."""
    rows = [_headers(result), *(_columns(key, result) for key in result.keys)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        sink.out.write("  ".join(cells).rstrip() + "\n")
    _notes(result, sink)


def render_table(result: KeygenResult, sink: Sink) -> None:
    if not sink.out_tty:
        render_text(result, sink)
        return

    table = terminal_table(_title(result))
    table.add_column("private key", overflow="fold")
    table.add_column("pin (spki sha256)", no_wrap=True)  # a folded pin gets pasted broken
    for key in result.keys:
        table.add_row(str(key.key_file), str(key.pin))
    sink.console().print(table)
    _notes(result, sink)


def _title(result: KeygenResult) -> str:
    count = len(result.keys)
    state = "encrypted" if result.encrypted else "unencrypted"
    beside = ".pub.pem and .csr.pem" if result.subject is not None else ".pub.pem"
    plural = "s" if count != 1 else ""
    return f"{count} {state} {result.key_type} backup key{plural}, each with its {beside}"


def result_json(result: KeygenResult) -> dict[str, Any]:
    return {
        "type": result.key_type,
        "encrypted": result.encrypted,
        "out_dir": str(result.out_dir),
        "subject": result.subject,
        "host": None if result.recorded is None else result.recorded.label,
        "pin_file": None if result.recorded is None else str(result.recorded.path),
        "keys": [
            {
                "number": key.number,
                "key_file": str(key.key_file),
                "public_key_file": str(key.public_key_file),
                "csr_file": None if key.csr_file is None else str(key.csr_file),
                "key": {"type": key.key.type, "bits": key.key.bits},
                "spki": {key.pin.alg: str(key.pin)},
            }
            for key in result.keys
        ],
    }


def render_json(result: KeygenResult, sink: Sink) -> None:
    sink.write_json(result_json(result))
    _notes(result, sink)


def render_pins(result: KeygenResult, sink: Sink) -> None:
    sink.out.write("".join(f"{key.pin}\n" for key in result.keys))
    _notes(result, sink)


RENDERERS: dict[str, Callable[[KeygenResult, Sink], None]] = {
    "table": render_table,
    "json": render_json,
    "pins": render_pins,
}


@contextlib.contextmanager
def progress(key_type: str) -> Iterator[Callable[[int, int], None] | None]:
    """A spinner on a terminal's stderr while RSA keys are generated, which takes seconds.

    It starts at the first key, not before: the passphrase prompt comes first and must
    have the terminal to itself.
    """
    sink = Sink(sys.stdout, sys.stderr)
    if not key_type.startswith("rsa") or not sink.err_tty:
        yield None
        return
    console = sink.console(stderr=True)
    status: Status | None = None

    def update(number: int, count: int) -> None:
        nonlocal status
        text = f"generating {key_type} key {number} of {count}"
        if status is None:
            status = console.status(text)
            status.start()
        else:
            status.update(text)

    try:
        yield update
    finally:
        if status is not None:
            status.stop()
