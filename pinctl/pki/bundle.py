"""Files of certificates and nothing else: trust roots and saved chains.

`--ca-file`, a pin file's `ca_file`, `SSL_CERT_FILE`, the system store and `verify --chain`
all hold certificates only, so one reader serves them: a regular file of bounded size,
PEM blocks found by the linear scanner of `pinctl.pki.pem` (lax boundary lines included),
or one DER certificate. `pin`, which reads every kind of file, has its own reader
(`pinctl.pki.formats`); both refuse a damaged certificate naming file and line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import InputError
from pinctl.files import read_regular
from pinctl.pki.der import first_element
from pinctl.pki.pem import line_of, pem_blocks

if TYPE_CHECKING:
    from cryptography import x509

MAX_BUNDLE = 32 * 1024 * 1024
"""Far beyond any trust store (the Mozilla bundle is about 200 KiB), small enough that a
mistaken path is refused before it fills the memory."""
_CERTIFICATE_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}


def read_certificates(path: Path, *, what: str, remedy: str) -> tuple[x509.Certificate, ...]:
    """The certificates in the file at `path`, in file order; `what` names it in messages
    ("--ca-file", "--chain") and `remedy` says what the file should hold."""
    found = read_regular(Path(path), what=what, limit=MAX_BUNDLE, remedy=remedy)
    if found is None:
        raise InputError(f"cannot read {what} {path}: No such file or directory")
    return parse_certificates(found[0], f"{what} {path}", remedy)


def parse_certificates(data: bytes, name: str, remedy: str) -> tuple[x509.Certificate, ...]:
    from cryptography import x509

    with warnings.catch_warnings():
        # Some Mozilla roots have serial 0; cryptography warns, the anchor is still right.
        warnings.simplefilter("ignore")
        if b"-----BEGIN" not in data:
            if data[:1] == b"\x30":
                try:
                    return (_named(x509.load_der_x509_certificate(data)),)
                except ValueError as exc:
                    raise InputError(
                        f"{name}: unreadable DER certificate ({_reason(exc)})"
                    ) from None
            raise InputError(f"{name} holds no certificates; {remedy}")
        fast = _whole_bundle(data)
        if fast is not None:
            with contextlib.suppress(ValueError):  # else the reader below names the line
                return tuple(_named(cert) for cert in fast)
        certificates = []
        for block in pem_blocks(name, data):
            if block.label not in _CERTIFICATE_LABELS:
                continue  # a bundle may carry keys or CRLs beside its certificates
            where = f"{name}:{line_of(data, block.start)}"
            try:
                der = base64.b64decode(b"".join(block.body.split()), validate=True)
                if block.label == b"TRUSTED CERTIFICATE":
                    der = first_element(der)  # OpenSSL appends trust settings after it
                certificates.append(_named(x509.load_der_x509_certificate(der)))
            except (binascii.Error, ValueError) as exc:
                raise InputError(f"{where}: unreadable certificate ({_reason(exc)})") from None
    if not certificates:
        raise InputError(f"{name} holds no certificates; {remedy}")
    return tuple(certificates)


def _whole_bundle(data: bytes) -> tuple[x509.Certificate, ...] | None:
    """The common case in one call to cryptography's own reader (a system store of a
    hundred and more roots): used only when it provably read every block the file has,
    else None and the block-by-block reader decides, naming the line at fault."""
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    if len(found) != data.count(b"-----BEGIN ") or data.count(
        b"-----BEGIN CERTIFICATE-----\n"
    ) + data.count(b"-----BEGIN CERTIFICATE-----\r\n") != len(found):
        return None
    return tuple(found)


def _named(cert: x509.Certificate) -> x509.Certificate:
    from pinctl.pki.entries import decodable

    decodable(cert)
    return cert


def _reason(exc: Exception) -> str:
    from pinctl.pki.der import plain_reason

    return plain_reason(exc)  # words, not the Rust parser's debug text
