"""The plaintext encoding of an encrypted private key, for reading its SPKI as stated.

cryptography decrypts a key into an object and keeps no plaintext; the object has lost
what it does not model (RSA-PSS parameters, explicit curves). So once cryptography has
accepted the passphrase, the common envelopes are opened again here: PKCS#8 PBES2 with
PBKDF2 and AES-CBC (openssl's default), and the legacy PEM ``DEK-Info`` form with AES.
Anything else returns None and the key's pin is cryptography's re-derivation.
"""

from __future__ import annotations

from pinctl.pki.der import elements

_PBES2 = bytes.fromhex("2a864886f70d01050d")
_PBKDF2 = bytes.fromhex("2a864886f70d01050c")
_PRFS = {
    bytes.fromhex("2a864886f70d0207"): "SHA1",
    bytes.fromhex("2a864886f70d0208"): "SHA224",
    bytes.fromhex("2a864886f70d0209"): "SHA256",
    bytes.fromhex("2a864886f70d020a"): "SHA384",
    bytes.fromhex("2a864886f70d020b"): "SHA512",
}
_AES_CBC = {
    bytes.fromhex("608648016503040102"): 16,
    bytes.fromhex("608648016503040116"): 24,
    bytes.fromhex("60864801650304012a"): 32,
}
_PEM_AES = {"AES-128-CBC": 16, "AES-192-CBC": 24, "AES-256-CBC": 32}
_MAX_ITERATIONS = 10_000_000


def pkcs8_plaintext(der: bytes, passphrase: bytes) -> bytes | None:
    """The PrivateKeyInfo inside an EncryptedPrivateKeyInfo, or None for other envelopes."""
    try:
        (_, alg_id, _), (_, _, sealed) = elements(der)
        (_, _, oid), (_, params, _) = elements(alg_id)
        if oid != _PBES2:
            return None
        (_, kdf, _), (_, scheme, _) = elements(params)
        (_, _, kdf_oid), (_, kdf_params, _) = elements(kdf)
        (_, _, cipher_oid), (_, _, iv) = elements(scheme)
        if kdf_oid != _PBKDF2 or cipher_oid not in _AES_CBC:
            return None
        fields = elements(kdf_params)
        salt, iterations = fields[0][2], int.from_bytes(fields[1][2], "big")
        prf = next((f[1] for f in fields[2:] if f[0] == 0x30), None)
        hash_name = _PRFS.get(elements(prf)[0][2]) if prf is not None else "SHA1"
    except (ValueError, IndexError):
        return None
    if hash_name is None or not 1 <= iterations <= _MAX_ITERATIONS or len(iv) != 16:
        return None
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    algorithm = getattr(hashes, hash_name)()
    size = _AES_CBC[cipher_oid]
    key = PBKDF2HMAC(algorithm, size, salt, iterations).derive(passphrase)
    return _aes_cbc(key, iv, sealed)


def pem_plaintext(body: bytes, passphrase: bytes) -> bytes | None:
    """The DER inside a legacy encrypted PEM body (``Proc-Type: 4,ENCRYPTED``), if AES."""
    import base64
    import binascii
    import hashlib

    head, _, data = body.replace(b"\r\n", b"\n").partition(b"\n\n")
    info = next((line for line in head.split(b"\n") if line.startswith(b"DEK-Info:")), None)
    if info is None:
        return None
    cipher, _, iv_hex = info.removeprefix(b"DEK-Info:").strip().partition(b",")
    size = _PEM_AES.get(cipher.decode("ascii", "replace").upper())
    try:
        iv = bytes.fromhex(iv_hex.decode("ascii"))
        sealed = base64.b64decode(b"".join(data.split()), validate=True)
    except (ValueError, binascii.Error):
        return None
    if size is None or len(iv) != 16:
        return None
    key, block = b"", b""
    while len(key) < size:  # OpenSSL's EVP_BytesToKey with MD5, one round, salt = IV[:8]
        block = hashlib.md5(block + passphrase + iv[:8], usedforsecurity=False).digest()
        key += block
    return _aes_cbc(key[:size], iv, sealed)


def _aes_cbc(key: bytes, iv: bytes, sealed: bytes) -> bytes | None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if not sealed or len(sealed) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(sealed) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        return None
    return plain[:-pad]
