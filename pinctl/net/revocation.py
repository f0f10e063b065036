"""Is any certificate of a validated path revoked: its sources asked in SPEC.md 7's order.

For each certificate but the trust anchor: the stapled OCSP response (leaf only), the
CRLs given with `--crl`, the CRL of each distribution point, the OCSP responder of its
authority information access; the first proven answer wins. What each source said when it
gave no answer is kept, so the person on call reads why. Which mode fails on what is the
verify check's business (`pinctl.verify.checks.revocation`); this finds the facts.

`Fetcher` is shared by every host of a run: each CRL URL is fetched once however many
hosts name it (a host that needs a URL another host is fetching waits for that fetch),
each OCSP responder once per certificate, and a verified answer may be kept on disk
(`pinctl.net.cache`) until its `next_update`.
"""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pinctl.errors import ConnectError
from pinctl.net.steps import Steps, Wait
from pinctl.pki.crl import CRL_MAX_BYTES, Answer, Crl, Unproven
from pinctl.pki.revocation import CertRevocation, CertState, PathRevocation, SourceName

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.net.cache import AnswerCache
    from pinctl.net.http import ProxyFor

_NONCE_BYTES = 16
_GET_LIMIT = 255
"""SPEC.md 7: GET for requests of up to 255 bytes of base64 (RFC 5019), else POST."""
_CRL_TYPES = ("text/", "application/json", "application/xml")
"""Content types no CRL is served as: an error page, a captive portal."""


def load_crl_files(paths: Sequence[Path], max_bytes: int) -> tuple[tuple[str, Crl], ...]:
    """`--crl FILE...`, PEM or DER, read before anything is contacted (a bad one exits 2)."""
    from pinctl.errors import InputError
    from pinctl.files import read_regular
    from pinctl.pki.crl import load_crl

    loaded = []
    remedy = "give a CRL file, PEM or DER (openssl crl -in FILE -noout -text reads it)"
    for path in paths:
        found = read_regular(path, what="--crl", limit=max_bytes, remedy=remedy)
        if found is None:
            raise InputError(f"--crl {path}: no such file; {remedy}")
        try:
            loaded.append((str(path), load_crl(found[0], max_bytes=max_bytes)))
        except Unproven as exc:
            raise InputError(f"--crl {path}: {exc}; {remedy}") from None
    return tuple(loaded)


K = TypeVar("K")

_SPENT = "not asked: the host's revocation time (one --timeout) ran out"


class _Budget:
    """One host's revocation time: once a fetch timed out, no other source is asked, so a
    hung responder costs one timeout, never more (SPEC.md 7)."""

    __slots__ = ("spent",)

    def __init__(self) -> None:
        self.spent = False

    def note(self, exc: Exception) -> None:
        if isinstance(exc, ConnectError) and exc.status == "timeout":
            self.spent = True


@dataclass
class _Pending:
    """A fetch in flight: other hosts that want the same URL wait for it."""


@dataclass
class Fetcher:
    """The run's revocation fetches, shared by its hosts (one thread: the pool's)."""

    proxy_for: ProxyFor
    max_bytes: int = CRL_MAX_BYTES
    crls: Sequence[tuple[str, Crl]] = ()
    """`--crl` files, (path, CRL), asked before anything is fetched."""
    cache: AnswerCache | None = None
    fetches: Counter[str] = field(default_factory=Counter)
    """URLs fetched in this run, and how often (once each, unless a bug)."""
    _crl_by_url: dict[str, Crl | str | _Pending] = field(default_factory=dict, init=False)
    """Each CRL URL's list, or why it gave none (a str), or a fetch in flight."""
    _ocsp: dict[tuple[str, int, bytes], Answer | str | _Pending] = field(
        default_factory=dict, init=False
    )
    """(responder, serial, issuer key) -> its answer, or why it gave none."""
    _signed: dict[tuple[str, bytes], str | None] = field(default_factory=dict, init=False)
    """(CRL, issuer key) -> None when the signature holds, else why not: checked once."""

    def check_path(
        self, path: Sequence[x509.Certificate], staple: bytes | None, mode: str, now: datetime
    ) -> Steps[PathRevocation]:
        """Every certificate of `path` but its trust anchor, leaf first."""
        certs = []
        budget = _Budget()
        for position, cert in enumerate(path[:-1]):
            found = yield from self._cert(position, cert, path[position + 1], staple, now, budget)
            certs.append(found)
        return PathRevocation(mode, tuple(certs))

    def _cert(
        self,
        position: int,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        staple: bytes | None,
        now: datetime,
        budget: _Budget,
    ) -> Steps[CertRevocation]:
        from pinctl.pki import crl as crls
        from pinctl.pki import ocsp

        faults: list[str] = []
        named = False
        unknown = False
        demanded = position == 0 and ocsp.must_staple(cert)
        if position == 0 and staple:
            named = True
            try:
                answer = ocsp.check(staple, cert, issuer, now)
            except Unproven as exc:
                faults.append(f"stapled OCSP response: {exc}")
            else:
                if answer.status != "unknown":
                    return CertRevocation(
                        position, cert, answer.status, "ocsp-stapled", None, answer
                    )
                unknown = True
                faults.append("stapled OCSP response: the responder does not know the certificate")
        elif demanded:
            faults.append("the certificate is must-staple and the server stapled no OCSP response")
        for label, given in self.crls:
            if given.issuer != cert.issuer:
                continue
            named = True
            try:
                answer = self._prove_crl(label, given, cert, issuer, now)
            except Unproven as exc:
                faults.append(f"--crl {label}: {exc}")
            else:
                return self._found(position, cert, "crl", label, answer, demanded, faults)
        for url in crls.distribution_points(cert):
            named = True
            if not url.lower().startswith("http://"):
                faults.append(f"CRL {url}: skipped, only http:// distribution points are fetched")
                continue
            if budget.spent:
                faults.append(f"CRL {url}: {_SPENT}")
                continue
            try:
                listed = yield from self._crl(url, now)
                answer = self._prove_crl(url, listed, cert, issuer, now)
            except (Unproven, ConnectError) as exc:
                budget.note(exc)
                faults.append(f"CRL {url}: {exc}")
                continue
            if self.cache is not None:
                self.cache.keep_crl(url, listed)
            return self._found(position, cert, "crl", url, answer, demanded, faults)
        for url in ocsp.responders(cert):
            named = True
            if not url.lower().startswith("http://"):
                faults.append(f"OCSP {url}: skipped, only http:// responders are asked")
                continue
            if budget.spent:
                faults.append(f"OCSP {url}: {_SPENT}")
                continue
            try:
                answer = yield from self._ocsp_answer(url, cert, issuer, now)
            except (Unproven, ConnectError) as exc:
                budget.note(exc)
                faults.append(f"OCSP {url}: {exc}")
                continue
            if answer.status == "unknown":
                unknown = True
                faults.append(f"OCSP {url}: the responder does not know the certificate")
                continue
            return self._found(position, cert, "ocsp", url, answer, demanded, faults)
        if not named:
            return CertRevocation(
                position, cert, "no-source", must_staple=demanded, faults=tuple(faults)
            )
        state: CertState = "unknown" if unknown else "unavailable"
        return CertRevocation(position, cert, state, faults=tuple(faults), must_staple=demanded)

    @staticmethod
    def _found(
        position: int,
        cert: x509.Certificate,
        source: SourceName,
        url: str,
        answer: Answer,
        demanded: bool,
        faults: list[str],
    ) -> CertRevocation:
        state: CertState = "revoked" if answer.status == "revoked" else "good"
        return CertRevocation(position, cert, state, source, url, answer, tuple(faults), demanded)

    def _prove_crl(
        self,
        label: str,
        listed: Crl,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        now: datetime,
    ) -> Answer:
        """`pinctl.pki.crl.check`, with the signature over a shared list checked once per issuer."""
        from pinctl.pki import crl as crls

        key = (label, _key_id(issuer))
        if key not in self._signed:
            try:
                crls.check_signature(listed, issuer)
                self._signed[key] = None
            except Unproven as exc:
                self._signed[key] = str(exc)
        fault = self._signed[key]
        if fault is not None:
            raise Unproven(fault)
        return crls.check(listed, cert, issuer, now, signature_checked=True)

    def _crl(self, url: str, now: datetime) -> Steps[Crl]:
        """The CRL at `url`: fetched once per run, or from the cache while it is fresh."""
        from pinctl.net import http
        from pinctl.pki.crl import load_crl

        yield from _settled(self._crl_by_url, url)
        known = self._crl_by_url.get(url)
        if known is None and self.cache is not None:
            known = self.cache.crl(url, now)
            if known is not None:
                self._crl_by_url[url] = known
        if isinstance(known, str):
            raise Unproven(known)  # this run fetched it already, and it failed
        if known is not None:
            assert not isinstance(known, _Pending)  # `_settled` waited that out
            return known
        self._crl_by_url[url] = _Pending()
        try:
            self.fetches[url] += 1
            response = yield from http.fetch(
                url,
                max_bytes=self.max_bytes,
                proxy_for=self.proxy_for,
                accept="application/pkix-crl, */*",
            )
            kind = (response.content_type or "").lower()
            if kind.startswith(_CRL_TYPES):
                raise Unproven(f"the server answered {kind.split(';')[0]}, not a CRL")
            listed = load_crl(response.body, max_bytes=self.max_bytes)
        except (Unproven, ConnectError) as exc:
            self._crl_by_url[url] = str(exc)
            raise
        except BaseException:
            del self._crl_by_url[url]  # closed or crashed mid-fetch: let another host try
            raise
        self._crl_by_url[url] = listed
        return listed

    def _ocsp_answer(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, now: datetime
    ) -> Steps[Answer]:
        from urllib.parse import quote

        from pinctl.net import http
        from pinctl.pki import ocsp

        key = (url, cert.serial_number, _key_id(issuer))
        yield from _settled(self._ocsp, key)
        known = self._ocsp.get(key)
        if known is None and self.cache is not None:
            known = self.cache.ocsp(url, cert, issuer, now)
        if isinstance(known, str):
            raise Unproven(known)  # this run fetched it already, and it failed
        if known is not None:
            assert not isinstance(known, _Pending)  # `_settled` waited that out
            return known
        self._ocsp[key] = _Pending()
        nonce = os.urandom(_NONCE_BYTES)
        request = ocsp.request(cert, issuer, nonce)
        encoded = base64.b64encode(request).decode("ascii")
        try:
            self.fetches[url] += 1
            accept = "application/ocsp-response"
            if len(encoded) <= _GET_LIMIT:
                get = url + ("" if url.endswith("/") else "/") + quote(encoded, safe="")
                response = yield from http.fetch(
                    get, max_bytes=self.max_bytes, proxy_for=self.proxy_for, accept=accept
                )
            else:
                response = yield from http.fetch(
                    url,
                    max_bytes=self.max_bytes,
                    proxy_for=self.proxy_for,
                    accept=accept,
                    body=request,
                    content_type="application/ocsp-request",
                )
            kind = (response.content_type or "").split(";")[0].strip().lower()
            if kind != accept:
                raise Unproven(f"the server answered {kind or 'no content type'}, not {accept}")
            answer = ocsp.check(response.body, cert, issuer, now, nonce)
        except (Unproven, ConnectError) as exc:
            self._ocsp[key] = str(exc)
            raise
        except BaseException:
            del self._ocsp[key]
            raise
        self._ocsp[key] = answer
        if self.cache is not None and answer.status != "unknown":
            self.cache.keep_ocsp(url, cert, issuer, response.body)
        return answer


def _settled(table: Mapping[K, object], key: K) -> Steps[None]:
    """Wait until no other host of the run is fetching `key`.

    One thread runs every host, so a host waits in short pauses, growing to 50 ms, for the
    other's fetch to end (it meets its own deadline meanwhile, like any wait)."""
    pause = 0.002
    while isinstance(table.get(key), _Pending):
        yield Wait(None, doing="waiting for another host's fetch", until=time.monotonic() + pause)
        pause = min(pause * 2, 0.05)


def _key_id(issuer: x509.Certificate) -> bytes:
    """The issuer, by its key: two issuer certificates of one key sign the same lists."""
    import hashlib

    from pinctl.pki.der import certificate_spki

    return hashlib.sha256(certificate_spki(issuer)).digest()
