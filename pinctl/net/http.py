"""The small HTTP/1.1 client that fetches CRLs and OCSP answers, as steps on the pool.

Revocation sources are plain http:// URLs (RFC 5280 and 6960 forbid https for them: the
answers are signed), so this needs no TLS and no HTTP library: one request per
connection (`Connection: close`), through the HTTP proxy chosen by curl's rules
(`--proxy`, else `http_proxy`, honouring `NO_PROXY`), at most `MAX_REDIRECTS` redirects,
and a cap on the body that is enforced while reading, so an endless or oversized answer
costs at most the cap. Every wait meets the deadline of whoever drives the steps.
Faults raise `ConnectError` saying what went wrong; the caller names the URL it asked
for, and a message names any URL a redirect led to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pinctl.errors import ConnectError
from pinctl.hostnames import join_host_port
from pinctl.net.proxy import Proxy, bypasses_proxy, parse_proxy
from pinctl.net.steps import Steps

MAX_REDIRECTS = 3
_MAX_HEAD = 65536
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

ProxyFor = Callable[[str], "Proxy | None"]
"""The proxy for a URL's host, or None to go direct."""


@dataclass(frozen=True)
class Response:
    url: str
    """The URL that answered, after redirects."""
    status: int
    content_type: str | None
    body: bytes
    location: str | None = None
    """Where a redirect points."""


def proxy_chooser(proxy: str | None, environ: Mapping[str, str]) -> ProxyFor:
    """curl's choice for http:// URLs: `--proxy` ('' for none), else `http_proxy`, NO_PROXY.

    Parsed up front: a malformed proxy URL is a usage error before anything is dialled.
    """
    if proxy is not None:
        chosen = parse_proxy(proxy) if proxy.strip() else None
        return lambda host: chosen
    text = environ.get("http_proxy")  # lower case only, as curl: HTTP_PROXY is forgeable by CGI
    if not text:
        return lambda host: None
    parsed = parse_proxy(text, "http_proxy")
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY", "")
    return lambda host: None if bypasses_proxy(host, no_proxy) else parsed


@dataclass(frozen=True)
class _Url:
    host: str
    port: int
    target: str
    """The request target, path and query: ``/x?y``."""

    @property
    def authority(self) -> str:
        if self.port != 80:
            return join_host_port(self.host, self.port)
        return f"[{self.host}]" if ":" in self.host else self.host


def _parse(url: str, what: str) -> _Url:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConnectError(f"{what} {url!r}: not a valid URL") from None
    if parts.scheme.lower() != "http":
        raise ConnectError(f"{what} {url!r}: not an http:// URL ({parts.scheme or 'no'} scheme)")
    if not parts.hostname:
        raise ConnectError(f"{what} {url!r}: no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Url(parts.hostname, port or 80, target)


def fetch(
    url: str,
    *,
    max_bytes: int,
    proxy_for: ProxyFor,
    accept: str,
    body: bytes | None = None,
    content_type: str | None = None,
) -> Steps[Response]:
    """GET `url` (POST `body` when given), following up to 3 redirects; a 200 or an error."""
    from urllib.parse import urljoin

    current = url
    for _ in range(MAX_REDIRECTS + 1):
        where = "" if current == url else f"redirected to {current}: "
        parsed = _parse(current, "the URL" if current == url else "a redirect to")
        try:
            response = yield from _exchange(
                current, parsed, proxy_for(parsed.host), accept, body, content_type, max_bytes
            )
        except ConnectError as exc:
            raise ConnectError(f"{where}{exc}", exc.status) from None
        if response.status in _REDIRECTS:
            location = response.location
            if not location:
                raise ConnectError(f"{where}HTTP {response.status} without a Location")
            current = urljoin(current, location)
            if response.status == 303 or (response.status in (301, 302) and body is not None):
                body, content_type = None, None
            continue
        if response.status != 200:
            raise ConnectError(f"{where}HTTP {response.status}")
        return response
    raise ConnectError(f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")


def _exchange(
    url: str,
    parsed: _Url,
    proxy: Proxy | None,
    accept: str,
    body: bytes | None,
    content_type: str | None,
    max_bytes: int,
) -> Steps[Response]:
    # One way to open a socket and move bytes by a deadline: the handshake's.
    from pinctl.net.tls import _dial, _recv, _send

    via = f"proxy {proxy.label}" if proxy else ""
    where = (proxy.host, proxy.port) if proxy else (parsed.host, parsed.port)
    sock = yield from _dial(where[0], where[1], None, via)
    doing = "waiting for the answer"
    try:
        lines = [
            f"{'POST' if body is not None else 'GET'} {url if proxy else parsed.target} HTTP/1.1",
            f"Host: {parsed.authority}",
            "User-Agent: pinctl",
            f"Accept: {accept}",
            "Connection: close",
        ]
        if proxy and proxy.authorization:
            lines.append(f"Proxy-Authorization: {proxy.authorization}")
        if body is not None:
            lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")
        yield from _send(sock, request, doing)
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_HEAD:
                raise ConnectError(f"the response headers are over {_MAX_HEAD} bytes")
            chunk = yield from _recv(sock, doing)
            if not chunk:
                raise ConnectError("the server closed the connection before answering")
            buffer += chunk
        end = buffer.index(b"\r\n\r\n")
        status, headers = _head(bytes(buffer[:end]))
        del buffer[: end + 4]
        if status in _REDIRECTS:
            return Response(url, status, None, b"", headers.get("location"))
        length = headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise ConnectError(f"the body has {expected} bytes, over the cap of {max_bytes}")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        while expected is None or len(buffer) < expected:
            if len(buffer) > max_bytes + (_MAX_HEAD if chunked else 0):
                raise ConnectError(f"the body is over the cap of {max_bytes} bytes")
            chunk = yield from _recv(sock, doing)
            if not chunk:
                if expected is not None:
                    raise ConnectError(
                        f"the body was cut short at {len(buffer)} of {expected} bytes"
                    )
                break
            buffer += chunk
    finally:
        sock.close()
    data = _dechunk(buffer) if chunked else bytes(buffer[:expected])
    if len(data) > max_bytes:
        raise ConnectError(f"the body is over the cap of {max_bytes} bytes")
    return Response(url, status, headers.get("content-type"), data)


def _head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        shown = "".join(c for c in lines[0][:60] if c.isprintable()) or "nothing"
        raise ConnectError(f"not an HTTP response (it began {shown!r})")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _dechunk(raw: bytearray) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        eol = raw.find(b"\r\n", pos)
        size_text = bytes(raw[pos:eol]).split(b";")[0].strip() if eol >= 0 else b""
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ConnectError("a malformed chunked body") from None
        if size == 0:
            return bytes(out)
        start = eol + 2
        if start + size > len(raw):
            raise ConnectError("the chunked body was cut short")
        out += raw[start : start + size]
        pos = start + size + 2
