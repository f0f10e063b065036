"""Backup keys: spare key pairs whose pins go into the pin file before they are needed.

A backup pin is only useful if its key survives until the day it is promoted, so the
writing is paranoid: every target is checked before the slow part starts, private keys
are created 0600 from their first byte, nothing is ever overwritten, and a run that fails
midway removes what it wrote. The encryption is PKCS#8 PBES2 like cryptography's
`BestAvailableEncryption`, with a work factor fit for a key kept for years (see
`PBKDF2_ITERATIONS`); openssl, cryptography and `pinctl pin` read it.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

from pinctl import files
from pinctl.errors import FileExistsRefusal, InputError, PassphraseError, PinctlError, UsageError
from pinctl.pki.csr import CsrSpec, csr_pem, subject_text
from pinctl.pki.der import SEQUENCE, encode
from pinctl.pki.entries import KeyInfo, key_info, spki_der
from pinctl.pki.pins import Pin, compute

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes as PrivateKey,
    )

KeyType = Literal["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"]
KEY_TYPES: tuple[KeyType, ...] = get_args(KeyType)
WEAK_KEY_TYPES: dict[str, str] = dict.fromkeys(
    ("rsa-512", "rsa-768", "rsa-1024", "rsa-1536", "ec-p192", "ec-p224", "dsa"),
    "too weak for a key that must stay safe for years",
)
"""Types people ask for that pinctl refuses with a reason, not just "unknown"."""
MAX_COUNT = 100
PBKDF2_ITERATIONS = 600_000
"""OWASP's 2023 figure for PBKDF2-HMAC-SHA256; cryptography and openssl default to 2048."""

KEY_MODE = 0o600
PUBLIC_MODE = 0o644
DIR_MODE = 0o700

Passphrase = Callable[[], "bytes | None"]
Progress = Callable[[int, int], None]
"""Called with (number, count) before each key is generated."""


@dataclass(frozen=True)
class KeygenRequest:
    key_type: KeyType = "ec-p256"
    count: int = 2
    out_dir: Path = Path()
    prefix: str = "backup"
    csr: CsrSpec | None = None


@dataclass(frozen=True)
class BackupKey:
    number: int
    """N in ``PREFIX-N.key.pem``, from 1."""
    key_file: Path
    public_key_file: Path
    csr_file: Path | None
    key: KeyInfo
    pin: Pin
    """The sha256 SPKI pin, the form every client consumes."""


@dataclass(frozen=True)
class KeygenResult:
    key_type: KeyType
    out_dir: Path
    keys: tuple[BackupKey, ...]
    encrypted: bool
    subject: str | None = None
    """The CSRs' subject (RFC 4514), when CSRs were written."""
    recorded: Recorded | None = None
    """What recording the pins did (the pin file's change, with ``--host``)."""


class Recorded(Protocol):
    """The outcome of recording the new pins elsewhere: where, and for which host."""

    @property
    def path(self) -> Path: ...

    @property
    def label(self) -> str: ...


Record = Callable[[tuple[BackupKey, ...]], Recorded]
"""Records the new keys' pins (backup-keygen --host: in the pin file). It runs inside the
all-or-nothing step, so keys whose pins could not be recorded are removed again."""


def generate_backup_keys(
    request: KeygenRequest,
    passphrase: Passphrase | None,
    *,
    progress: Progress | None = None,
    record: Record | None = None,
) -> KeygenResult:
    """Generate, encrypt and write the keys, then record their pins; all or nothing.

    `passphrase` is asked only once every target is known to be free, so nobody types a
    passphrase for a run that cannot succeed; None means unencrypted keys, said explicitly.
    """
    _check_request(request)
    plan = _plan(request)
    secret: bytes | None = None
    if passphrase is not None:
        secret = passphrase()
        if not secret:
            raise PassphraseError("no passphrase was given; an unencrypted key needs --no-encrypt")
    made: list[tuple[BackupKey, list[tuple[Path, bytes, int]]]] = []
    for number, (key_file, public_file, csr_file) in enumerate(plan, start=1):
        if progress is not None:
            progress(number, request.count)
        private_key = _new_key(request.key_type)
        public_key = private_key.public_key()
        contents = [
            (key_file, _private_pem(private_key, secret), KEY_MODE),
            (public_file, _public_pem(private_key), PUBLIC_MODE),
        ]
        if csr_file is not None and request.csr is not None:
            contents.append((csr_file, csr_pem(private_key, request.csr), PUBLIC_MODE))
        key = BackupKey(
            number,
            key_file,
            public_file,
            csr_file,
            key_info(public_key),
            compute(spki_der(public_key)),
        )
        made.append((key, contents))
    with _all_or_nothing(request.out_dir) as written:
        for _key, contents in made:
            for path, data, mode in contents:
                _create(path, data, mode)
                written.append(path)
        recorded = record(tuple(k for k, _ in made)) if record is not None else None
    return KeygenResult(
        request.key_type,
        request.out_dir,
        tuple(key for key, _ in made),
        encrypted=secret is not None,
        subject=subject_text(request.csr.subject) if request.csr else None,
        recorded=recorded,
    )


def _check_request(request: KeygenRequest) -> None:
    if request.key_type not in KEY_TYPES:
        reason = WEAK_KEY_TYPES.get(request.key_type, "not a key type pinctl generates")
        raise UsageError(
            f"key type {request.key_type!r} is {reason}; use one of {', '.join(KEY_TYPES)}"
        )
    if not 1 <= request.count <= MAX_COUNT:
        raise UsageError(f"--count {request.count}: give a number from 1 to {MAX_COUNT}")
    prefix = request.prefix
    if not prefix or prefix in {".", ".."} or "/" in prefix or os.sep in prefix or "\0" in prefix:
        raise UsageError(
            f"--prefix {prefix!r} must be a plain file name part; put directories in --out-dir"
        )


def _plan(request: KeygenRequest) -> list[tuple[Path, Path, Path | None]]:
    """The files this run would write, once none exists and the directory can take them."""
    out_dir = request.out_dir
    plan = []
    for n in range(1, request.count + 1):
        stem = out_dir / f"{request.prefix}-{n}"
        csr = Path(f"{stem}.csr.pem") if request.csr is not None else None
        plan.append((Path(f"{stem}.key.pem"), Path(f"{stem}.pub.pem"), csr))
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise InputError(f"--out-dir {out_dir} is not a directory")
        taken = [p for paths in plan for p in paths if p is not None and os.path.lexists(p)]
        if taken:
            more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
            raise FileExistsRefusal(
                f"{taken[0]} already exists{more}; pinctl never overwrites a key file — "
                "move it away, or choose another --prefix or --out-dir"
            )
    existing = next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write keys into {out_dir}: {existing} is not a writable directory"
        )
    return plan


def _new_key(key_type: KeyType) -> PrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))


def _public_pem(private_key: PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def _private_pem(private_key: PrivateKey, secret: bytes | None) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    if secret is None:
        return private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    plain = private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    pem = _pem("ENCRYPTED PRIVATE KEY", _pbes2_encrypt(plain, secret))
    # A backup key that cannot be decrypted is found out on the worst day; check it now.
    back = load_pem_private_key(pem, secret)
    if spki_der(back.public_key()) != spki_der(private_key.public_key()):
        raise RuntimeError("encrypted key does not decrypt to the generated key")
    return pem


def _pbes2_encrypt(plain: bytes, secret: bytes) -> bytes:
    """EncryptedPrivateKeyInfo (RFC 5958) with PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC."""
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    salt, iv = os.urandom(16), os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), 32, salt, PBKDF2_ITERATIONS).derive(secret)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    kdf = _seq(
        _oid("1.2.840.113549.1.5.12"),  # PBKDF2
        _seq(
            encode(0x04, salt),
            _int(PBKDF2_ITERATIONS),
            _seq(_oid("1.2.840.113549.2.9"), encode(0x05, b"")),  # hmacWithSHA256
        ),
    )
    cipher = _seq(_oid("2.16.840.1.101.3.4.1.42"), encode(0x04, iv))  # aes256-CBC
    pbes2 = _seq(_oid("1.2.840.113549.1.5.13"), _seq(kdf, cipher))
    return _seq(pbes2, encode(0x04, encrypted))


def _seq(*items: bytes) -> bytes:
    return encode(SEQUENCE, b"".join(items))


def _int(value: int) -> bytes:
    return encode(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytearray()
    for arc in (40 * first + second, *rest):
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body.extend(reversed(chunk))
    return encode(0x06, bytes(body))


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""]).encode()


@contextlib.contextmanager
def _all_or_nothing(out_dir: Path) -> Iterator[list[Path]]:
    """Create `out_dir` (0700) as needed; on any failure remove what this run created."""
    created: list[Path] = []
    written: list[Path] = []
    try:
        for directory in reversed([out_dir, *out_dir.parents]):
            if not directory.exists() and str(directory) not in {"", "."}:
                try:
                    directory.mkdir(mode=DIR_MODE)
                except FileExistsError:
                    continue
                except OSError as exc:
                    raise InputError(
                        f"cannot create directory {directory}: {exc.strerror or exc}"
                    ) from None
                created.append(directory)
        yield written
    except BaseException as exc:
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        if isinstance(exc, PinctlError) and written:
            gone = f"{len(written)} file{'s' if len(written) != 1 else ''}"
            raise type(exc)(f"{exc}; removed the {gone} this run had written") from None
        raise


def _create(path: Path, data: bytes, mode: int) -> None:
    try:
        files.create_exclusive(path, data, mode=mode)
    except OSError as exc:  # create_exclusive reports its own; this is for the layers below
        reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
        raise InputError(f"cannot write {path}: {reason}") from None
