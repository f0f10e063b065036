"""`--cache-dir`: verified revocation answers kept on disk until their `next_update`.

Only answers that proved something are stored (never a fetch that failed or a response
that did not verify), and every answer read back is proven again against the time of
this run, so a stale or tampered file is simply not used. Each answer is one file,
written atomically (`pinctl.files.write_atomic`): two runs sharing the directory may
race to write the same answer, and either write leaves a whole file.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pinctl.errors import PinctlError
from pinctl.pki.crl import Answer, Crl, Unproven

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class AnswerCache:
    directory: Path
    max_bytes: int

    def crl(self, url: str, now: datetime) -> Crl | None:
        """The kept CRL of `url`, unless it is past its next update (or unreadable)."""
        from pinctl.pki.crl import load_crl

        data = self._read(self._name("crl", url))
        if data is None:
            return None
        try:
            listed = load_crl(data, max_bytes=self.max_bytes)
        except Unproven:
            return None
        next_update = listed.parsed.next_update_utc
        return listed if next_update is not None and next_update >= now else None

    def keep_crl(self, url: str, listed: Crl) -> None:
        """Keep a CRL that proved an answer (its next update is not past: it was fresh)."""
        path = self._name("crl", url)
        if not path.exists():
            self._write(path, listed.der)

    def ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, now: datetime
    ) -> Answer | None:
        """A kept OCSP response for `cert`, proven again now (no nonce: it was sent before)."""
        from pinctl.pki import ocsp

        data = self._read(self._name("ocsp", url, cert, issuer))
        if data is None:
            return None
        try:
            answer = ocsp.check(data, cert, issuer, now)
        except Unproven:
            return None
        return answer if answer.next_update is not None else None

    def keep_ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, der: bytes
    ) -> None:
        self._write(self._name("ocsp", url, cert, issuer), der)

    def _name(
        self,
        kind: str,
        url: str,
        cert: x509.Certificate | None = None,
        issuer: x509.Certificate | None = None,
    ) -> Path:
        digest = hashlib.sha256(url.encode())
        if cert is not None and issuer is not None:
            digest.update(cert.serial_number.to_bytes(20, "big", signed=False)[-20:])
            digest.update(issuer.tbs_certificate_bytes)
        return self.directory / f"{kind}-{digest.hexdigest()[:40]}.der"

    def _read(self, path: Path) -> bytes | None:
        try:
            with path.open("rb") as handle:
                return handle.read(self.max_bytes + 1)
        except OSError:
            return None

    def _write(self, path: Path, data: bytes) -> None:
        """A cache that cannot be written costs a fetch next time, never this run's result."""
        from pinctl.files import write_atomic

        with contextlib.suppress(OSError, PinctlError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
