"""Tell DER files apart by their ASN.1 outline, before any parser or passphrase.

Parsers answer "no" in many ways; the outline says what the file meant to be, so a
damaged certificate is reported as one (and a PKCS#12 file asks for its passphrase),
rather than as "unrecognised binary data".
"""

from __future__ import annotations

from typing import Literal

from pinctl.pki.der import SEQUENCE, elements

Shape = Literal[
    "certificate", "csr", "public key", "private key", "pkcs12", "encrypted-pkcs8", "pkcs7"
]

_INTEGER, _BIT_STRING, _OCTET_STRING, _OID = 0x02, 0x03, 0x04, 0x06
_PBE_OID_PREFIXES = (
    bytes.fromhex("2a864886f70d01050d"),  # PBES2
    bytes.fromhex("2a864886f70d010c01"),  # PKCS#12 PBE
    bytes.fromhex("2a864886f70d0105"),  # PKCS#5 v1 PBE
)
_PKCS7_SIGNED = bytes.fromhex("2a864886f70d010702")


def der_shape(data: bytes) -> Shape | None:
    """What the outline says the file is; None when it is no outline pinctl knows."""
    try:
        parts = elements(data)
    except ValueError:
        return None
    tags = [tag for tag, _, _ in parts]
    try:
        if tags == [SEQUENCE, SEQUENCE, _BIT_STRING]:
            inner = [tag for tag, _, _ in elements(parts[0][1])]
            if inner[:1] == [0xA0] or len(inner) >= 6:
                return "certificate"
            return "csr" if inner[:1] == [_INTEGER] else None
        if tags == [SEQUENCE, _BIT_STRING] or tags == [_INTEGER, _INTEGER]:
            return "public key"
        if len(tags) >= 2 and tags[0] == _INTEGER and parts[0][2] == b"\x03":
            return "pkcs12"
        if tags == [SEQUENCE, _OCTET_STRING] and _oid(parts[0][1]).startswith(_PBE_OID_PREFIXES):
            return "encrypted-pkcs8"
        if tags[:3] == [_INTEGER, SEQUENCE, _OCTET_STRING] or tags[:2] == [_INTEGER, _OCTET_STRING]:
            return "private key"
        if len(tags) >= 5 and set(tags[:5]) == {_INTEGER}:
            return "private key"  # PKCS#1 RSA or DSA: a row of INTEGERs
        if tags[:1] == [_OID] and parts[0][2] == _PKCS7_SIGNED:
            return "pkcs7"
    except ValueError:
        return None
    return None


def key_algorithm(data: bytes) -> str:
    """The algorithm a PKCS#8 or SEC1 key names, in words, to say which one is unsupported."""
    from pinctl.pki.der import encode
    from pinctl.pki.spki import algorithm

    try:
        parts = elements(data)
        if parts[1][0] == _OCTET_STRING:  # SEC1: the curve is the [0] parameter
            params = next(value for tag, _, value in parts[2:] if tag == 0xA0)
            return f"on curve {_curve(params)}"
        alg_id = parts[1][1]
        found = algorithm(encode(SEQUENCE, alg_id + encode(_BIT_STRING, b"\x00")))
    except (ValueError, IndexError, StopIteration):
        return "of an unknown algorithm"
    if found.name is None:
        return f"of algorithm {found.oid}"
    if found.curve:
        return f"on curve {found.curve}"
    return f"of type {found.name}"


def _curve(params: bytes) -> str:
    from pinctl.pki.der import oid_text, tlv

    tag, start, end = tlv(params, 0)
    return oid_text(params[start:end]) if tag == _OID else "with explicit parameters"


def _oid(alg_id: bytes) -> bytes:
    parts = elements(alg_id)
    return parts[0][2] if parts and parts[0][0] == _OID else b""
