"""The plaintext encoding of an encrypted private key, for reading its SPKI as stated.

cryptography decrypts a key into an object and keeps no plaintext; the object has lost
what it does not model (RSA-PSS parameters, explicit curves). So once cryptography has
accepted the passphrase, the envelope is opened again here: PKCS#8 PBES2 with PBKDF2 or
scrypt and AES-CBC or DES-EDE3-CBC, PBES1 with the PKCS#12 KDF and 3-key 3DES, and the
legacy PEM ``DEK-Info`` form with AES or 3DES. Any other envelope is `Unopened`, and
`refuse_lossy` turns it into an error for the keys whose re-derivation can be wrong.
The PKCS#12 KDF lives here too: PBES1 needs it, and the PKCS#12 MAC check shares it.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pinctl.errors import InputError, PassphraseError
from pinctl.pki.der import elements, oid_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from cryptography.hazmat.primitives.ciphers import CipherAlgorithm

_PBES2 = bytes.fromhex("2a864886f70d01050d")
_PBKDF2 = bytes.fromhex("2a864886f70d01050c")
_SCRYPT = bytes.fromhex("2b06010401da47040b")
_PBE_SHA1_3DES = bytes.fromhex("2a864886f70d010c0103")
_PRFS = {
    bytes.fromhex("2a864886f70d0207"): "SHA1",
    bytes.fromhex("2a864886f70d0208"): "SHA224",
    bytes.fromhex("2a864886f70d0209"): "SHA256",
    bytes.fromhex("2a864886f70d020a"): "SHA384",
    bytes.fromhex("2a864886f70d020b"): "SHA512",
}
_CIPHERS = {  # OID: (name, key size); AES has 16-byte blocks, 3DES 8-byte ones
    bytes.fromhex("608648016503040102"): ("AES-128-CBC", 16),
    bytes.fromhex("608648016503040116"): ("AES-192-CBC", 24),
    bytes.fromhex("60864801650304012a"): ("AES-256-CBC", 32),
    bytes.fromhex("2a864886f70d0307"): ("DES-EDE3-CBC", 24),
}
_PEM_CIPHERS = dict(_CIPHERS.values())
_NAMES = {  # for naming an envelope pinctl cannot reopen
    _PBKDF2: "PBKDF2",
    _SCRYPT: "scrypt",
    bytes.fromhex("2a864886f70d010c0101"): "PBES1 pbeWithSHAAnd128BitRC4",
    bytes.fromhex("2a864886f70d010c0102"): "PBES1 pbeWithSHAAnd40BitRC4",
    bytes.fromhex("2a864886f70d010c0104"): "PBES1 pbeWithSHAAnd2-KeyTripleDES-CBC",
    bytes.fromhex("2a864886f70d010c0105"): "PBES1 pbeWithSHAAnd128BitRC2-CBC",
    bytes.fromhex("2a864886f70d010c0106"): "PBES1 pbeWithSHAAnd40BitRC2-CBC",
    bytes.fromhex("2a864886f70d01050a"): "PBES1 pbeWithSHA1AndDES-CBC",
    bytes.fromhex("2a864886f70d010503"): "PBES1 pbeWithMD5AndDES-CBC",
    bytes.fromhex("2a864886f70d010506"): "PBES1 pbeWithMD5AndRC2-CBC",
    bytes.fromhex("2a864886f70d01050b"): "PBES1 pbeWithSHA1AndRC2-CBC",
    bytes.fromhex("2b0e030207"): "DES-CBC",
    bytes.fromhex("2a864886f70d0302"): "RC2-CBC",
    bytes.fromhex("2a83088c9a4b3d01010102"): "CAMELLIA-128-CBC",
    bytes.fromhex("2a83088c9a4b3d01010103"): "CAMELLIA-192-CBC",
    bytes.fromhex("2a83088c9a4b3d01010104"): "CAMELLIA-256-CBC",
}
_MAX_ITERATIONS = 10_000_000
KEY, IV, MAC = 1, 2, 3
"""The purposes (ID bytes) of the PKCS#12 KDF (RFC 7292 B.3): a cipher key, its IV, a MAC key."""
Form = Literal["pkcs8-pem", "pkcs8-der", "legacy-pem", "pkcs12"]
_DECRYPT = {  # the openssl command that writes the key unencrypted, as it is stated
    "pkcs8-pem": "openssl pkcs8 -in {} -out plain.pem",
    "pkcs8-der": "openssl pkcs8 -inform DER -in {} -out plain.pem",
    "legacy-pem": "openssl pkey -in {} -out plain.pem",
    "pkcs12": "openssl pkcs12 -nocerts -nodes -in {} -out plain.pem",
}
_PUBLIC = {  # the openssl command that prints its public key, and writes nothing secret
    "pkcs8-pem": "openssl pkey -in {} -pubout",
    "pkcs8-der": "openssl pkey -inform DER -in {} -pubout",
    "legacy-pem": "openssl pkey -in {} -pubout",
}
_LEGACY = ("RC2", "RC4", "DES-CBC")  # ciphers openssl 3 reads only with its legacy provider
# Bounds on the work a file may ask of the reopening KDF. openssl, which opened the key
# first, already refuses scrypt needing over 32 MiB (128 * r * N), so N stays far below
# its bound here; r * p costs time, not memory, and is bounded by this check alone.
_MAX_SCRYPT_N = 1 << 22
_MAX_SCRYPT_RP = 1 << 10


@dataclass(frozen=True)
class Unopened:
    """An envelope pinctl does not reopen, though cryptography may have decrypted it."""

    envelope: str
    """Its name for a message: ``PBES2 (PBKDF2, RC2-CBC)``, ``PBES1 ...``, ``PKCS#12``."""
    tried: bool = True
    """False when pinctl has no code for its cipher, so the passphrase was never tried: a
    failure of cryptography's may then be that cipher rather than the passphrase."""


def pkcs8_plaintext(der: bytes, passphrase: bytes) -> bytes | Unopened:
    """The PrivateKeyInfo inside an EncryptedPrivateKeyInfo."""
    try:
        (_, alg_id, _), (_, _, sealed) = elements(der)
        (_, _, oid), (_, params, _) = elements(alg_id)
    except (ValueError, IndexError):
        return Unopened("an unreadable PKCS#8 envelope")
    if oid == _PBE_SHA1_3DES:
        return _pbes1(params, sealed, passphrase)
    if oid != _PBES2:
        return Unopened(_NAMES.get(oid, f"encryption {oid_text(oid)}"), tried=False)
    try:
        (_, kdf, _), (_, scheme, _) = elements(params)
        (_, _, kdf_oid), (_, kdf_params, _) = elements(kdf)
        (_, _, cipher_oid), (_, _, iv) = elements(scheme)
    except (ValueError, IndexError):
        return Unopened("an unreadable PBES2 envelope")
    kdf_name = _NAMES.get(kdf_oid, oid_text(kdf_oid))
    name, size = _CIPHERS.get(cipher_oid, (_NAMES.get(cipher_oid, oid_text(cipher_oid)), 0))
    unopened = Unopened(f"PBES2 ({kdf_name}, {name})", tried=bool(size))
    if not size:
        return unopened
    try:
        key = _pbes2_key(kdf_oid, kdf_params, size, passphrase)
    except (ValueError, IndexError):
        key = None
    plain = _cbc(_cipher(name, key), iv, sealed) if key is not None else None
    return unopened if plain is None else plain


def pem_plaintext(body: bytes, passphrase: bytes) -> bytes | Unopened:
    """The DER inside a legacy encrypted PEM body (``Proc-Type: 4,ENCRYPTED``)."""
    import base64
    import binascii

    head, _, data = body.replace(b"\r\n", b"\n").partition(b"\n\n")
    info = next((line for line in head.split(b"\n") if line.startswith(b"DEK-Info:")), None)
    if info is None:
        return Unopened("a PEM encryption without DEK-Info")
    cipher, _, iv_hex = info.removeprefix(b"DEK-Info:").strip().partition(b",")
    name = cipher.decode("ascii", "replace").upper()
    unopened = Unopened(f"PEM encryption {name}")
    size = _PEM_CIPHERS.get(name)
    try:
        iv = bytes.fromhex(iv_hex.decode("ascii"))
        sealed = base64.b64decode(b"".join(data.split()), validate=True)
    except (ValueError, binascii.Error):
        return unopened
    if size is None:
        return Unopened(unopened.envelope, tried=False)
    if len(iv) < 8:
        return unopened
    key, block = b"", b""
    while len(key) < size:  # OpenSSL's EVP_BytesToKey with MD5, one round, salt = IV[:8]
        block = hashlib.md5(block + passphrase + iv[:8], usedforsecurity=False).digest()
        key += block
    plain = _cbc(_cipher(name, key[:size]), iv, sealed)
    return unopened if plain is None else plain


def decrypt_command(name: str, form: Form, unopened: Unopened, *, public: bool = False) -> str:
    """The openssl command that writes the key in file `name` unencrypted, as stated; with
    `public`, the one that prints only its public key (an SPKI pinctl pins as it is)."""
    import shlex

    template = _PUBLIC[form] if public else _DECRYPT[form]
    decrypt = template.format(shlex.quote(name))
    if any(old in unopened.envelope for old in _LEGACY):
        legacy = "-legacy" if form == "pkcs12" else "-provider legacy -provider default"
        decrypt = decrypt.replace(" -in ", f" {legacy} -in ")
    return decrypt


def wrong_passphrase(name: str, opened: bytes | Unopened | None, form: Form) -> PassphraseError:
    """cryptography could not decrypt file `name`; `opened` is pinctl's own try of it. An
    envelope pinctl has no code for may hold a cipher that cryptography lacks too, so the
    message names it and the way out, with the passphrase the user already has."""
    if isinstance(opened, Unopened) and not opened.tried:
        command = decrypt_command(name, form, opened, public=True)
        return PassphraseError(
            f"{name}: cannot decrypt it: wrong passphrase, or an encryption pinctl does not "
            f"read ({opened.envelope}); if the passphrase is right, run "
            f"`{command} | pinctl pin -`"
        )
    return PassphraseError(f"{name}: cannot decrypt it: wrong passphrase, or the file is damaged")


def unsupported_key(
    where: str, name: str, form: Form, plain: bytes | Unopened | None, exc: Exception
) -> InputError:
    """A private key of an algorithm cryptography cannot load (an SM2 key, say), in file
    `name`. Its public key pins all the same, by its SPKI bytes, so the message gives the
    openssl command that prints it; `plain` is the key's unencrypted encoding, if known,
    which names the algorithm."""
    from pinctl.pki.der import plain_reason
    from pinctl.pki.shapes import key_algorithm

    kind = f" {key_algorithm(plain)}" if isinstance(plain, bytes) else ""
    envelope = plain if isinstance(plain, Unopened) else Unopened("")  # names a legacy cipher
    command = decrypt_command(name, form, envelope, public=True)
    return InputError(
        f"{where}: cannot read this private key{kind} ({plain_reason(exc)}); pinctl reads "
        "RSA, EC on named curves, Ed25519, Ed448, DSA and DH keys; to pin it, run "
        f"`{command} | pinctl pin -`"
    )


def refuse_lossy(name: str, form: Form, key: PrivateKeyTypes, unopened: Unopened) -> None:
    """Raise for an RSA or EC key whose stated SPKI is out of reach; a guess is a wrong pin.

    Re-deriving such a key's SPKI drops RSA-PSS parameters and explicit curves, which the
    key object cannot show; Ed25519, Ed448, X25519, X448, DSA and DH re-derive exactly.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        decrypt = decrypt_command(name, form, unopened)
        raise InputError(
            f"{name}: pinctl cannot read this key's public key as stated through "
            f"{unopened.envelope}; run `{decrypt}` and pin plain.pem, "
            "or pin the key's certificate or the output of `openssl pkey -pubout`"
        )


def _pbes2_key(oid: bytes, params: bytes, size: int, passphrase: bytes) -> bytes | None:
    fields = elements(params)
    salt = fields[0][2]
    numbers = [int.from_bytes(value, "big") for tag, _, value in fields[1:] if tag == 0x02]
    if oid == _SCRYPT:
        n, r, p = numbers[:3]
        if not 1 < n <= _MAX_SCRYPT_N or not 1 <= r * p <= _MAX_SCRYPT_RP:
            return None
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt, size, n, r, p).derive(passphrase)
    if oid != _PBKDF2:
        return None
    prf = next((f[1] for f in fields[2:] if f[0] == 0x30), None)
    hash_name = _PRFS.get(elements(prf)[0][2]) if prf is not None else "SHA1"
    if hash_name is None or not 1 <= numbers[0] <= _MAX_ITERATIONS:
        return None
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    return PBKDF2HMAC(getattr(hashes, hash_name)(), size, salt, numbers[0]).derive(passphrase)


def _pbes1(params: bytes, sealed: bytes, passphrase: bytes) -> bytes | Unopened:
    """pbeWithSHAAnd3-KeyTripleDES-CBC: key and IV from the PKCS#12 KDF (RFC 7292 B.2)."""
    unopened = Unopened("PBES1 pbeWithSHAAnd3-KeyTripleDES-CBC")
    try:
        (_, _, salt), (_, _, count) = elements(params)
    except (ValueError, IndexError):
        return unopened
    iterations = int.from_bytes(count, "big")
    if not 1 <= iterations <= _MAX_ITERATIONS:
        return unopened
    try:  # a BMPString with its NUL; openssl reads the passphrase as UTF-8
        secret = (passphrase.decode("utf-8") + "\0").encode("utf-16-be")
    except UnicodeDecodeError:
        return unopened
    key = kdf("sha1", secret, salt, iterations, 24, KEY)
    iv = kdf("sha1", secret, salt, iterations, 8, IV)
    plain = _cbc(_cipher("DES-EDE3-CBC", key), iv, sealed)
    return unopened if plain is None else plain


def _cipher(name: str, key: bytes) -> CipherAlgorithm:
    if name != "DES-EDE3-CBC":
        from cryptography.hazmat.primitives.ciphers import algorithms

        return algorithms.AES(key)
    # 3DES lives among the decrepit ciphers since cryptography 43 (pinctl needs 49): no warning.
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

    return TripleDES(key)


def _cbc(algorithm: CipherAlgorithm, iv: bytes, sealed: bytes) -> bytes | None:
    """The unpadded plaintext, None unless it is one well-formed DER element."""
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    block = 16 if algorithm.name == "AES" else 8
    if len(iv) != block or not sealed or len(sealed) % block:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
        plain = decryptor.update(sealed) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= block or plain[-pad:] != bytes([pad]) * pad:
        return None
    try:  # a padding that checks by chance must not pass for the key's encoding
        elements(plain[:-pad])
    except (ValueError, IndexError):
        return None
    return plain[:-pad]


def kdf(alg: str, password: bytes, salt: bytes, iterations: int, size: int, purpose: int) -> bytes:
    """RFC 7292 B.2: PBES1 pbeWithSHAAnd3-KeyTripleDES keys and IVs, and PKCS#12 MAC keys."""
    u, v = hashlib.new(alg).digest_size, hashlib.new(alg).block_size

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * -(-length // len(value)))[:length]

    block = stretch(salt) + stretch(password)
    out = b""
    while len(out) < size:
        a = bytes([purpose]) * v + block
        for _ in range(iterations):
            a = hashlib.new(alg, a).digest()
        out += a
        b = int.from_bytes((a * -(-v // u))[:v], "big") + 1
        block = b"".join(
            ((int.from_bytes(block[j : j + v], "big") + b) % (1 << (8 * v))).to_bytes(v, "big")
            for j in range(0, len(block), v)
        )
    return out[:size]
