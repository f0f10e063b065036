"""A small HTTP CONNECT proxy on loopback, recording what it was asked, for `--proxy` tests.

It tunnels bytes both ways once it has answered ``200``, refuses with ``status`` when told
to, relays plain HTTP requests in absolute form (as CRL and OCSP fetches go through a
proxy), and only ever connects to loopback addresses: a test can never reach the internet.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.servers import LoopbackServer


@dataclass
class ProxyLog:
    """What the proxy saw: one request head per connection, in order."""

    requests: list[str] = field(default_factory=list)

    @property
    def connects(self) -> list[str]:
        """The authority of every CONNECT request (``127.0.0.1:8443``)."""
        return [r.split(" ")[1] for r in self.requests if r.startswith("CONNECT ")]

    def header(self, index: int, name: str) -> str | None:
        for line in self.requests[index].split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _split_authority(authority: str) -> tuple[str, int]:
    host, _, port = authority.rpartition(":")
    return host.strip("[]"), int(port)


def _pump(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([a, b], [], [], 0.2)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


@dataclass
class _Absolute:
    method: str
    host: str
    port: int
    target: str


def _absolute(line: str) -> _Absolute:
    from urllib.parse import urlsplit

    method, url, _ = line.split(" ", 2)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Absolute(method, parts.hostname or "", parts.port or 80, target)


def _forward(conn: socket.socket, head: bytes, early: bytes, stop: threading.Event) -> None:
    """Relay a plain HTTP request made to the proxy in absolute form, to loopback only."""
    first, _, rest = head.partition(b"\r\n")
    wanted = _absolute(first.decode("latin-1"))
    if not ipaddress.ip_address(wanted.host).is_loopback:
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        return
    with socket.create_connection((wanted.host, wanted.port), timeout=5) as upstream:
        line = f"{wanted.method} {wanted.target} HTTP/1.1\r\n".encode()
        upstream.sendall(line + rest + b"\r\n\r\n" + early)
        _pump(conn, upstream, stop)


@contextlib.contextmanager
def connect_proxy(
    status: int = 200, require_auth: str | None = None
) -> Iterator[tuple[str, ProxyLog]]:
    """Yield (``http://127.0.0.1:PORT``, log); `require_auth` is an expected Basic value."""
    log = ProxyLog()
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        head, _, early = _read_head(conn).partition(b"\r\n\r\n")
        request = head.decode("latin-1")
        log.requests.append(request)
        if request.startswith(("GET http://", "POST http://")):
            _forward(conn, head, early, stop)  # plain HTTP in absolute form (CRL and OCSP)
            return
        if not request.startswith("CONNECT "):
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if (
            require_auth is not None
            and log.header(len(log.requests) - 1, "Proxy-Authorization") != require_auth
        ):
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        if status != 200:
            conn.sendall(f"HTTP/1.1 {status} Refused by test proxy\r\n\r\n".encode())
            return
        host, port = _split_authority(request.split(" ")[1])
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host, port), timeout=5)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            return
        with upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if early:
                upstream.sendall(early)
            _pump(conn, upstream, stop)

    with LoopbackServer(handle) as server:
        try:
            yield f"http://127.0.0.1:{server.port}", log
        finally:
            stop.set()
