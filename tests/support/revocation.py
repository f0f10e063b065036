"""A revocation world on loopback: a PKI made by the openssl CLI, its CRLs, an OCSP responder.

`RevocationServer` is one HTTP server bound to 127.0.0.1 that serves CRL files and OCSP
answers, counts every request per path, and can misbehave per path (404, garbage, a
redirect loop, hang). The certificates `OpenSslPki` issues name its URLs, so the port is
chosen first and the PKI made for it. CRLs come from `openssl ca -gencrl`; OCSP answers
are built by `OcspPolicy` with cryptography's `OCSPResponseBuilder` (`openssl ocsp -port`
would bind every interface).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.server
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

Route = Callable[[str, bytes], tuple[int, dict[str, str], bytes]]
"""(method, request body) -> (status, headers, body)."""
HANG = "hang"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class RevocationServer:
    """Serves `routes` on 127.0.0.1; `requests` counts them by path (query left out)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route | str] = {}
        self.requests: Counter[str] = Counter()
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, method: str) -> None:
                path = urllib.parse.urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                prefix = next(
                    (p for p in outer.routes if path == p or path.startswith(p + "/")), None
                )
                outer.requests[prefix or path] += 1
                if method == "GET" and prefix is not None and path != prefix:
                    body = base64.b64decode(urllib.parse.unquote(path[len(prefix) :].lstrip("/")))
                route = outer.routes.get(prefix) if prefix else None
                if route == HANG:
                    outer.stopping.wait(30)
                    return
                if route is None or isinstance(route, str):
                    status, headers, data = 404, {"Content-Type": "text/html"}, b"not found"
                else:
                    status, headers, data = route(method, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RevocationServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_file(self, path: str, file: Path, content_type: str = "application/pkix-crl") -> None:
        data = file.read_bytes()
        self.routes[path] = lambda method, body: (200, {"Content-Type": content_type}, data)

    def serve(self, path: str, status: int, headers: dict[str, str], data: bytes = b"") -> None:
        self.routes[path] = lambda method, body: (status, headers, data)


def openssl(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["openssl", *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {done.stderr}")
    return done.stdout


_CA_CONFIG = """\
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
crlnumber = {dir}/crlnumber
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ crl_plain ]
authorityKeyIdentifier = keyid:always
[ crl_idp ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[ idp ]
fullname = URI:{idp}
"""


@dataclass
class Ca:
    """A CA directory that `openssl ca` keeps its database in."""

    dir: Path
    name: str

    @property
    def cert_path(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def key_path(self) -> Path:
        return self.dir / "ca.key"

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def config(self, idp: str = "http://unused.invalid/") -> Path:
        path = self.dir / "ca.cnf"
        path.write_text(_CA_CONFIG.format(dir=self.dir, idp=idp))
        return path

    def revoke(self, cert: Path, reason: str = "keyCompromise") -> None:
        openssl("ca", "-batch", "-config", str(self.config()), "-revoke", str(cert),
                "-crl_reason", reason)  # fmt: skip

    def gencrl(
        self,
        out: Path,
        *,
        last: dt.datetime | None = None,
        next_: dt.datetime | None = None,
        idp: str | None = None,
    ) -> Path:
        """`openssl ca -gencrl`, optionally dated (stale) or scoped to one distribution point."""
        args = ["ca", "-batch", "-gencrl", "-config", str(self.config(idp or "http://x/"))]
        args += ["-crlexts", "crl_idp" if idp else "crl_plain", "-out", str(out)]
        if last is not None:
            args += ["-crl_lastupdate", last.strftime("%Y%m%d%H%M%SZ")]
        if next_ is not None:
            args += ["-crl_nextupdate", next_.strftime("%Y%m%d%H%M%SZ")]
        openssl(*args)
        return out


_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


class OpenSslPki:
    """Root -> intermediate -> leaves, every certificate naming `server`'s URLs."""

    def __init__(self, base: Path, server: RevocationServer) -> None:
        self.base = base
        self.server = server
        self._serial = 0x1000
        self.root = self._ca("root", None, crl=None, ocsp=None)
        self.inter = self._ca(
            "inter", self.root, crl=server.url("/root.crl"), ocsp=server.url("/ocsp-root")
        )

    def _next_serial(self) -> str:
        self._serial += 1
        return hex(self._serial)

    def _ca(self, name: str, parent: Ca | None, *, crl: str | None, ocsp: str | None) -> Ca:
        ca = Ca(self.base / name, name)
        ca.dir.mkdir(parents=True)
        (ca.dir / "index.txt").write_text("")
        (ca.dir / "serial").write_text("01\n")
        (ca.dir / "crlnumber").write_text("01\n")
        subject = f"/CN=pinctl test {name}"
        exts = [
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign",
            "subjectKeyIdentifier=hash",
        ]
        if parent is None:
            added = [a for e in exts for a in ("-addext", e)]
            openssl("req", "-x509", *_KEY, "-keyout", str(ca.key_path), "-out", str(ca.cert_path),
                    "-subj", subject, "-days", "30", *added)  # fmt: skip
            return ca
        exts.append("authorityKeyIdentifier=keyid:always")
        if crl:
            exts.append(f"crlDistributionPoints=URI:{crl}")
        if ocsp:
            exts.append(f"authorityInfoAccess=OCSP;URI:{ocsp}")
        self._sign(ca.dir / "ca", subject, parent, exts)
        (ca.dir / "ca.crt.pem").rename(ca.cert_path)
        return ca

    def _sign(self, stem: Path, subject: str, parent: Ca, exts: list[str]) -> Path:
        ext_file = stem.with_suffix(".ext")
        ext_file.write_text("\n".join(exts) + "\n")
        csr = stem.with_suffix(".csr")
        openssl("req", "-new", *_KEY, "-keyout", str(stem.with_suffix(".key")), "-out", str(csr),
                "-subj", subject)  # fmt: skip
        cert = stem.with_suffix(".crt.pem")
        openssl("x509", "-req", "-in", str(csr), "-CA", str(parent.cert_path), "-CAkey",
                str(parent.key_path), "-set_serial", self._next_serial(), "-days", "20",
                "-extfile", str(ext_file), "-out", str(cert))  # fmt: skip
        return cert

    def leaf(
        self,
        name: str,
        *,
        crl: str | None = "/inter.crl",
        ocsp: str | None = "/ocsp",
        must_staple: bool = False,
        issuer: Ca | None = None,
    ) -> Leaf:
        """A leaf for localhost/127.0.0.1; `crl` and `ocsp` are paths on the server (or URLs)."""
        exts = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "subjectKeyIdentifier=hash",
            "authorityKeyIdentifier=keyid:always",
        ]
        if crl:
            exts.append(f"crlDistributionPoints=URI:{self._url(crl)}")
        if ocsp:
            exts.append(f"authorityInfoAccess=OCSP;URI:{self._url(ocsp)}")
        if must_staple:
            exts.append("tlsfeature=status_request")
        stem = self.base / name
        cert = self._sign(stem, f"/CN={name}", issuer or self.inter, exts)
        return Leaf(cert, stem.with_suffix(".key"), (issuer or self.inter).cert_path)

    def _url(self, where: str) -> str:
        return where if "://" in where else self.server.url(where)

    def responder(self, name: str, *, eku: bool = True, past: bool = False) -> Signer:
        """A delegated OCSP responder certificate issued by the intermediate."""
        exts = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
                "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid:always"]  # fmt: skip
        if eku:
            exts.append("extendedKeyUsage=OCSPSigning")
        stem = self.base / name
        cert_path = self._sign(stem, f"/CN={name}", self.inter, exts)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(stem.with_suffix(".key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        if past:  # re-sign with validity in the past: an expired responder
            builder = (
                x509.CertificateBuilder()
                .subject_name(cert.subject)
                .issuer_name(cert.issuer)
                .public_key(key.public_key())
                .serial_number(cert.serial_number)
                .not_valid_before(utcnow() - dt.timedelta(days=30))
                .not_valid_after(utcnow() - dt.timedelta(days=1))
            )
            for extension in cert.extensions:
                builder = builder.add_extension(extension.value, extension.critical)
            cert = builder.sign(self.inter.key, hashes.SHA256())
        return Signer(cert, key)


@dataclass(frozen=True)
class Leaf:
    cert_path: Path
    key_path: Path
    issuer_path: Path

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    def chain_pem(self) -> bytes:
        return self.cert_path.read_bytes() + self.issuer_path.read_bytes()


@dataclass(frozen=True)
class Signer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass
class OcspPolicy:
    """How the test responder answers: per serial, signed by `signer`, dated and nonced so."""

    issuer: x509.Certificate
    signer: Signer
    delegate: bool = False
    """Include the signer's certificate and name it as the responder (a delegated responder)."""
    revoked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    this_update: dt.timedelta = dt.timedelta(minutes=-1)
    next_update: dt.timedelta | None = dt.timedelta(hours=1)
    nonce: str = "echo"
    """echo, wrong or none."""
    status: ocsp.OCSPResponseStatus = ocsp.OCSPResponseStatus.SUCCESSFUL
    wrong_serial: bool = False
    tamper: bool = False
    """Flip the signature's last byte: a response signed by no key anyone holds."""
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise
    """The revocation reason a revoked answer gives; None gives none (it is optional)."""

    def answer(self, request_der: bytes) -> bytes:
        if self.status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(self.status).public_bytes(
                serialization.Encoding.DER
            )
        request = ocsp.load_der_ocsp_request(request_der)
        serial = request.serial_number + (1 if self.wrong_serial else 0)
        now = utcnow()
        cert_status = ocsp.OCSPCertStatus.GOOD
        revoked_at = reason = None
        if request.serial_number in self.revoked:
            cert_status, revoked_at = ocsp.OCSPCertStatus.REVOKED, now - dt.timedelta(hours=1)
            reason = self.reason
        elif request.serial_number in self.unknown:
            cert_status = ocsp.OCSPCertStatus.UNKNOWN
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=cert_status,
            this_update=now + self.this_update,
            next_update=now + self.next_update if self.next_update is not None else None,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        responder = self.signer.cert if self.delegate else self.issuer
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
        if self.delegate:
            builder = builder.certificates([self.signer.cert])
        nonce = _nonce(request)
        if self.nonce != "none" and nonce is not None:
            sent = nonce if self.nonce == "echo" else bytes(len(nonce))
            builder = builder.add_extension(x509.OCSPNonce(sent), critical=False)
        response = builder.sign(self.signer.key, hashes.SHA256())
        der = response.public_bytes(serialization.Encoding.DER)
        return der[:-1] + bytes([der[-1] ^ 1]) if self.tamper and not self.delegate else der

    def route(self) -> Route:
        return lambda method, body: (
            200,
            {"Content-Type": "application/ocsp-response"},
            self.answer(body),
        )

    def but(self, **changes: object) -> OcspPolicy:
        return replace(self, **changes)  # type: ignore[arg-type]


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def ca_signer(ca: Ca) -> Signer:
    return Signer(ca.cert, ca.key)


@contextlib.contextmanager
def s_server(
    leaf: Leaf, status_file: Path | None, tls: str, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """`openssl s_server` on 127.0.0.1 with the leaf and its issuer, stapling `status_file`."""
    args = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(leaf.cert_path),
            "-key", str(leaf.key_path), "-cert_chain", str(leaf.issuer_path), f"-{tls}",
            "-www", "-quiet"]  # fmt: skip
    if status_file is not None:
        args += ["-status_file", str(status_file)]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        import socket

        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield process
    finally:
        process.kill()
        process.wait()
