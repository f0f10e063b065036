"""What certificate inspectors show beside the pins, in their spelling (SPEC.md section 14).

Names follow OpenSSL, so that `fetch` can be read side by side with `openssl x509 -text`
and `openssl x509 -fingerprint -sha256`, and the served chain is described as a TLS
client would judge it: order, duplicates, extras and a sent trust anchor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ED25519",
    "1.3.101.113": "ED448",
    "1.2.840.10040.4.3": "dsaWithSHA1",
    "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
}
"""OpenSSL's names (`openssl x509 -text`, "Signature Algorithm:") by OID."""


def signature_algorithm(cert: x509.Certificate) -> str:
    """OpenSSL's name for the signature algorithm, else its dotted OID."""
    oid = cert.signature_algorithm_oid.dotted_string
    return SIGNATURE_NAMES.get(oid, oid)


def colon_fingerprint(der: bytes) -> str:
    """``AB:CD:…``, the SHA-256 of the DER as `openssl x509 -fingerprint -sha256` prints it."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def subject_alt_names(cert: x509.Certificate) -> tuple[str, ...]:
    """``DNS:name``, ``IP:addr``, ``URI:…``, ``email:…`` (OpenSSL's prefixes), in order;
    () when the certificate has none, or one that cannot be decoded."""
    from cryptography import x509

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    except Exception:  # an undecodable extension (x400Address ...) names nothing
        return ("<undecodable>",)
    out = []
    for name in names:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.DirectoryName):
            out.append(f"DirName:{name.value.rfc4514_string()}")
        elif isinstance(name, x509.RegisteredID):
            out.append(f"Registered ID:{name.value.dotted_string}")
        else:
            out.append("othername:<unsupported>")
    return tuple(out)


def chain_remarks(
    served: Sequence[x509.Certificate], path: Sequence[x509.Certificate] | None
) -> tuple[str, ...]:
    """What is off about the chain as served, judged against the validated `path` (leaf to
    anchor; None when it did not validate, and only duplicates and order are judged)."""
    remarks: list[str] = []
    seen: dict[x509.Certificate, int] = {}
    for index, cert in enumerate(served):
        first = seen.setdefault(cert, index)
        if first != index:
            remarks.append(f"certificate [{index}] is a duplicate of [{first}]")
    unique = [cert for index, cert in enumerate(served) if seen[cert] == index]
    if path is None:
        if _out_of_order(unique):
            remarks.append("certificates are out of order: each should be followed by its issuer")
        return tuple(remarks)
    on_path = {cert: depth for depth, cert in enumerate(path)}
    depths = [on_path[cert] for cert in unique if cert in on_path]
    if depths != sorted(depths):
        remarks.append("certificates are out of order: each should be followed by its issuer")
    anchor = path[-1] if len(path) > 1 else None
    for index, cert in enumerate(served):
        if seen[cert] != index:
            continue
        if cert is anchor or (anchor is not None and cert == anchor):
            remarks.append(
                f"certificate [{index}] is the trust anchor; clients need not be sent it"
            )
        elif cert not in on_path:
            remarks.append(f"certificate [{index}] is not part of the validated path (unneeded)")
    return tuple(remarks)


def _out_of_order(chain: Sequence[x509.Certificate]) -> bool:
    """Without a validated path: some certificate is not followed by its issuer, while
    that issuer is sent later."""
    for index, (cert, nxt) in enumerate(pairwise(chain)):
        if cert.issuer != nxt.subject and any(c.subject == cert.issuer for c in chain[index + 2 :]):
            return True
    return False
