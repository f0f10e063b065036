"""A host whose key can be rotated under a test: one CA, leaves for any key, and a loopback
server that serves whichever chain the test deployed last."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.pki import issue
from tests.support.servers import LoopbackServer, pem_context

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def pin_of(cert: x509.Certificate) -> str:
    return str(compute(spki_der(cert.public_key())))


def key_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class RotatingHost:
    """A root, an intermediate, and the chain a loopback server presents right now."""

    root: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] = field(
        default_factory=lambda: issue("Rotation Root")
    )
    intermediate: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] = field(init=False)
    context: ssl.SSLContext | None = None
    leaf: x509.Certificate | None = None

    def __post_init__(self) -> None:
        self.intermediate = issue("Rotation CA 1", self.root)

    def write_root(self, path: Path) -> Path:
        path.write_bytes(self.root[0].public_bytes(serialization.Encoding.PEM))
        return path

    def deploy(
        self,
        key: CertificateIssuerPrivateKeyTypes | None = None,
        *,
        age_days: int = 10,
        days_left: int = 80,
    ) -> x509.Certificate:
        """Issue a leaf for `key` (a new one by default) and serve it from now on."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        inter, inter_key = self.intermediate
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        leaf = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(inter.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - age_days * DAY)
            .not_valid_after(NOW + days_left * DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(inter_key, hashes.SHA256())
        )
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, inter))
        self.context = pem_context(chain, key_pem(key))
        self.leaf = leaf
        return leaf

    def save_chain(self, path: Path) -> Path:
        assert self.leaf is not None
        certs = (self.leaf, self.intermediate[0])
        path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
        return path

    def handle(self, conn: socket.socket) -> None:
        assert self.context is not None, "deploy() a key first"
        with (
            self.context.wrap_socket(conn, server_side=True) as tls,
            contextlib.suppress(OSError, ssl.SSLError),
        ):
            tls.recv(1)

    @contextlib.contextmanager
    def serving(self) -> Iterator[LoopbackServer]:
        with LoopbackServer(self.handle) as server:
            yield server


def load_key(path: Path, passphrase: bytes | None) -> CertificateIssuerPrivateKeyTypes:
    """A key backup-keygen wrote, to deploy it as the server's next key."""
    return serialization.load_pem_private_key(path.read_bytes(), passphrase)  # type: ignore[return-value]
