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
