"""Minted Certificate Transparency: test logs, certificates with SCT lists, v3 lists, staples.

Everything here is built the way a CA and a log build it: the SCT is signed over the
precertificate entry (the issuer's key hash and the TBS without the SCT extension), the
extension bytes are encoded by hand (RFC 6962's TLS structures), and the final
certificate is signed by the CA with that extension added. Nothing in pinctl is used to
make them, so pinctl's reader is judged by data it did not write.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

T0 = datetime(2026, 9, 1, tzinfo=timezone.utc)
"""When the minted certificates are issued."""
NOW = T0 + timedelta(days=10)
"""When they are judged."""
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
OCSP_SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.5")


def _spki(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass
class MintLog:
    """A CT log: a key, the operator running it, its state in the list."""

    name: str
    operator: str
    state: str | None = "usable"
    state_at: datetime = T0 - timedelta(days=400)
    tiled: bool = False
    rsa: bool = False
    key: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = (
                rsa.generate_private_key(65537, 2048)
                if self.rsa
                else ec.generate_private_key(ec.SECP256R1())
            )

    @property
    def spki(self) -> bytes:
        return _spki(self.key.public_key())

    @property
    def log_id(self) -> bytes:
        return hashlib.sha256(self.spki).digest()

    def sign(self, data: bytes) -> bytes:
        if self.rsa:
            return bytes(self.key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        return bytes(self.key.sign(data, ec.ECDSA(hashes.SHA256())))

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "description": self.name,
            "log_id": base64.b64encode(self.log_id).decode(),
            "key": base64.b64encode(self.spki).decode(),
            "mmd": 60 if self.tiled else 86400,
        }
        if self.tiled:
            out["submission_url"] = f"https://{self.name}.example/"
            out["monitoring_url"] = f"https://{self.name}.example/mon/"
        else:
            out["url"] = f"https://{self.name}.example/"
        if self.state is not None:
            stamp = self.state_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            out["state"] = {self.state: {"timestamp": stamp}}
        return out


def log_list(
    logs: list[MintLog], path: Path, *, timestamp: datetime | None = NOW, **extra: Any
) -> Path:
    """Write a v3 list of `logs`, grouped by operator, and return its path."""
    operators: dict[str, dict[str, Any]] = {}
    for log in logs:
        op = operators.setdefault(log.operator, {"name": log.operator, "email": [], "logs": []})
        op.setdefault("tiled_logs" if log.tiled else "logs", []).append(log.entry())
        op.setdefault("tiled_logs", [])
    document: dict[str, Any] = {"version": "1.0", "operators": list(operators.values())}
    if timestamp is not None:
        document["log_list_timestamp"] = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    document.update(extra)
    path.write_text(json.dumps(document))
    return path


@dataclass(frozen=True)
class Stamp:
    """One SCT to put in a certificate: which log, when, and whether to spoil it."""

    log: MintLog
    at: datetime = T0
    spoil: bool = False
    """Flip a byte of the signature: the SCT must then be `invalid`."""
    version: int = 0
    hash_alg: int = 4


def sct_bytes(stamp: Stamp, entry: bytes) -> bytes:
    """The TLS encoding of one SCT over `entry` (RFC 6962 section 3.2)."""
    millis = int(stamp.at.timestamp() * 1000)
    signed = b"\x00\x00" + struct.pack(">Q", millis) + entry + b"\x00\x00"
    signature = bytearray(stamp.log.sign(signed))
    if stamp.spoil:
        signature[len(signature) // 2] ^= 0x01
    sig_alg = 1 if stamp.log.rsa else 3
    return (
        bytes([stamp.version])
        + stamp.log.log_id
        + struct.pack(">Q", millis)
        + b"\x00\x00"
        + bytes([stamp.hash_alg, sig_alg])
        + len(signature).to_bytes(2, "big")
        + bytes(signature)
    )


def sct_list(scts: list[bytes]) -> bytes:
    body = b"".join(len(s).to_bytes(2, "big") + s for s in scts)
    return len(body).to_bytes(2, "big") + body


def _octets(value: bytes) -> bytes:
    """A DER OCTET STRING around `value`."""
    size = len(value)
    if size < 0x80:
        return bytes([0x04, size]) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x04, 0x80 | len(octets)]) + octets + value


def _u24(data: bytes) -> bytes:
    return len(data).to_bytes(3, "big") + data


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class MintCa:
    key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    name: str = "pinctl CT test CA"

    def __post_init__(self) -> None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(T0 - timedelta(days=3000))
            .not_valid_after(T0 + timedelta(days=3000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def leaf(
        self,
        stamps: list[Stamp] | None = None,
        *,
        days: int = 90,
        host: str = "localhost",
        raw_list: bytes | None = None,
        start: datetime = T0,
        ips: tuple[str, ...] = (),
    ) -> tuple[x509.Certificate, Any]:
        """A leaf for `host` valid `days` days (RFC 5280 inclusive: notAfter = +days -1s),
        carrying the SCTs of `stamps` (or `raw_list` verbatim) signed over its precert."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days) - timedelta(seconds=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(host), *(x509.IPAddress(ipaddress.ip_address(a)) for a in ips)]
                ),
                critical=False,
            )
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if stamps is None and raw_list is None:
            return builder.sign(self.key, hashes.SHA256()), key
        # The precertificate's TBS, poison removed, is the final TBS without the SCT list.
        tbs = builder.sign(self.key, hashes.SHA256()).tbs_certificate_bytes
        entry = b"\x00\x01" + hashlib.sha256(_spki(self.key.public_key())).digest() + _u24(tbs)
        data = (
            raw_list
            if raw_list is not None
            else sct_list([sct_bytes(s, entry) for s in stamps or []])
        )
        extension = x509.UnrecognizedExtension(SCT_OID, _octets(data))
        cert = builder.add_extension(extension, critical=False).sign(self.key, hashes.SHA256())
        assert cert.tbs_precertificate_bytes == tbs
        return cert, key


def x509_entry(cert: x509.Certificate) -> bytes:
    """The entry SCTs delivered beside a certificate (OCSP, TLS) sign: the certificate."""
    return b"\x00\x00" + _u24(cert.public_bytes(serialization.Encoding.DER))


def ocsp_with_scts(ca: MintCa, leaf: x509.Certificate, stamps: list[Stamp]) -> bytes:
    """A good OCSP response for `leaf`, signed by the CA, whose single response carries an
    SCT list (the singleExtensions place RFC 6962 section 3.3 gives them)."""
    from cryptography.x509 import ocsp

    built = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            leaf,
            ca.cert,
            hashes.SHA1(),  # noqa: S303 - the CertID hash OCSP responders use
            ocsp.OCSPCertStatus.GOOD,
            NOW,
            NOW + timedelta(days=3),
            None,
            None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        .sign(ca.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    entry = x509_entry(leaf)
    listed = sct_list([sct_bytes(s, entry) for s in stamps])
    extension = _seq(_seq(bytes.fromhex("060a2b06010401d679020405") + _octets(_octets(listed))))
    return _add_single_extensions(built, bytes([0xA1]) + _length(extension) + extension, ca)


def _length(body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _seq(body: bytes, tag: int = 0x30) -> bytes:
    return bytes([tag]) + _length(body) + body


def _parts(data: bytes) -> list[bytes]:
    """The whole elements inside the outer DER element `data`."""
    from pinctl.pki import der

    return [whole for _, whole, _ in der.elements(data)]


def _value(element: bytes) -> bytes:
    from pinctl.pki import der

    _, start, end = der.tlv(element, 0)
    return element[start:end]


def _add_single_extensions(response: bytes, extensions: bytes, ca: MintCa) -> bytes:
    """Re-sign `response` with `extensions` appended to its one SingleResponse."""
    status, wrapped = _parts(response)
    (inner,) = _parts(wrapped)  # [0] EXPLICIT ResponseBytes
    kind, octets = _parts(inner)
    basic = _value(octets)
    tbs, algorithm, _signature, *certs = _parts(basic)
    fields = _parts(tbs)
    responses = fields[-1] if fields[-1][0] == 0x30 else fields[-2]
    index = fields.index(responses)
    (single,) = _parts(responses)
    single = _seq(b"".join(_parts(single)) + extensions)
    fields[index] = _seq(single)
    tbs = _seq(b"".join(fields))
    signature = ca.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    basic = _seq(tbs + algorithm + _seq(b"\x00" + signature, 0x03) + b"".join(certs))
    inner = _seq(kind + _octets(basic))
    return _seq(status + _seq(inner, 0xA0))
