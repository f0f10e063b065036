"""Read local files of every supported type into entries, detecting the type from content.

Extensions lie (a `.crt` that is DER, a `.pem` holding a key), so the bytes decide.
Every failure is an `InputError` naming the file and what was expected: parsers see
hostile input here, and a traceback is never an answer.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from pinctl.errors import InputError, PassphraseError
from pinctl.pki.der import csr_spki, first_element, plain_reason
from pinctl.pki.entries import Entry, EntryKind, certificate_entry, key_entry
from pinctl.pki.pem import PemBlock, line_of, pem_blocks, shown_label, shown_labels
from pinctl.pki.pins import HashAlg

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

    from pinctl.pki.sealed import Form, Unopened

PassphraseProvider = Callable[[], "bytes | None"]
"""Asked only when an input turns out to be encrypted; returns None when none can be had."""

MAX_INPUT = 64 * 1024 * 1024
EXPECTED = (
    "expected a certificate, public or private key or CSR (PEM or DER), "
    "a PEM bundle, or a PKCS#7 or PKCS#12 file"
)

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
) -> tuple[Entry, ...]:
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
    return tuple(entries)


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
        key: PublicKeyTypes | None,
        kind: EntryKind,
        subject: str | None = None,
        raw_spki: bytes | None = None,
        note: str | None = None,
    ) -> None:
        entry = key_entry(
            key, kind, len(self.entries), self.hashes, subject=subject, raw_spki=raw_spki, note=note
        )
        self.entries.append(entry)

    def _private(
        self, key: PrivateKeyTypes, der: bytes | Unopened | None, form: Form = "pkcs8-pem"
    ) -> None:
        """`der` is the key's unencrypted encoding, whose own SPKI wins over a re-derived one."""
        from pinctl.pki.sealed import Unopened, refuse_lossy
        from pinctl.pki.spki import KeySpki, private_key_spki

        if isinstance(der, Unopened):  # fails closed where re-deriving could give a wrong pin
            refuse_lossy(self.name, form, key, der)
            der = None
        public = key.public_key()
        stated = private_key_spki(der, public) if der is not None else KeySpki(None)
        self._key(public, "private_key", raw_spki=stated.der, note=stated.note)

    def _secret(self) -> bytes:
        if self._cached is None:
            try:
                self._cached = self._passphrase()
            except PassphraseError as exc:
                raise PassphraseError(f"{self.name} is encrypted: {exc}") from None
            if not self._cached:
                raise PassphraseError(
                    f"{self.name} is encrypted; give the passphrase with --passphrase-file "
                    "or --passphrase-env, or run on a terminal to be asked"
                )
        return self._cached

    def _wrong_passphrase(
        self, opened: bytes | Unopened | None = None, form: Form = "pkcs8-pem"
    ) -> PassphraseError:
        from pinctl.pki.sealed import wrong_passphrase

        return wrong_passphrase(self.name, opened, form)

    # PEM ---------------------------------------------------------------------------------

    def pem(self, data: bytes) -> list[Entry]:
        blocks = pem_blocks(self.name, data)
        for block in blocks:
            self._pem_block(block, data)
        if not self.entries:
            raise InputError(
                f"{self.name} has no certificate, key or CSR (PEM blocks: {shown_labels(blocks)})"
            )
        return self.entries

    def _pem_block(self, block: PemBlock, data: bytes) -> None:
        from cryptography import x509

        def where() -> str:  # counted only for a message: a bundle has hundreds of blocks
            return f"{self.name}:{line_of(data, block.start)}"

        label = block.label
        try:
            if label in _CERT_LABELS:
                der = _der_body(block.body, where)
                if label == b"TRUSTED CERTIFICATE":
                    der = first_element(der)  # OpenSSL appends trust settings after the certificate
                self._cert(x509.load_der_x509_certificate(der), der)
            elif label == b"PKCS7":
                for cert in _pkcs7(_der_body(block.body, where)):
                    self._cert(cert)
            elif label in (b"PUBLIC KEY", b"RSA PUBLIC KEY"):
                self._pem_public_key(block, where)
            elif label in (b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"):
                csr = x509.load_pem_x509_csr(block.canonical())
                self._key(csr.public_key(), "csr", csr.subject.rfc4514_string(), csr_spki(csr))
            elif label in _KEY_LABELS:
                self._pem_private_key(block, where)
            elif label not in _IGNORED_LABELS:
                raise InputError(
                    f"{where()}: PEM block '{shown_label(label)}' is not supported; {EXPECTED}"
                )
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{where()}: damaged PEM block '{shown_label(label)}' ({plain_reason(exc)})"
            ) from None

    def _pem_public_key(self, block: PemBlock, where: Callable[[], str]) -> None:
        from cryptography.hazmat.primitives import serialization

        if block.label == b"RSA PUBLIC KEY":
            self._key(serialization.load_pem_public_key(block.canonical()), "public_key")
            return
        raw = _der_body(block.body, where)
        try:
            key: PublicKeyTypes | None = serialization.load_der_public_key(raw)
        except Exception as exc:  # UnsupportedAlgorithm too: pinned from the SPKI bytes
            key = None
            if not _is_spki(raw):
                raise ValueError(plain_reason(exc)) from None
        self._key(key, "public_key", raw_spki=raw)

    def _pem_private_key(self, block: PemBlock, where: Callable[[], str]) -> None:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization

        from pinctl.pki.sealed import pem_plaintext, pkcs8_plaintext, unsupported_key

        whole = block.canonical()
        encrypted = block.label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in whole
        if not encrypted:
            try:
                key = serialization.load_pem_private_key(whole, password=None)
            except UnsupportedAlgorithm as exc:
                plain = _der_body(block.body, where)
                raise unsupported_key(where(), self.name, "pkcs8-pem", plain, exc) from None
            self._private(key, _der_body(block.body, where))
            return

        pkcs8 = block.label == b"ENCRYPTED PRIVATE KEY"
        form: Form = "pkcs8-pem" if pkcs8 else "legacy-pem"

        def opened() -> bytes | Unopened:
            if pkcs8:
                return pkcs8_plaintext(_der_body(block.body, where), self._secret())
            return pem_plaintext(block.body, self._secret())

        try:
            key = serialization.load_pem_private_key(whole, password=self._secret())
        except (ValueError, TypeError):
            raise self._wrong_passphrase(opened(), form) from None
        except UnsupportedAlgorithm as exc:  # after a right passphrase
            raise unsupported_key(where(), self.name, form, opened(), exc) from None
        self._private(key, opened(), form)

    # DER ---------------------------------------------------------------------------------

    def der(self, data: bytes) -> list[Entry]:
        from pinctl.pki.shapes import der_shape

        shape = der_shape(data)
        if shape in ("pkcs12", "encrypted-pkcs8"):
            self._der_encrypted(data, shape)
            return self.entries
        reasons: dict[str, str] = {}
        if data.startswith(b"\x30") and self._der_plain(data, reasons):
            return self.entries
        if shape is not None:
            raise InputError(self._refusal(data, shape, reasons))
        looks_text = all(32 <= b < 127 or b in b"\r\n\t" for b in data[:4096])
        what = "a text file without PEM blocks" if looks_text else "unrecognised binary data"
        raise InputError(f"{self.name} is {what}; {EXPECTED}")

    def _der_plain(self, data: bytes, reasons: dict[str, str]) -> bool:
        """Try each loader, most common first; `reasons` collects why each said no."""
        from cryptography import x509

        try:  # most DER files are certificates; the key loaders cost an import
            cert: x509.Certificate | None = x509.load_der_x509_certificate(data)
        except Exception as exc:  # not a certificate; try the other types
            reasons["certificate"] = plain_reason(exc)
            cert = None
        if cert is not None:
            return self._described("certificate", lambda: self._cert(cert, data))
        from cryptography.hazmat.primitives import serialization

        for load, kind in (
            (serialization.load_der_public_key, "public key"),
            (x509.load_der_x509_csr, "csr"),
            (lambda d: serialization.load_der_private_key(d, password=None), "private key"),
            (_pkcs7, "pkcs7"),
        ):
            try:
                loaded = load(data)
            except Exception as exc:
                reasons[kind] = plain_reason(exc)
                continue
            return self._described(kind, lambda: self._add_loaded(loaded, kind, data))  # noqa: B023 - called at once
        if _is_spki(data):  # a key cryptography cannot load is pinned from its SPKI bytes
            self._key(None, "public_key", raw_spki=data)
            return True
        return False

    def _described(self, kind: str, describe: Callable[[], None]) -> bool:
        """Loaders are lazy: a file they accept can still fail once it is described (what
        describes it raises no InputError of its own: every failure here is the file's)."""
        try:
            describe()
        except Exception as exc:
            what = _WORDS.get(kind, kind)
            raise InputError(
                f"{self.name}: damaged or unsupported DER {what} ({plain_reason(exc)})"
            ) from None
        return True

    def _add_loaded(self, loaded: object, kind: str, data: bytes) -> None:
        from cryptography import x509

        from pinctl.pki.spki import is_pkcs1_public

        if kind == "csr":
            assert isinstance(loaded, x509.CertificateSigningRequest)
            self._key(loaded.public_key(), "csr", loaded.subject.rfc4514_string(), csr_spki(loaded))
        elif kind == "pkcs7":
            for cert in loaded:  # type: ignore[attr-defined]
                self._cert(cert)
        elif kind == "private key":
            self._private(loaded, data)  # type: ignore[arg-type]
        else:  # a bare PKCS#1 RSAPublicKey is no SPKI: its pin is that of the RSA SPKI wrapping
            raw = None if is_pkcs1_public(data) else first_element(data)
            self._key(loaded, "public_key", raw_spki=raw)  # type: ignore[arg-type]

    def _refusal(self, data: bytes, shape: str, reasons: dict[str, str]) -> str:
        from pinctl.pki.shapes import key_algorithm

        reason = reasons.get(shape, "not readable")
        if shape == "private key":
            return (
                f"{self.name}: cannot read this DER private key {key_algorithm(data)} ({reason}); "
                "pinctl reads RSA, EC on named curves, Ed25519, Ed448, DSA and DH keys"
            )
        return f"{self.name}: damaged or unsupported DER {_WORDS.get(shape, shape)} ({reason})"

    def _der_encrypted(self, data: bytes, shape: str) -> None:
        """PKCS#12 and encrypted PKCS#8 need the passphrase; asked only when the shape fits."""
        from cryptography.hazmat.primitives import serialization

        if shape == "pkcs12":
            self._pkcs12(data)
            return
        from cryptography.exceptions import UnsupportedAlgorithm

        from pinctl.pki.sealed import pkcs8_plaintext, unsupported_key

        try:
            key = serialization.load_der_private_key(data, password=self._secret())
        except (ValueError, TypeError):
            opened = pkcs8_plaintext(data, self._secret())
            raise self._wrong_passphrase(opened, "pkcs8-der") from None
        except UnsupportedAlgorithm as exc:  # after a right passphrase
            opened = pkcs8_plaintext(data, self._secret())
            raise unsupported_key(self.name, self.name, "pkcs8-der", opened, exc) from None
        self._private(key, pkcs8_plaintext(data, self._secret()), "pkcs8-der")

    def _pkcs12(self, data: bytes) -> None:
        from cryptography.hazmat.primitives.serialization import pkcs12

        from pinctl.pki.pkcs12 import right_passphrase_refusal

        try:
            bundle = pkcs12.load_pkcs12(data, None)
        except Exception:
            secret = self._secret()
            try:
                bundle = pkcs12.load_pkcs12(data, secret)
            except Exception as exc:  # ValueError for both causes, UnsupportedAlgorithm, ...
                refused = right_passphrase_refusal(self.name, data, secret, exc)
                raise refused or self._wrong_passphrase() from None
        if bundle.cert is not None:
            self._cert(bundle.cert.certificate)
        for extra in bundle.additional_certs:
            self._cert(extra.certificate)
        if bundle.key is not None:  # its own certificate carries its SPKI as stated
            from pinctl.pki.pkcs12 import certified_spki, key_plaintext

            spki = certified_spki(bundle)
            if spki is None:  # else its bag, reopened
                plain = key_plaintext(data, self._cached or b"", bundle.key)
                self._private(bundle.key, plain, "pkcs12")
            else:
                self._key(bundle.key.public_key(), "private_key", raw_spki=spki)
        if not self.entries:
            raise InputError(f"{self.name} is a PKCS#12 file with no certificate or key")


_WORDS = {"csr": "CSR", "pkcs7": "PKCS#7 file"}


def _is_spki(data: bytes) -> bool:
    from pinctl.pki.spki import algorithm

    try:
        algorithm(data)
    except (ValueError, IndexError):
        return False
    return True


def _der_body(body: bytes, where: Callable[[], str]) -> bytes:
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where()}: PEM body is not valid base64; was the file edited?") from None


def _pkcs7(der: bytes) -> list[x509.Certificate]:
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.load_der_pkcs7_certificates(der)
