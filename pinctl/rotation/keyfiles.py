"""Whether a backup's key file, named by its note as backup-keygen writes it, still holds
the key of that pin."""

from __future__ import annotations

from pathlib import Path

from pinctl.errors import PinctlError
from pinctl.pinfile.model import PinEntry

SUFFIXES = (".pem", ".key", ".der", ".pub")


def named_file(note: str) -> bool:
    """A note naming a key file: what backup-keygen writes (``keys/backup-1.key.pem``)."""
    text = note.strip()
    return " " not in text and text.lower().endswith(SUFFIXES)


def key_file_problem(base: Path, entry: PinEntry) -> str | None:
    """Why `entry`'s key file does not back it, or None when it does (or names no file).

    An encrypted private key is judged by its public half beside it (NAME.pub.pem, which
    backup-keygen writes), so that `plan` needs no passphrase."""
    note = (entry.note or "").strip().split(" promoted ")[0]
    if not named_file(note):
        return None
    path = Path(note) if Path(note).is_absolute() else base / note
    if not path.is_file():
        return f"its key file {note} is missing"
    candidates = [path]
    if path.name.endswith(".key.pem"):
        candidates.insert(0, path.with_name(path.name[: -len(".key.pem")] + ".pub.pem"))
    from pinctl.pki.formats import read_source

    for candidate in candidates:
        try:
            entries = read_source(str(candidate), candidate.read_bytes(), details=False)
        except (OSError, PinctlError):
            continue
        pins = {e.spki.get(entry.pin.alg) for e in entries}
        if entry.pin in pins:
            return None
        return f"its key file {note} holds another key ({next(iter(pins))})"
    return None  # an encrypted key without its public half: present, not checkable
