"""Real servers on loopback for the tests: TLS with real certificates, and hostile peers.

Each server binds port 0 on loopback, serves from daemon threads, and stops when its
context manager exits, so no test leaves a socket behind or needs the internet.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import trustme

Handler = Callable[[socket.socket], None]
_HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class LoopbackServer:
    """Accepts connections on loopback and hands each to `handler` in its own thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.handler = handler
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(256)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux.
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def wait_stopping(self, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when the server is stopping."""
        return self._stop.wait(seconds)


def tls_handler(context: ssl.SSLContext) -> Handler:
    """Complete a real handshake, answer one read with a tiny HTTP response, and close."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        with (
            context.wrap_socket(conn, server_side=True) as tls,
            contextlib.suppress(OSError, ssl.SSLError),
        ):
            if tls.recv(4096):
                tls.sendall(_HTTP_OK)

    return handle


@contextlib.contextmanager
def tls_server(context: ssl.SSLContext, host: str = "127.0.0.1") -> Iterator[LoopbackServer]:
    with LoopbackServer(tls_handler(context), host) as server:
        yield server


def _read_some(conn: socket.socket) -> None:
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        conn.recv(4096)


def silent_handler(server_holder: list[LoopbackServer]) -> Handler:
    """Accept and never say a word (until the test ends)."""

    def handle(conn: socket.socket) -> None:
        server_holder[0].wait_stopping(120)

    return handle


@contextlib.contextmanager
def hostile_server(mode: str, *, drip_interval: float = 1.0) -> Iterator[LoopbackServer]:
    """A peer that misbehaves: ``silent``, ``garbage``, ``reset``, ``drip`` or ``alert``.

    ``drip`` sends a byte every `drip_interval` seconds: shorter than a client's timeout, it
    catches clients whose timeout applies per read instead of to the whole handshake.
    """
    holder: list[LoopbackServer] = []

    def silent(conn: socket.socket) -> None:
        holder[0].wait_stopping(120)

    def garbage(conn: socket.socket) -> None:
        _read_some(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS at all\x00\xff" * 8)

    def reset(conn: socket.socket) -> None:
        _read_some(conn)
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def drip(conn: socket.socket) -> None:
        _read_some(conn)
        # A TLS handshake record header, then a byte a second, for ever.
        for byte in b"\x16\x03\x03\x40\x00" + b"\x02" * 0x4000:
            if holder[0].wait_stopping(drip_interval):
                return
            conn.sendall(bytes([byte]))

    def alert(conn: socket.socket) -> None:
        _read_some(conn)
        # A fatal handshake_failure alert: a real TLS peer that will not talk to us.
        conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")

    handlers: dict[str, Handler] = {
        "alert": alert,
        "silent": silent,
        "garbage": garbage,
        "reset": reset,
        "drip": drip,
    }
    with LoopbackServer(handlers[mode]) as server:
        holder.append(server)
        yield server


def closed_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def sni_context(
    default: ssl.SSLContext,
    by_name: dict[str, ssl.SSLContext],
    seen: list[str | None] | None = None,
) -> ssl.SSLContext:
    """Serve another certificate when the client's SNI names it; record each SNI in `seen`."""

    def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if seen is not None:
            seen.append(name)
        if name in by_name:
            sslobj.context = by_name[name]

    default.sni_callback = pick
    return default


def pem_context(chain_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context for a chain and key made by hand (self-signed, served root, ...)."""
    import os
    import tempfile

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem + chain_pem)
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    return ctx


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port whose accept queue is full, so a new connect() hangs like a black hole."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.05)
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


_OPENSSL_FLAGS = {ssl.TLSVersion.TLSv1: "-tls1", ssl.TLSVersion.TLSv1_1: "-tls1_1"}


@contextlib.contextmanager
def legacy_tls_server(cert: trustme.LeafCert, version: ssl.TLSVersion) -> Iterator[LoopbackServer]:
    """A server that speaks only TLS 1.0 or 1.1 (`version`), at security level 0.

    It is skipped only when the environment cannot serve that protocol, as `openssl
    s_client` proves against this very server: never because of what pinctl does with it.
    """
    import warnings

    from tests.support.tools import openssl_serves

    ctx = server_context(cert)
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # the deprecation is the point of this server
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
    except (ssl.SSLError, ValueError) as exc:
        pytest.skip(f"Python's ssl module cannot be limited to {version.name} here: {exc}")
    with tls_server(ctx) as server:
        refused = openssl_serves(server.address, _OPENSSL_FLAGS[version])
        if refused is not None:
            pytest.skip(f"the local OpenSSL cannot serve {version.name}: openssl says {refused}")
        yield server
