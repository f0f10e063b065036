"""Pins from local key material, for `add HOST --from FILE`: the next key an HSM team
hands over, a CA's published next intermediate. Nothing here connects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from pinctl.errors import InputError
from pinctl.pinfile.model import Level, PinEntry
from pinctl.pki.formats import MAX_INPUT, PassphraseProvider, read_source


def file_pins(
    files: Sequence[str],
    ask: PassphraseProvider,
    *,
    level: Level | None,
    backup: bool,
    note: str | None,
    expires: date | None,
) -> tuple[PinEntry, ...]:
    """One SPKI sha256 pin per certificate, key or CSR in `files`, in order, each once.

    Without `level`, a CA certificate is ``intermediate`` (``root`` when self-signed) and
    everything else, keys and CSRs included, ``leaf``."""
    pins: dict[object, PinEntry] = {}
    for name in files:
        for entry in read_source(name, _read(name), ("sha256",), ask):
            chosen = level or _level(entry.der)
            pin = PinEntry(
                entry.spki["sha256"],
                level=chosen,
                backup=backup,
                note=note or Path(name).name,
                expires=expires,
            )
            pins.setdefault(pin.identity, pin)
    if not pins:
        raise InputError(f"{', '.join(files)} holds no certificate, key or CSR to pin")
    return tuple(pins.values())


def _level(der: bytes | None) -> Level:
    if der is None:
        return "leaf"
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    if not ca:
        return "leaf"
    return "root" if cert.issuer == cert.subject else "intermediate"


def _read(name: str) -> bytes:
    try:
        with Path(name).open("rb") as handle:
            return handle.read(MAX_INPUT + 1)
    except OSError as exc:
        raise InputError(f"cannot read --from {name}: {exc.strerror or exc}") from None
