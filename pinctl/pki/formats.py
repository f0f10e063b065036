"""Read local files of every supported type into entries, detecting the type from content.

Extensions lie (a `.crt` that is DER, a `.pem` holding a key), so the bytes decide.
Every failure is an `InputError` naming the file and what was expected: parsers see
hostile input here, and a traceback is never an answer.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from pinctl.errors import InputError, PassphraseError
from pinctl.pki.der import children, csr_spki, first_element, tlv
from pinctl.pki.entries import Entry, EntryKind, SourceReport, certificate_entry, key_entry
from pinctl.pki.pins import HashAlg

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

PassphraseProvider = Callable[[], "bytes | None"]
"""Asked only when an input turns out to be encrypted; returns None when none can be had."""

MAX_INPUT = 64 * 1024 * 1024
EXPECTED = (
    "expected a certificate, public or private key or CSR (PEM or DER), "
    "a PEM bundle, or a PKCS#7 or PKCS#12 file"
)

_PEM_BLOCK = re.compile(
    rb"-----BEGIN (?P<label>[A-Z0-9 #]+)-----\r?\n(?P<body>.*?)-----END (?P=label)-----", re.DOTALL
)
_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_KEY_LABELS = {
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"DSA PRIVATE KEY",
}
_IGNORED_LABELS = {b"EC PARAMETERS", b"DH PARAMETERS", b"X509 CRL"}


def read_source(
    name: str,
    data: bytes,
    hashes: tuple[HashAlg, ...] = ("sha256",),
    passphrase: PassphraseProvider | None = None,
    *,
    details: bool = True,
) -> SourceReport:
    """Parse one file's bytes; `name` is used in messages and as the JSON ``source``.

    `details=False` leaves out names and dates, for output that shows only pins.
    """
    if not data.strip():
        raise InputError(f"{name} is empty; {EXPECTED}")
    if len(data) > MAX_INPUT:
        raise InputError(f"{name} is larger than {MAX_INPUT >> 20} MiB; {EXPECTED}")
    reader = _Reader(name, hashes, passphrase or (lambda: None), details)
    with warnings.catch_warnings():
        # Roots with serial 0 (some in the Mozilla bundle) make cryptography warn; pins are fine.
        warnings.simplefilter("ignore")
        entries = reader.pem(data) if b"-----BEGIN " in data else reader.der(data)
    return SourceReport(source=name, entries=tuple(entries))


class _Reader:
    def __init__(
        self, name: str, hashes: tuple[HashAlg, ...], passphrase: PassphraseProvider, details: bool
    ):
        self.name = name
        self.details = details
        self.hashes = hashes
        self._passphrase = passphrase
        self._cached: bytes | None = None
        self.entries: list[Entry] = []

    def _cert(self, cert: x509.Certificate, der: bytes | None = None) -> None:
        """`der` is the certificate exactly as read, when the input held it as such."""
        entry = certificate_entry(
            cert, len(self.entries), self.hashes, details=self.details, der=der
        )
        self.entries.append(entry)

    def _key(
        self,
        key: PublicKeyTypes,
        kind: EntryKind,
        subject: str | None = None,
        raw_spki: bytes | None = None,
    ) -> None:
        entry = key_entry(
            key, kind, len(self.entries), self.hashes, subject=subject, raw_spki=raw_spki
        )
        self.entries.append(entry)

    def _secret(self) -> bytes:
        if self._cached is None:
            self._cached = self._passphrase()
            if not self._cached:
                raise PassphraseError(
                    f"{self.name} is encrypted; give the passphrase with --passphrase-file "
                    "or --passphrase-env, or run on a terminal to be asked"
                )
        return self._cached

    def _wrong_passphrase(self) -> PassphraseError:
        return PassphraseError(
            f"cannot decrypt {self.name}: wrong passphrase, or the file is damaged"
        )

    # PEM ---------------------------------------------------------------------------------

    def pem(self, data: bytes) -> list[Entry]:
        blocks = list(_PEM_BLOCK.finditer(data))
        self._check_truncated(data, blocks)
        for block in blocks:
            self._pem_block(block.group("label"), block)
        if not self.entries:
            labels = ", ".join(sorted({b.group("label").decode() for b in blocks})) or "none"
            raise InputError(f"{self.name} has no certificate, key or CSR (PEM blocks: {labels})")
        return self.entries

    def _check_truncated(self, data: bytes, blocks: list[re.Match[bytes]]) -> None:
        complete = {b.start() for b in blocks}
        for begin in _PEM_BEGIN.finditer(data):
            if begin.start() not in complete:
                line = data.count(b"\n", 0, begin.start()) + 1
                label = begin.group(1).decode()
                raise InputError(
                    f"{self.name}:{line}: truncated PEM: BEGIN {label} has no matching "
                    f"END {label} line; was the file cut short?"
                )

    def _pem_block(self, label: bytes, block: re.Match[bytes]) -> None:
        from cryptography import x509

        def where() -> str:  # counted only for a message: a bundle has hundreds of blocks
            line = block.string.count(b"\n", 0, block.start()) + 1
            return f"{self.name}:{line}"

        whole = block.group(0)
        try:
            if label in _CERT_LABELS:
                der = _der_body(block.group("body"), where)
                if label == b"TRUSTED CERTIFICATE":
                    der = first_element(der)  # OpenSSL appends trust settings after the certificate
                self._cert(x509.load_der_x509_certificate(der), der)
            elif label == b"PKCS7":
                for cert in _pkcs7(_der_body(block.group("body"), where)):
                    self._cert(cert)
            elif label in (b"PUBLIC KEY", b"RSA PUBLIC KEY"):
                from cryptography.hazmat.primitives import serialization

                key = serialization.load_pem_public_key(whole)
                raw = _der_body(block.group("body"), where) if label == b"PUBLIC KEY" else None
                self._key(key, "public_key", raw_spki=raw)
            elif label in (b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"):
                csr = x509.load_pem_x509_csr(whole)
                self._key(csr.public_key(), "csr", csr.subject.rfc4514_string(), csr_spki(csr))
            elif label in _KEY_LABELS:
                self._key(self._pem_private_key(whole, label).public_key(), "private_key")
            elif label not in _IGNORED_LABELS:
                raise InputError(
                    f"{where()}: PEM block '{label.decode()}' is not supported; {EXPECTED}"
                )
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{where()}: damaged PEM block '{label.decode()}' ({_reason(exc)})"
            ) from None

    def _pem_private_key(self, whole: bytes, label: bytes) -> PrivateKeyTypes:
        from cryptography.hazmat.primitives import serialization

        encrypted = label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in whole
        if not encrypted:
            return serialization.load_pem_private_key(whole, password=None)
        try:
            return serialization.load_pem_private_key(whole, password=self._secret())
        except (ValueError, TypeError):
            raise self._wrong_passphrase() from None

    # DER ---------------------------------------------------------------------------------

    def der(self, data: bytes) -> list[Entry]:
        for attempt in (self._der_plain, self._der_encrypted):
            if attempt(data):
                return self.entries
        looks_text = all(32 <= b < 127 or b in b"\r\n\t" for b in data[:4096])
        what = "a text file without PEM blocks" if looks_text else "unrecognised binary data"
        raise InputError(f"{self.name} is {what}; {EXPECTED}")

    def _der_plain(self, data: bytes) -> bool:
        from cryptography import x509

        if not data.startswith(b"\x30"):
            return False
        try:  # most DER files are certificates; the key loaders cost an import
            cert: x509.Certificate | None = x509.load_der_x509_certificate(data)
        except Exception:  # not a certificate; try the other types
            cert = None
        if cert is not None:
            self._cert(cert, data)
            return True
        from cryptography.hazmat.primitives import serialization

        for load, kind in (
            (serialization.load_der_public_key, "public_key"),
            (x509.load_der_x509_csr, "csr"),
            (lambda d: serialization.load_der_private_key(d, password=None), "private_key"),
            (_pkcs7, "pkcs7"),
        ):
            try:
                loaded = load(data)
            except Exception:  # noqa: S112 - not this type; try the next loader
                continue
            self._add_loaded(loaded, kind, data)
            return True
        return False

    def _add_loaded(self, loaded: object, kind: str, data: bytes) -> None:
        from cryptography import x509

        if kind == "csr":
            assert isinstance(loaded, x509.CertificateSigningRequest)
            self._key(loaded.public_key(), "csr", loaded.subject.rfc4514_string(), csr_spki(loaded))
        elif kind == "pkcs7":
            for cert in loaded:  # type: ignore[attr-defined]
                self._cert(cert)
        elif kind == "private_key":
            self._key(loaded.public_key(), "private_key")  # type: ignore[attr-defined]
        else:
            self._key(loaded, "public_key", raw_spki=first_element(data))  # type: ignore[arg-type]

    def _der_encrypted(self, data: bytes) -> bool:
        """PKCS#12 and encrypted PKCS#8 need the passphrase; ask only if the shape fits."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12

        shape = _der_shape(data)
        if shape == "pkcs12":
            try:
                bundle = pkcs12.load_pkcs12(data, None)
            except Exception:
                try:
                    bundle = pkcs12.load_pkcs12(data, self._secret())
                except (ValueError, TypeError):
                    raise self._wrong_passphrase() from None
            if bundle.cert is not None:
                self._cert(bundle.cert.certificate)
            for extra in bundle.additional_certs:
                self._cert(extra.certificate)
            if bundle.key is not None:
                self._key(bundle.key.public_key(), "private_key")
            if not self.entries:
                raise InputError(f"{self.name} is a PKCS#12 file with no certificate or key")
            return True
        if shape == "encrypted-pkcs8":
            try:
                key = serialization.load_der_private_key(data, password=self._secret())
            except (ValueError, TypeError):
                raise self._wrong_passphrase() from None
            self._key(key.public_key(), "private_key")
            return True
        return False


def _der_body(body: bytes, where: Callable[[], str]) -> bytes:
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where()}: PEM body is not valid base64; was the file edited?") from None


def _pkcs7(der: bytes) -> list[x509.Certificate]:
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.load_der_pkcs7_certificates(der)


_PBE_OID_PREFIXES = (
    bytes.fromhex("2a864886f70d01050d"),  # PBES2
    bytes.fromhex("2a864886f70d010c01"),  # PKCS#12 PBE
    bytes.fromhex("2a864886f70d0105"),  # PKCS#5 v1 PBE
)


def _der_shape(data: bytes) -> str | None:
    """Tell PKCS#12 and encrypted PKCS#8 apart by their ASN.1 outline, before any passphrase."""
    try:
        tag, start, end = tlv(data, 0)
        if tag != 0x30:
            return None
        kids = [(t, vs, ve) for t, _, vs, ve in children(data, start, end)]
        if len(kids) >= 2 and kids[0][0] == 0x02 and data[kids[0][1] : kids[0][2]] == b"\x03":
            return "pkcs12"
        if len(kids) == 2 and kids[0][0] == 0x30 and kids[1][0] == 0x04:
            alg = [(t, vs, ve) for t, _, vs, ve in children(data, kids[0][1], kids[0][2])]
            if alg and alg[0][0] == 0x06:
                oid = data[alg[0][1] : alg[0][2]]
                if oid.startswith(_PBE_OID_PREFIXES):
                    return "encrypted-pkcs8"
    except ValueError:
        return None
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).split("\n")[0].strip() or type(exc).__name__
    return text[:160]
