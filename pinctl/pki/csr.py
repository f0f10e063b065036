"""Certificate signing requests for backup keys, and the --subject and --san they carry.

A CSR is how a backup key becomes a certificate on the day it is promoted. Reading
openssl's spellings of subjects and names is a concern of its own, apart from the careful
file writing in `keygen`, which only signs the request with each new key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pinctl.errors import UsageError
from pinctl.hostnames import a_label

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes as PrivateKey,
    )

_SUBJECT_KEYS = {
    "cn": "COMMON_NAME",
    "o": "ORGANIZATION_NAME",
    "ou": "ORGANIZATIONAL_UNIT_NAME",
    "c": "COUNTRY_NAME",
    "st": "STATE_OR_PROVINCE_NAME",
    "l": "LOCALITY_NAME",
    "emailaddress": "EMAIL_ADDRESS",
}
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


@dataclass(frozen=True)
class CsrSpec:
    """What the CSR of each key asks a CA for."""

    subject: x509.Name
    sans: tuple[x509.GeneralName, ...] = ()


def csr_spec(subject: str, sans: Iterable[str]) -> CsrSpec:
    """Read ``--subject`` and ``--san`` before any key exists, so a typo costs nothing."""
    return CsrSpec(parse_subject(subject), tuple(parse_san(san) for san in sans))


def parse_subject(text: str) -> x509.Name:
    """``CN=a,O=b`` (RFC 4514, most specific first) or ``/O=b/CN=a`` (openssl's -subj)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    given = text.strip()
    openssl_style = given.startswith("/")
    body = given[1:] if openssl_style else given
    if not body.strip():
        raise UsageError('--subject is empty; write e.g. "CN=api.example.com,O=Example"')
    if (len(body) - len(body.rstrip("\\"))) % 2:  # as openssl -subj: it escapes nothing
        raise UsageError(
            f"--subject {text!r}: it ends in a '\\' that escapes nothing; "
            "write '\\\\' for a backslash"
        )
    parts = _split_unescaped(body, "/" if openssl_style else ",")
    attributes = []
    for part in parts:
        key, eq, value = part.partition("=")
        oid_name = _SUBJECT_KEYS.get(key.strip().lower())
        if not eq or oid_name is None:
            raise UsageError(
                f"--subject {text!r}: {part.strip()!r} is not KEY=VALUE with KEY one of "
                'CN, O, OU, C, ST, L, emailAddress; write e.g. "CN=api.example.com,O=Example"'
            )
        value = _unescape(value.strip())
        try:
            attributes.append(x509.NameAttribute(getattr(NameOID, oid_name), value))
        except ValueError as exc:
            raise UsageError(f"--subject {text!r}: {key.strip()}={value!r}: {exc}") from None
    return x509.Name(attributes if openssl_style else list(reversed(attributes)))


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def subject_text(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    return name.rfc4514_string({NameOID.EMAIL_ADDRESS: "emailAddress"})


def parse_san(text: str) -> x509.GeneralName:
    """``DNS:name`` or ``IP:address``, as openssl's subjectAltName spells them."""
    from cryptography import x509

    kind, colon, value = text.partition(":")
    kind, value = kind.strip().upper(), value.strip()
    if colon and kind == "IP":
        try:
            return x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            raise UsageError(f"--san {text!r}: {value!r} is not an IP address") from None
    if colon and kind == "DNS":
        return x509.DNSName(_dns_name(value, text))
    raise UsageError(f"--san {text!r}: write DNS:name or IP:address, e.g. DNS:api.example.com")


def _dns_name(value: str, text: str) -> str:
    name = value.rstrip(".")
    ascii_name = name if name.isascii() else a_label(name)
    if ascii_name is None:
        raise UsageError(f"--san {text!r}: {value!r} is not a valid host name")
    labels = ascii_name.split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise UsageError(f"--san {text!r}: {value!r} is not a valid host name")
    return ascii_name.lower()


def csr_pem(private_key: PrivateKey, spec: CsrSpec) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.serialization import Encoding

    builder = x509.CertificateSigningRequestBuilder().subject_name(spec.subject)
    if spec.sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(spec.sans)), False)
    algorithm: hashes.SHA256 | hashes.SHA384 | None = hashes.SHA256()
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.key_size > 256:
        algorithm = hashes.SHA384()
    elif isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm = None
    return builder.sign(private_key, algorithm).public_bytes(Encoding.PEM)
