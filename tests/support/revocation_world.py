"""The revocation world the verify and fetch tests share: made once per module, reset per test.

Certificates for every scenario of SPEC.md section 7 (CRL only, OCSP only, both, a
partitioned CRL, an ldap:// point, no source, must-staple), the CRLs `openssl ca -gencrl`
made for them (fresh, stale, of another shard, of an impostor key, a revoked intermediate),
and a responder that knows every certificate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pinctl.pki.der import certificate_spki
from pinctl.pki.pins import compute
from tests.support.cli import Invocation, invoke
from tests.support.revocation import (
    Ca,
    Leaf,
    OcspPolicy,
    OpenSslPki,
    RevocationServer,
    ca_signer,
    openssl,
    utcnow,
)
from tests.support.servers import pem_context, tls_server

BACKUP = compute(b"a backup key")
"""Every host has a backup pin and warn_days = 1, so that only revocation warns."""
NO_PROXY_ENV = {"http_proxy": "", "https_proxy": "", "HTTPS_PROXY": "", "PINCTL_CACHE_DIR": ""}


@dataclass
class World:
    base: Path
    server: RevocationServer
    pki: OpenSslPki
    leaves: dict[str, Leaf]
    crls: dict[str, Path]
    ocsp: OcspPolicy

    def reset(self) -> None:
        """Every source answers well: fresh CRLs, a responder that knows every certificate."""
        self.server.routes.clear()
        self.server.requests.clear()
        self.server.serve_file("/inter.crl", self.crls["inter"])
        self.server.serve_file("/root.crl", self.crls["root"])
        self.server.serve_file("/shard-1.crl", self.crls["shard-1"])
        self.ocsp = OcspPolicy(self.pki.inter.cert, ca_signer(self.pki.inter))
        self.ocsp.revoked.add(self.leaves["ocsp-bad"].cert.serial_number)
        self.ocsp.revoked.add(self.leaves["both-bad"].cert.serial_number)
        self.server.routes["/ocsp"] = lambda method, body: self.ocsp.route()(method, body)
        root_policy = OcspPolicy(self.pki.root.cert, ca_signer(self.pki.root))
        self.server.routes["/ocsp-root"] = root_policy.route()

    def pin_file(self, leaf: Leaf, port: int, extra: str = "") -> Path:
        pin = compute(certificate_spki(leaf.cert))
        path = self.base / "pins.toml"
        path.write_text(
            f'version = 1\n[defaults]\nca_file = "{self.pki.root.cert_path}"\nwarn_days = 1\n'
            f'{extra}[[hosts]]\nhost = "localhost"\nport = {port}\n'
            f'pins = [{{ pin = "{pin}" }}, {{ pin = "{BACKUP}", backup = true }}]\n'
        )
        return path

    def verify(self, leaf: str, *args: str, extra: str = "", port: int | None = None) -> Checked:
        """`pinctl verify -o json` against a loopback TLS server presenting `leaf` (or the
        server already listening on `port`)."""
        chosen = self.leaves[leaf]
        if port is not None:
            pins = self.pin_file(chosen, port, extra)
            argv = ["verify", "--pin-file", str(pins), "-o", "json", *args]
            return Checked(invoke(argv, env=NO_PROXY_ENV))
        context = pem_context(chosen.chain_pem(), chosen.key_path.read_bytes())
        with tls_server(context) as tls:
            return self.verify(leaf, *args, extra=extra, port=tls.port)

    def staple(self, leaf: str, path: Path) -> Path:
        """The responder's answer for `leaf`, saved for `openssl s_server -status_file`."""
        from pinctl.pki import ocsp

        chosen = self.leaves[leaf]
        if chosen.issuer_path == self.pki.root.cert_path:  # a leaf right under the root
            policy = OcspPolicy(self.pki.root.cert, ca_signer(self.pki.root))
            request = ocsp.request(chosen.cert, self.pki.root.cert, None)
            path.write_bytes(policy.answer(request))
            return path
        request = ocsp.request(chosen.cert, self.pki.inter.cert, None)
        path.write_bytes(self.ocsp.answer(request))
        return path


@dataclass
class Checked:
    result: Invocation

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def host(self) -> dict[str, Any]:
        host: dict[str, Any] = json.loads(self.result.stdout)["hosts"][0]
        return host

    @property
    def status(self) -> str:
        return str(self.host["status"])

    @property
    def certs(self) -> list[dict[str, Any]]:
        certs: list[dict[str, Any]] = self.host["revocation"]["certs"]
        return certs

    @property
    def text(self) -> str:
        """Everything a person reads about the host: error, warnings, per-cert errors."""
        host = self.host
        parts = [host["error"] or "", *host["warnings"]]
        parts += [c["error"] or "" for c in (host["revocation"] or {"certs": []})["certs"]]
        return "\n".join(parts)


def _impostor(base: Path, like: Ca) -> Ca:
    """A CA with the intermediate's name but another key: its CRLs must not count."""
    evil = Ca(base / "impostor", "impostor")
    evil.dir.mkdir()
    (evil.dir / "index.txt").write_text("")
    (evil.dir / "serial").write_text("01\n")
    (evil.dir / "crlnumber").write_text("01\n")
    subject = like.cert.subject.rfc4514_string()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(evil.key_path), "-out", str(evil.cert_path), "-subj", f"/{subject}",
            "-days", "30")  # fmt: skip
    return evil


@contextlib.contextmanager
def make_world(base: Path) -> Iterator[World]:
    """The world, its server running until the context ends."""
    with RevocationServer() as server:
        pki = OpenSslPki(base / "pki", server)
        leaves = {
            "crl-good": pki.leaf("crl-good", ocsp=None),
            "crl-bad": pki.leaf("crl-bad", ocsp=None),
            "ocsp-good": pki.leaf("ocsp-good", crl=None),
            "ocsp-bad": pki.leaf("ocsp-bad", crl=None),
            "both-good": pki.leaf("both-good"),
            "both-bad": pki.leaf("both-bad"),
            "shard": pki.leaf("shard", crl="/shard-1.crl", ocsp=None),
            "ldap": pki.leaf("ldap", crl="ldap://127.0.0.1/cn=crl", ocsp=None),
            "none": pki.leaf("none", crl=None, ocsp=None),
            "must-staple": pki.leaf("must-staple", crl=None, ocsp=None, must_staple=True),
            "staple-only": pki.leaf("staple-only", crl=None, ocsp=None),
            "under-root": pki.leaf("under-root", crl=None, ocsp=None, issuer=pki.root),
        }
        crls = {"root": pki.root.gencrl(base / "root.crl")}
        pki.inter.revoke(leaves["crl-bad"].cert_path)
        pki.inter.revoke(leaves["both-bad"].cert_path)
        crls["inter"] = pki.inter.gencrl(base / "inter.crl")
        now = utcnow()
        crls["stale"] = pki.inter.gencrl(
            base / "stale.crl", last=now - dt.timedelta(days=10), next_=now - dt.timedelta(days=3)
        )
        crls["shard-1"] = pki.inter.gencrl(base / "shard-1.crl", idp=server.url("/shard-1.crl"))
        crls["shard-2"] = pki.inter.gencrl(base / "shard-2.crl", idp=server.url("/shard-2.crl"))
        crls["impostor"] = _impostor(base, pki.inter).gencrl(base / "impostor.crl")
        pki.root.revoke(pki.inter.cert_path, "cACompromise")
        crls["root-revoked"] = pki.root.gencrl(base / "root-revoked.crl")
        policy = OcspPolicy(pki.inter.cert, ca_signer(pki.inter))
        made = World(base, server, pki, leaves, crls, policy)
        made.reset()
        yield made
