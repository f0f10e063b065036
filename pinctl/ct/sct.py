"""Signed certificate timestamps: read from their TLS encoding, verified with the log's key.

An SCT list (RFC 6962 section 3.3) is read from the bytes themselves, not from a parsed
extension, because the signature covers those exact bytes: the leaf's embedded list
(extension 1.3.6.1.4.1.11129.2.4.2) signs the precertificate entry (the issuer's key hash,
then the TBS without the SCT extension), and a stapled OCSP response's list (single
extension 1.3.6.1.4.1.11129.2.4.5) signs the final certificate itself. A malformed list is
`SctListError`; an SCT of an unknown version is skipped with a problem naming it.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pinctl.pki import der

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.ct.loglist import Log

Source = Literal["embedded", "ocsp"]
Signature = Literal["valid", "invalid", "unknown-log", "no-issuer"]

EMBEDDED_OID = bytes.fromhex("060a2b06010401d679020402")
"""The DER OID 1.3.6.1.4.1.11129.2.4.2 (embedded SCT list), tag and length included."""
OCSP_OID = "1.3.6.1.4.1.11129.2.4.5"

_HASHES = {4: "sha256"}
_SIGNATURES = {1: "rsa", 3: "ecdsa"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(_SHA256)
_PKCS1 = padding.PKCS1v15()


class SctListError(ValueError):
    """An SCT list whose TLS encoding is cut short or inconsistent."""


@dataclass(frozen=True)
class Sct:
    """One v1 SCT as its log signed it."""

    log_id: bytes
    timestamp_ms: int
    extensions: bytes
    hash_alg: int
    sig_alg: int
    signature: bytes
    source: Source
    index: int
    """Its place in its list, from 1, for messages."""

    @property
    def timestamp(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.timestamp_ms)

    @property
    def algorithm(self) -> str | None:
        """``ecdsa-sha256`` or ``rsa-sha256``; None for a pair RFC 6962 does not allow."""
        hashed, signed = _HASHES.get(self.hash_alg), _SIGNATURES.get(self.sig_alg)
        return f"{signed}-{hashed}" if hashed and signed else None


def parse_list(data: bytes, source: Source) -> tuple[tuple[Sct, ...], tuple[str, ...]]:
    """The SCTs of a `SignedCertificateTimestampList`, and a problem per SCT left out."""
    total = _u16(data, 0)
    if total + 2 != len(data):
        raise SctListError(f"the list says {total} bytes but holds {len(data) - 2}")
    scts: list[Sct] = []
    problems: list[str] = []
    pos, index = 2, 0
    while pos < len(data):
        index += 1
        size = _u16(data, pos)
        item = data[pos + 2 : pos + 2 + size]
        if size == 0 or len(item) != size:
            raise SctListError(f"SCT {index} is empty or cut short")
        pos += 2 + size
        if item[0] != 0:
            problems.append(f"{source} SCT {index} has version {item[0]}, not v1; it is ignored")
            continue
        scts.append(_sct(item, source, index))
    return tuple(scts), tuple(problems)


def _sct(item: bytes, source: Source, index: int) -> Sct:
    """An `SignedCertificateTimestamp` of version 1 (its first byte, 0, already checked)."""
    if len(item) < 1 + 32 + 8 + 2:
        raise SctListError(f"SCT {index} is cut short")
    log_id = item[1:33]
    (timestamp,) = struct.unpack(">Q", item[33:41])
    ext_len = _u16(item, 41)
    pos = 43 + ext_len
    extensions = item[43:pos]
    if len(extensions) != ext_len or pos + 4 > len(item):
        raise SctListError(f"SCT {index} is cut short in its extensions")
    hash_alg, sig_alg = item[pos], item[pos + 1]
    sig_len = _u16(item, pos + 2)
    signature = item[pos + 4 :]
    if len(signature) != sig_len:
        raise SctListError(f"SCT {index} has a signature of {len(signature)} bytes, not {sig_len}")
    return Sct(log_id, timestamp, extensions, hash_alg, sig_alg, signature, source, index)


def _u16(data: bytes, pos: int) -> int:
    if pos + 2 > len(data):
        raise SctListError("cut short")
    return int.from_bytes(data[pos : pos + 2], "big")


def embedded_list(cert: x509.Certificate) -> bytes | None:
    """The raw TLS-encoded list of the leaf's SCT extension; None when it has none.

    Found in the TBS bytes, not through cryptography's parsed extension, whose parser
    would refuse a malformed list before pinctl could name what is wrong with it.
    """
    tbs = cert.tbs_certificate_bytes
    if EMBEDDED_OID not in tbs:
        return None
    try:
        return _extension_value(tbs)
    except ValueError as exc:
        raise SctListError(f"the SCT extension is not DER ({exc})") from None


def _extension_value(tbs: bytes) -> bytes | None:
    _, start, end = der.tlv(tbs, 0)
    for tag, _, vstart, _ in der.children(tbs, start, end):
        if tag != 0xA3:  # [3] EXPLICIT Extensions
            continue
        _, seq_start, seq_end = der.tlv(tbs, vstart)
        for _, _, ext_start, ext_end in der.children(tbs, seq_start, seq_end):
            if not tbs.startswith(EMBEDDED_OID, ext_start):
                continue
            tag, value_start, value_end = der.tlv(tbs, ext_start + len(EMBEDDED_OID))
            if tag == 0x01:  # critical BOOLEAN
                tag, value_start, value_end = der.tlv(tbs, value_end)
            inner, inner_start, inner_end = der.tlv(tbs, value_start)
            if tag != 0x04 or value_end != ext_end or inner != 0x04 or inner_end != value_end:
                raise ValueError("the value is not one OCTET STRING")
            return tbs[inner_start:inner_end]
    return None


def ocsp_list(response: bytes) -> bytes | None:
    """The raw list of a stapled OCSP response's SCT single extension; None when none."""
    from cryptography.x509 import ocsp

    try:
        parsed = ocsp.load_der_ocsp_response(response)
        if parsed.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        for extension in parsed.single_extensions:
            if extension.oid.dotted_string == OCSP_OID:
                octets: bytes = extension.value.public_bytes()
                _, start, end = der.tlv(octets, 0)
                return octets[start:end]
    except ValueError as exc:
        raise SctListError(f"the stapled OCSP response cannot be read ({exc})") from None
    return None


def entry(source: Source, leaf: x509.Certificate, issuer_spki: bytes | None) -> bytes | None:
    """The log entry SCTs of `source` sign (RFC 6962 section 3.2), shared by the SCTs of one
    leaf: the precertificate entry for embedded SCTs (None when the issuer is unknown),
    the certificate itself for SCTs delivered beside it."""
    if source == "embedded":
        if issuer_spki is None:
            return None
        tbs = leaf.tbs_precertificate_bytes
        return b"\x00\x01" + hashlib.sha256(issuer_spki).digest() + _u24(tbs)
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"\x00\x00" + _u24(leaf.public_bytes(Encoding.DER))


def signed_data(sct: Sct, entry: bytes) -> bytes:
    """What the log signed for `sct` over `entry`: version, type, time, entry, extensions."""
    head = bytes([0, 0]) + struct.pack(">Q", sct.timestamp_ms)
    return head + entry + len(sct.extensions).to_bytes(2, "big") + sct.extensions


def _u24(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def verify(sct: Sct, log: Log, data: bytes) -> bool:
    """Whether `log`'s key signed `data` as `sct` says, by RFC 6962's two algorithms only."""
    key = log.key
    try:
        if sct.algorithm == "ecdsa-sha256" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sct.signature, data, _ECDSA)
        elif sct.algorithm == "rsa-sha256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sct.signature, data, _PKCS1, _SHA256)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
