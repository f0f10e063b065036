"""The handshake: reach a target (directly or through an HTTP proxy) and get its chain.

This is the only module that imports pyOpenSSL. It verifies nothing (VERIFY_NONE), so a
broken server can still be inspected; validation happens afterwards in
`pinctl.pki.validation` on cryptography objects. Every step, DNS included
(`pinctl.net.resolver`), is a `Wait` in a generator (see `pinctl.net.steps`) and runs
against one deadline: a silent or dripping server costs the timeout, never more.
`connect_options` chooses the proxy for a target by curl's rules, which
`pinctl.net.proxy` implements. A target's STARTTLS dialogue (`pinctl.net.starttls`) is
one step between the connection, tunnelled or not, and the handshake.
"""

from __future__ import annotations

import dataclasses
import functools
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from pinctl.errors import ConnectError
from pinctl.hostnames import a_label, join_host_port
from pinctl.net.proxy import Proxy, parse_proxy, proxy_from_env
from pinctl.net.session import TlsInfo
from pinctl.net.sockets import READ_SIZE, dial, recv, send
from pinctl.net.steps import Steps, drive
from pinctl.net.targets import Target

if TYPE_CHECKING:
    from cryptography import x509
    from OpenSSL import SSL

    from pinctl.net.starttls.dialogue import Upgrade


@dataclass(frozen=True)
class ConnectOptions:
    timeout: float = 10.0
    """One total deadline for DNS, proxy, connect and handshake, in seconds."""
    family: int | None = None
    """4, 6, or None for any address family."""
    proxy: str | None = None
    """``http://[user:pass@]host:port``, already chosen from --proxy or the environment."""


def connect_options(
    target: Target,
    *,
    timeout: float,
    family: int | None,
    proxy: str | None,
    environ: Mapping[str, str],
) -> ConnectOptions:
    """An explicit proxy wins (``--proxy ''`` turns proxying off); else curl's environment rules.

    NO_PROXY exempts a target when it matches either its host or its --connect-to address:
    both name the same server, and a user who lists either expects a direct connection.
    """
    if proxy is not None:
        chosen = proxy.strip() or None
        what = "--proxy"
    else:
        chosen = proxy_from_env(target.host, environ)
        if chosen is not None and proxy_from_env(target.connect_host, environ) is None:
            chosen = None
        what = "HTTPS_PROXY"
    if chosen is not None:
        parse_proxy(chosen, what)  # a bad proxy URL is a usage error before anything is dialled
    return ConnectOptions(timeout=timeout, family=family, proxy=chosen)


@dataclass(frozen=True)
class Handshake:
    """What a completed handshake showed, before anything was validated."""

    target: Target
    chain: tuple[x509.Certificate, ...]
    """As served, leaf first."""
    tls: TlsInfo
    forward_secrecy: bool
    """TLS 1.3, or an (EC)DHE key exchange in older versions."""
    starttls: Upgrade | None = None
    """The STARTTLS dialogue spoken before the handshake; None for TLS from the first byte."""


def handshake(target: Target, options: ConnectOptions) -> Handshake:
    """Connect and complete a TLS handshake, or raise `ConnectError` with its status."""
    return drive(handshake_steps(target, options), options.timeout)


def handshake_all(
    targets: Sequence[Target], options: Sequence[ConnectOptions], concurrency: int | None = None
) -> list[Handshake | ConnectError]:
    """Handshake with every target at once on the pool; in input order, each its own result.

    A failure that is not the target's (a bug) is raised once the others are done.
    """
    from pinctl.net.pool import run_pool

    def check(index: int, deadline: float) -> Steps[Handshake | ConnectError]:
        try:
            return (yield from handshake_steps(targets[index], options[index]))
        except ConnectError as exc:
            return exc

    crashes: list[Exception] = []

    def failed(index: int, exc: Exception) -> ConnectError:
        crashes.append(exc)
        return ConnectError(str(exc))

    results = run_pool(
        range(len(targets)),
        check,
        timeout=max((o.timeout for o in options), default=0.0),
        concurrency=concurrency,
        failed=failed,
        on_done=lambda _: None,
    )
    if crashes:
        raise crashes[0]
    return results


def handshake_steps(target: Target, options: ConnectOptions) -> Steps[Handshake]:
    """The handshake as waits, for a driver that owns the deadline (`options.timeout`)."""
    if options.proxy:
        proxy = parse_proxy(options.proxy)
        sock = yield from dial(proxy.host, proxy.port, None, f"proxy {proxy.label}")
        try:
            early = yield from _tunnel(sock, proxy, target)
        except BaseException:
            sock.close()
            raise
    else:
        sock = yield from dial(target.connect_host, target.connect_port, options.family, "")
        early = b""
    try:
        if target.starttls is None:
            return (yield from _tls(sock, target, early))
        from pinctl.net.starttls.dialogue import negotiate

        upgrade = yield from negotiate(
            sock, target.starttls, target.dialogue_name, early, send, recv
        )
        shake = yield from _tls(sock, target, b"")
        return dataclasses.replace(shake, starttls=upgrade)
    finally:
        sock.close()


def _tunnel(sock: socket.socket, proxy: Proxy, target: Target) -> Steps[bytes]:
    """Open an HTTP CONNECT tunnel; return any bytes that came after the proxy's headers."""
    host = target.connect_host
    authority = join_host_port(host if host.isascii() else _a_label(host), target.connect_port)
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", "User-Agent: pinctl"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    doing = f"while talking to proxy {proxy.label}"
    yield from send(sock, ("\r\n".join(lines) + "\r\n\r\n").encode(), doing)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > 65536:
            raise ConnectError(f"proxy {proxy.label} sent an oversized CONNECT response")
        chunk = yield from recv(sock, doing)
        if not chunk:
            raise ConnectError(f"proxy {proxy.label} closed the connection during CONNECT")
        buffer += chunk
    head, _, early = buffer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].startswith("2"):
        shown = "".join(c for c in status_line[:80] if c.isprintable()) or "no status line"
        raise ConnectError(f"proxy {proxy.label} refused CONNECT to {authority}: {shown}")
    return early


def _a_label(host: str) -> str:
    ascii_name = a_label(host)
    if ascii_name is None:
        raise ConnectError(f"{host!r} is not a valid internationalised host name")
    return ascii_name


def _tls(sock: socket.socket, target: Target, early: bytes) -> Steps[Handshake]:
    from OpenSSL import SSL

    conn = SSL.Connection(_context(), None)
    conn.set_connect_state()
    stapled: list[bytes] = []
    conn.set_app_data(stapled)  # `_staple` puts the server's OCSP response here
    conn.request_ocsp()
    if target.sni is not None:
        conn.set_tlsext_host_name(target.sni.encode("ascii"))
    if early:
        conn.bio_write(early)
    doing = "during the TLS handshake"
    received = early  # the first bytes, to say what a non-TLS server sent
    try:
        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                yield from _flush(conn, sock, doing)
                data = yield from recv(sock, doing)
                if not data:
                    raise ConnectError(
                        _not_tls(received, target.starttls)
                        or "the server closed the connection " + doing,
                        "tls-error",
                    ) from None
                received = (received + data)[:64]
                conn.bio_write(data)
            except SSL.Error as exc:
                raise ConnectError(
                    _not_tls(received, target.starttls) or _tls_failure(exc), "tls-error"
                ) from None
        yield from _flush(conn, sock, doing)
    except ConnectError as exc:
        raise _during_tls(exc) from None
    # pyOpenSSL converts for us; its type stubs predate the keyword.
    peer_chain = cast("Callable[..., list[x509.Certificate] | None]", conn.get_peer_cert_chain)
    from pinctl.pki.der import plain_reason
    from pinctl.pki.entries import decodable

    try:
        chain = peer_chain(as_cryptography=True) or []
        for cert in chain:
            decodable(cert)
    except ValueError as exc:
        # OpenSSL accepted it, cryptography's stricter DER parser does not: a broken server,
        # reported like any other, never an internal error that hides the other targets.
        reason = plain_reason(exc)
        raise ConnectError(
            f"the server sent a certificate that cannot be parsed ({reason})", "tls-error"
        ) from None
    if not chain:
        raise ConnectError("the server sent no certificate", "tls-error")
    version = conn.get_protocol_version_name()
    cipher = conn.get_cipher_name() or "unknown"
    group = _group(conn)
    _close_politely(conn, sock)
    return Handshake(
        target=target,
        chain=tuple(chain),
        tls=TlsInfo(
            version, cipher, group, stapled_ocsp=stapled[0] if stapled and stapled[0] else None
        ),
        forward_secrecy=version == "TLSv1.3" or cipher.startswith(("ECDHE-", "DHE-", "EDH-")),
    )


@functools.lru_cache(maxsize=1)
def _context() -> SSL.Context:
    """One client context for the process: building one costs more than a handshake's CPU."""
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    # Old and weak servers must still be inspectable: offer everything OpenSSL can do.
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    ctx.set_cipher_list(b"ALL:!aNULL:!eNULL:@SECLEVEL=0")
    ctx.set_options(getattr(SSL, "OP_LEGACY_SERVER_CONNECT", 0))  # absent from the type stubs
    ctx.set_ocsp_client_callback(_staple)  # every handshake asks for a stapled OCSP response
    # No SSL_MODE_RELEASE_BUFFERS: freeing and reallocating the record buffers at every
    # read costs more CPU per handshake than the memory it saves is worth, even with a
    # fleet of handshakes in flight (bench/verify_many's fleet case measures both).
    return ctx


def _staple(conn: SSL.Connection, response: bytes, data: object) -> bool:
    """Keep the stapled response (b"" when none came) for revocation; never judge it here."""
    holder = conn.get_app_data()
    if isinstance(holder, list):
        holder.append(response)
    return True


def _flush(conn: SSL.Connection, sock: socket.socket, doing: str) -> Steps[None]:
    from OpenSSL import SSL

    while True:
        try:
            data = conn.bio_read(READ_SIZE)
        except SSL.WantReadError:
            return
        yield from send(sock, data, doing)
        if len(data) < READ_SIZE:
            return  # a memory BIO hands over all it holds, so it is empty now


_GROUP_NAMES = {"x25519": "X25519", "x448": "X448"}
"""OpenSSL 3 reports these in lower case; `openssl s_client` and the SPEC write them so."""


def _group(conn: SSL.Connection) -> str | None:
    """The key-exchange group, None for an RSA key exchange or an OpenSSL without the call."""
    cipher = conn.get_cipher_name() or ""
    if conn.get_protocol_version_name() != "TLSv1.3" and not cipher.startswith(
        ("ECDHE-", "DHE-", "EDH-")
    ):
        return None
    try:
        name = conn.get_group_name()
    except (AttributeError, NotImplementedError):  # pyOpenSSL or OpenSSL too old to say
        return None
    return _GROUP_NAMES.get(name, name) if name else None


def _close_politely(conn: SSL.Connection, sock: socket.socket) -> None:
    """Send close_notify if the socket takes it at once; never wait for the peer."""
    from OpenSSL import SSL

    try:
        conn.shutdown()
        sock.send(conn.bio_read(READ_SIZE))
    except (SSL.Error, OSError):
        pass


def _during_tls(exc: ConnectError) -> ConnectError:
    """A reset once the handshake began is a TLS failure, though still worth a retry."""
    if exc.status == "unreachable":
        return ConnectError(str(exc), "tls-error", retryable=exc.retryable)
    return exc


def _tls_failure(exc: Exception) -> str:
    errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [str(e[2]) for e in errors if isinstance(e, tuple) and len(e) == 3]
    return f"TLS handshake failed: {reasons[-1] if reasons else exc or type(exc).__name__}"


def _not_tls(received: bytes, starttls: str | None = None) -> str | None:
    """TLS records start with 0x16 (handshake) or 0x15 (alert); anything else is not TLS."""
    if not received or received[0] in (0x15, 0x16):
        return None
    text = received[:40].decode("latin-1")
    shown = "".join(c if c.isprintable() and c.isascii() else "." for c in text).strip()
    if starttls is not None:  # after the go-ahead: perhaps injected, as in the dialogue's check
        return f"the server sent bytes before the TLS handshake, after its go-ahead: {shown!r}"
    return f"the server does not speak TLS on this port; it sent {shown!r}"
