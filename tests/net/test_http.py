"""pinctl.net.http: the small HTTP client for CRLs and OCSP, against real loopback servers."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from pinctl.errors import ConnectError, UsageError
from pinctl.net.http import Response, fetch, proxy_chooser
from pinctl.net.steps import drive
from tests.support.revocation import RevocationServer
from tests.support.servers import LoopbackServer, hostile_server


def _get(url: str, *, cap: int = 10_000, body: bytes | None = None, timeout: float = 5) -> Response:
    steps = fetch(url, max_bytes=cap, proxy_for=lambda host: None, accept="*/*", body=body,
                  content_type="application/ocsp-request" if body else None)  # fmt: skip
    return drive(steps, timeout)


def _raw(reply: bytes) -> Callable[[socket.socket], None]:
    """A server that reads the request head and sends `reply` as it is, then closes."""

    def handle(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        conn.sendall(reply)

    return handle


def test_a_get_and_a_post_are_answered() -> None:
    """GET fetches the body; POST sends its body (long OCSP requests go this way)."""
    with RevocationServer() as server:
        server.routes["/echo"] = lambda method, body: (
            200,
            {"Content-Type": "x/y"},
            method.encode() + body,
        )
        assert _get(server.url("/echo")).body == b"GET"
        posted = _get(server.url("/echo"), body=b"z" * 400)
        assert (posted.body, posted.content_type) == (b"POST" + b"z" * 400, "x/y")


def test_redirects_are_followed_up_to_three() -> None:
    """Three redirects are followed (303 turns a POST into a GET); a fourth is a loop."""
    with RevocationServer() as server:
        server.serve("/a", 301, {"Location": "/b"})
        server.serve("/b", 302, {"Location": "/c"})
        server.serve("/c", 303, {"Location": "/end"})
        server.routes["/end"] = lambda method, body: (200, {}, method.encode())
        assert _get(server.url("/a"), body=b"q").body == b"GET"
        server.serve("/end", 307, {"Location": "/a"})
        with pytest.raises(ConnectError, match="more than 3 redirects"):
            _get(server.url("/a"))


def test_chunked_bodies_are_decoded() -> None:
    """A chunked answer (no Content-Length) is put back together."""
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    with LoopbackServer(_raw(reply)) as server:
        assert _get(f"http://127.0.0.1:{server.port}/x").body == b"abcde"


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n", "over the cap of 10000"),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 20_000, "over the cap of 10000"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "cut short at 3 of 10"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP response"),
        (b"", "closed the connection before answering"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunked"),
    ],
)
def test_bad_answers_are_named(reply: bytes, words: str) -> None:
    """Oversized (declared or streamed), cut short, not HTTP, empty, bad chunks: one clear
    `ConnectError` each, never an exception of another kind."""
    with LoopbackServer(_raw(reply)) as server, pytest.raises(ConnectError, match=words):
        _get(f"http://127.0.0.1:{server.port}/x")


def test_a_silent_server_costs_the_timeout() -> None:
    """A server that never answers ends in a timeout, not a hang."""
    with (
        hostile_server("silent") as server,
        pytest.raises(ConnectError, match="timed out") as caught,
    ):
        _get(f"http://127.0.0.1:{server.port}/x", timeout=0.3)
    assert caught.value.status == "timeout"


def test_only_http_urls_are_fetched() -> None:
    """https://, ldap:// or a redirect to them is refused with the URL named."""
    with pytest.raises(ConnectError, match="not an http:// URL"):
        _get("ldap://127.0.0.1/cn=crl")
    with RevocationServer() as server:
        server.serve("/a", 302, {"Location": "https://127.0.0.1/x"})
        with pytest.raises(ConnectError, match=r"a redirect to 'https://127\.0\.0\.1/x'"):
            _get(server.url("/a"))


def test_the_proxy_is_chosen_as_curl_does() -> None:
    """--proxy wins ('' for none); else http_proxy (lower case only), unless NO_PROXY."""
    environ = {"http_proxy": "http://p.test:3128", "NO_PROXY": "crl.test"}
    chosen = proxy_chooser(None, environ)
    assert chosen("ocsp.example") is not None
    assert chosen("crl.test") is None
    assert proxy_chooser("", environ)("ocsp.example") is None
    assert proxy_chooser(None, {"HTTP_PROXY": "http://p.test:1"})("a.test") is None
    with pytest.raises(UsageError, match="http_proxy"):
        proxy_chooser(None, {"http_proxy": "socks5://p.test:1"})
