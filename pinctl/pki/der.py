"""Just enough DER to find things by position, without re-encoding them.

A pin is a hash of bytes, so it must hash the SubjectPublicKeyInfo exactly as the
certificate carries it: re-encoding the parsed key changes compressed EC points,
RSA-PSS parameters and explicit curves, and then the pin differs from openssl's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

SEQUENCE = 0x30


def tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at `pos`; ValueError if cut short."""
    if pos + 2 > len(data):
        raise ValueError("short")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("short")
    return tag, pos, pos + length


def children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element inside a constructed one."""
    pos = start
    while pos < end:
        tag, vstart, vend = tlv(data, pos)
        yield tag, pos, vstart, vend
        pos = vend


def first_element(data: bytes) -> bytes:
    _, _, end = tlv(data, 0)
    return data[:end]


def _nth_sequence(info: bytes, index: int) -> bytes:
    """The `index`-th SEQUENCE inside the outer SEQUENCE `info`, as its raw bytes."""
    tag, start, end = tlv(info, 0)
    if tag != SEQUENCE:
        raise ValueError("not a SEQUENCE")
    sequences = [(s, e) for t, s, _, e in children(info, start, end) if t == SEQUENCE]
    s, e = sequences[index]
    return info[s:e]


def certificate_spki(cert: x509.Certificate) -> bytes:
    """The certificate's own SubjectPublicKeyInfo bytes.

    TBSCertificate holds, after the optional [0] version and the serial INTEGER, the
    SEQUENCEs signature, issuer, validity, subject and subjectPublicKeyInfo: the fifth.
    """
    return _nth_sequence(cert.tbs_certificate_bytes, 4)


def csr_spki(csr: x509.CertificateSigningRequest) -> bytes:
    """A CSR's SubjectPublicKeyInfo: the second SEQUENCE of CertificationRequestInfo."""
    return _nth_sequence(csr.tbs_certrequest_bytes, 1)


def encode(tag: int, value: bytes) -> bytes:
    """One DER element; lengths in the short or long form, as DER requires."""
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + value


def elements(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, whole element, value) of each element inside the outer one, which must fill `data`."""
    _, start, end = tlv(data, 0)
    if end != len(data):
        raise ValueError("trailing data")
    return [(t, data[s:ve], data[vs:ve]) for t, s, vs, ve in children(data, start, end)]


def oid_text(value: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's value bytes, for naming unknown algorithms."""
    arcs: list[int] = []
    current = 0
    for byte in value:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    if not arcs or value[-1] & 0x80:
        raise ValueError("bad OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def validity_text(tbs: bytes) -> tuple[str, str]:
    """notBefore and notAfter as stated, four-digit years (UTCTime's two are widened)."""
    validity = _nth_sequence(tbs, 2)
    _, start, end = tlv(validity, 0)
    times = []
    for time_tag, _, vstart, vend in children(validity, start, end):
        text = validity[vstart:vend].decode("ascii", "replace")
        if time_tag == 0x17:
            text = ("19" if int(text[:2]) >= 50 else "20") + text
        times.append(text)
    if len(times) != 2:
        raise ValueError("not a Validity")
    return times[0], times[1]


def plain_reason(exc: BaseException) -> str:
    """cryptography's parse errors in words: its Rust debug text means nothing to users."""
    import re

    text = str(exc).split("\n")[0].strip() or type(exc).__name__
    match = re.search(r"ParseError \{ kind: (\w+)", text)
    if match:
        kind = re.sub(r"(?<!^)(?=[A-Z])", " ", match.group(1)).lower()
        found = re.search(r"location: \[([^\]]*)\]", text)
        parts = (found.group(1) if found else "").split(", ")
        where = " > ".join(part.strip('"').split("::")[-1] for part in parts if part)
        text = f"DER {kind}" + (f" in {where}" if where else "")
    text = re.sub(r"AlgorithmIdentifier \{ oid: .*", "an unsupported signature algorithm", text)
    # cryptography's advice on OpenSSL's error stack is for its own bug reports
    text = re.sub(r"^Unknown OpenSSL error\..*", "OpenSSL refused it", text)
    # cryptography's key loaders guess at three causes, then give the one they found
    deserialize = re.match(r"Could not deserialize key data\..*?(?:Details: (.*?))?$", text)
    if deserialize:
        detail = re.sub(r" \(got Tag \{.*", "", deserialize[1] or "")
        detail = detail.replace("ASN.1 parsing error: ", "DER ")
        text = "the key data cannot be decoded" + (f": {detail}" if detail else "")
    return text[:160].rstrip()
