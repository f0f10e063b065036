"""What a completed handshake negotiated, as fetch shows it and verify's TLS policy judges it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlsInfo:
    version: str
    """As OpenSSL names it: ``TLSv1.3``."""
    cipher: str
    """The IANA/OpenSSL cipher suite name."""
    stapled_ocsp: bytes | None = None
    """The DER OCSP response the server stapled, if it was asked for and sent one."""
