"""The handshake on real loopback sockets: chains, SNI, deadlines, hostile peers and proxies."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
import trustme
from cryptography import x509

from pinctl.errors import ConnectError, UsageError
from pinctl.net.proxy import bypasses_proxy, parse_proxy, proxy_from_env
from pinctl.net.targets import parse_target
from pinctl.net.tls import ConnectOptions, handshake
from tests.support.proxy import connect_proxy
from tests.support.servers import (
    closed_port,
    hostile_server,
    ipv6_available,
    legacy_tls_server,
    server_context,
    sni_context,
    tls_server,
    unanswered_port,
)

FAST = ConnectOptions(timeout=2.0)
HOSTILE_TIMEOUT = 0.8


def load(pem: trustme.Blob) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.bytes())


def test_chain_as_served(any_ca: trustme.CA) -> None:
    """The handshake returns the served chain, leaf first, as cryptography certificates."""
    leaf = any_ca.create_child_ca().issue_cert("localhost")
    with tls_server(server_context(leaf)) as server:
        shake = handshake(parse_target(f"localhost:{server.port}"), FAST)
    assert shake.chain == tuple(load(blob) for blob in leaf.cert_chain_pems)
    assert shake.tls.version == "TLSv1.3"
    assert shake.tls.cipher.startswith("TLS_")
    assert shake.forward_secrecy


def test_tls12_reports_version_cipher_and_forward_secrecy(ca: trustme.CA) -> None:
    """A TLS 1.2 server reports its version and an ECDHE suite, which is forward secret."""
    ctx = server_context(ca.issue_cert("localhost"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_server(ctx) as server:
        shake = handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
    assert shake.tls.version == "TLSv1.2"
    assert shake.tls.cipher.startswith("ECDHE-")
    assert shake.forward_secrecy


def test_tls12_rsa_key_exchange_has_no_forward_secrecy(ca: trustme.CA) -> None:
    """A TLS 1.2 session with static RSA key exchange is reported without forward secrecy."""
    rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
    ctx = server_context(rsa_ca.issue_cert("localhost", key_type=trustme.KeyType.RSA))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.set_ciphers("AES128-GCM-SHA256:@SECLEVEL=0")
    except ssl.SSLError:
        pytest.skip("this OpenSSL has no static RSA suites")
    with tls_server(ctx) as server:
        shake = handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
    assert shake.tls.cipher == "AES128-GCM-SHA256"
    assert not shake.forward_secrecy


def test_sni_selects_the_certificate(ca: trustme.CA) -> None:
    """SNI is sent as the servername, so an SNI-dependent server shows the matching leaf."""
    default_leaf, api_leaf = ca.issue_cert("default.test"), ca.issue_cert("api.test")
    seen: list[str | None] = []
    ctx = sni_context(server_context(default_leaf), {"api.test": server_context(api_leaf)}, seen)
    with tls_server(ctx) as server:
        by_name = handshake(parse_target(f"127.0.0.1:{server.port}", servername="api.test"), FAST)
        by_ip = handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
    assert by_name.chain[0] == load(api_leaf.cert_chain_pems[0])
    assert by_ip.chain[0] == load(default_leaf.cert_chain_pems[0])
    assert seen == ["api.test", None]  # no SNI at all for an IP address


def test_connect_to_dials_elsewhere_with_the_target_name(ca: trustme.CA) -> None:
    """--connect-to dials its address and still sends the target's name in SNI."""
    seen: list[str | None] = []
    ctx = sni_context(server_context(ca.issue_cert("api.example.test")), {}, seen)
    with tls_server(ctx) as server:
        target = parse_target("api.example.test", connect_to=f"127.0.0.1:{server.port}")
        shake = handshake(target, FAST)
    assert shake.target.label == "api.example.test:443"
    assert seen == ["api.example.test"]


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6(ca: trustme.CA) -> None:
    """An [::1]:port target is dialled over IPv6."""
    with tls_server(server_context(ca.issue_cert("::1")), host="::1") as server:
        shake = handshake(parse_target(f"[::1]:{server.port}"), FAST)
    assert shake.chain


def test_family_mismatch_for_an_address(ca: trustme.CA) -> None:
    """-6 with an IPv4 address fails without dialling, saying why."""
    with pytest.raises(ConnectError, match="not an IPv6 address") as info:
        handshake(parse_target("127.0.0.1:1"), ConnectOptions(timeout=1, family=6))
    assert info.value.status == "unreachable"


def test_family_selects_addresses(ca: trustme.CA) -> None:
    """-4 resolves localhost to IPv4 only, so an IPv4-only server is reached at once."""
    with tls_server(server_context(ca.issue_cert("localhost"))) as server:
        shake = handshake(
            parse_target(f"localhost:{server.port}"), ConnectOptions(timeout=2, family=4)
        )
    assert shake.chain


def test_refused_is_unreachable_and_retryable() -> None:
    """A closed port is `unreachable`, retryable, and the message says refused."""
    with pytest.raises(ConnectError, match="connection refused") as info:
        handshake(parse_target(f"127.0.0.1:{closed_port()}"), FAST)
    assert info.value.status == "unreachable"
    assert info.value.retryable


@pytest.mark.parametrize(
    ("mode", "status", "retryable", "message"),
    [
        ("silent", "timeout", False, "timed out after 0.8 s during the TLS handshake"),
        ("drip", "timeout", False, "timed out after 0.8 s during the TLS handshake"),
        ("garbage", "tls-error", False, "does not speak TLS on this port; it sent 'HTTP/1.1 400"),
        ("reset", "tls-error", True, "connection reset by the peer during the TLS handshake"),
    ],
)
def test_hostile_servers(mode: str, status: str, retryable: bool, message: str) -> None:
    """Silent, dripping, garbage and resetting peers end within the deadline with their status."""
    with hostile_server(mode, drip_interval=0.1) as server:
        start = time.monotonic()
        with pytest.raises(ConnectError) as info:
            handshake(parse_target(server.address), ConnectOptions(timeout=HOSTILE_TIMEOUT))
        elapsed = time.monotonic() - start
    assert elapsed < HOSTILE_TIMEOUT + 0.5
    assert info.value.status == status
    assert info.value.retryable is retryable
    assert message in str(info.value)


def test_connect_that_hangs_costs_the_timeout() -> None:
    """A SYN that is never answered (a black-holed address) ends at the deadline as `timeout`."""
    with unanswered_port() as port:
        start = time.monotonic()
        with pytest.raises(ConnectError, match="when connecting to") as info:
            handshake(parse_target(f"127.0.0.1:{port}"), ConnectOptions(timeout=0.4))
        assert time.monotonic() - start < 0.9
    assert info.value.status == "timeout"
    assert not info.value.retryable


def test_deadline_covers_everything() -> None:
    """The timeout is one deadline: a peer that accepts and is silent costs it exactly once."""
    with hostile_server("silent") as server:
        start = time.monotonic()
        with pytest.raises(ConnectError):
            handshake(parse_target(server.address), ConnectOptions(timeout=0.3))
        assert 0.25 < time.monotonic() - start < 0.8


def test_through_proxy(ca: trustme.CA) -> None:
    """With a proxy, the handshake goes through an HTTP CONNECT tunnel to the dial address."""
    with (
        tls_server(server_context(ca.issue_cert("localhost"))) as server,
        connect_proxy() as (url, log),
    ):
        shake = handshake(
            parse_target(f"localhost:{server.port}"), ConnectOptions(timeout=2, proxy=url)
        )
    assert shake.chain
    assert log.connects == [f"localhost:{server.port}"]
    assert log.header(0, "Host") == f"localhost:{server.port}"


def test_proxy_credentials(ca: trustme.CA) -> None:
    """user:pass in the proxy URL becomes a Basic Proxy-Authorization header, percent-decoded."""
    expected = "Basic dXNlcjpwQHNz"  # user:p@ss
    with (
        tls_server(server_context(ca.issue_cert("localhost"))) as server,
        connect_proxy(require_auth=expected) as (url, log),
    ):
        proxy = url.replace("http://", "http://user:p%40ss@")
        handshake(parse_target(f"127.0.0.1:{server.port}"), ConnectOptions(timeout=2, proxy=proxy))
        with pytest.raises(ConnectError, match="407"):
            handshake(parse_target(f"127.0.0.1:{server.port}"), ConnectOptions(proxy=url))
    assert log.header(0, "Proxy-Authorization") == expected


def test_proxy_refusal() -> None:
    """A proxy that refuses CONNECT is `unreachable`, with its status line in the message."""
    with connect_proxy(status=403) as (url, log), pytest.raises(ConnectError) as info:
        handshake(parse_target("127.0.0.1:443"), ConnectOptions(timeout=2, proxy=url))
    assert info.value.status == "unreachable"
    assert "refused CONNECT to 127.0.0.1:443: HTTP/1.1 403" in str(info.value)
    assert log.connects == ["127.0.0.1:443"]


def test_proxy_down() -> None:
    """A proxy that is not listening is reported as the proxy's failure."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ConnectError, match=r"refused when connecting to proxy 127\.0\.0\.1"):
        handshake(parse_target("127.0.0.1:443"), ConnectOptions(timeout=2, proxy=proxy))


def test_silent_proxy_costs_one_timeout() -> None:
    """A proxy that accepts and never answers ends at the deadline too."""
    with hostile_server("silent") as server:
        start = time.monotonic()
        with pytest.raises(ConnectError, match="while talking to proxy") as info:
            handshake(
                parse_target("127.0.0.1:443"),
                ConnectOptions(timeout=0.5, proxy=f"http://{server.address}"),
            )
    assert info.value.status == "timeout"
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://proxy.test:3128", "proxy.test", 3128),
        ("proxy.test:3128", "proxy.test", 3128),
        ("http://proxy.test", "proxy.test", 1080),
        ("HTTP://[::1]:8080/", "::1", 8080),
    ],
)
def test_parse_proxy(url: str, host: str, port: int) -> None:
    """Proxy URLs read as curl reads them: http:// assumed, port 1080 by default."""
    proxy = parse_proxy(url)
    assert (proxy.host, proxy.port, proxy.authorization) == (host, port, None)


@pytest.mark.parametrize("url", ["https://proxy.test:443", "socks5://proxy.test", "http://:80"])
def test_unsupported_proxies(url: str) -> None:
    """Only HTTP CONNECT proxies are supported; others are usage errors naming the URL."""
    with pytest.raises(UsageError, match="--proxy"):
        parse_proxy(url)


def test_proxy_password_never_shown() -> None:
    """A proxy URL's password is masked in the error message that names the URL."""
    with pytest.raises(UsageError) as info:
        parse_proxy("socks5://user:s3cret@proxy.test:1080")
    assert "s3cret" not in str(info.value)
    assert "user:***@proxy.test" in str(info.value)


@pytest.mark.parametrize("url", ["http://[::1", "[::1", "http://[::1:3128/", "https://[::1"])
def test_unclosed_bracket_in_a_proxy_is_a_usage_error(url: str) -> None:
    """A proxy URL whose IPv6 host lacks its ']' is a usage error naming the option and the
    value; the same proxy with the bracket closed is read."""
    with pytest.raises(UsageError) as info:
        parse_proxy(url, "HTTPS_PROXY")
    assert str(info.value) == (
        f"HTTPS_PROXY {url!r}: the proxy host has an unclosed '['; "
        "write an IPv6 proxy as http://[addr]:port"
    )
    assert parse_proxy("http://[::1]:3128").label == "[::1]:3128"


@pytest.mark.parametrize(
    "url", ["http://user:s3cret@[::1", "http://user:s3:cr@et@[::1", "http://user:s3cret@p:0"]
)
def test_proxy_password_never_shown_whatever_is_wrong(url: str) -> None:
    """The password is masked even in a URL too broken to parse (or with '@' in it)."""
    with pytest.raises(UsageError) as info:
        parse_proxy(url)
    assert "s3" not in str(info.value)
    assert "cr" not in str(info.value)
    assert "user:***@" in str(info.value)


def test_proxy_from_env_lowercase_first() -> None:
    """https_proxy is read before HTTPS_PROXY, as curl does."""
    env = {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}
    assert proxy_from_env("example.com", env) == "http://low:1"
    assert proxy_from_env("example.com", {"HTTPS_PROXY": "http://up:2"}) == "http://up:2"
    assert proxy_from_env("example.com", {"HTTP_PROXY": "http://plain:3"}) is None


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypass"),
    [
        ("example.com", "*", True),
        ("example.com", "example.com", True),
        ("api.example.com", "example.com", True),
        ("api.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("badexample.com", "example.com", False),
        ("example.com", "other.com, example.com", True),
        ("example.com", "example.com:8443", True),
        ("EXAMPLE.com.", "example.COM", True),
        ("example.org", "example.com", False),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.1:8080", True),
        ("127.0.0.2", "127.0.0.1", False),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("::1", "::1", True),
        ("::1", "[::1]", True),
        ("::1", "[::1]:8443", True),
        ("example.com", "", False),
    ],
)
def test_no_proxy(host: str, no_proxy: str, bypass: bool) -> None:
    """NO_PROXY follows curl: suffix match, leading dot, "*", ports ignored, IPs by value."""
    assert bypasses_proxy(host, no_proxy) is bypass
    env = {"HTTPS_PROXY": "http://proxy.test:3128", "NO_PROXY": no_proxy}
    assert (proxy_from_env(host, env) is None) is bypass


def test_sequential_handshakes(ca: trustme.CA) -> None:
    """Each handshake opens and closes its own connection (leaks would fail as ResourceWarning)."""
    with tls_server(server_context(ca.issue_cert("localhost"))) as server:
        handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
        handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
        assert server.connections == 2


def test_alert_is_a_tls_error() -> None:
    """A server that answers with a fatal TLS alert is a `tls-error`, not retried, reason given."""
    with hostile_server("alert") as server, pytest.raises(ConnectError) as info:
        handshake(parse_target(server.address), FAST)
    assert info.value.status == "tls-error"
    assert not info.value.retryable
    assert str(info.value).startswith("TLS handshake failed: ")
    assert str(info.value).endswith("alert handshake failure")


def test_old_tls10_server_is_still_inspected(ca: trustme.CA) -> None:
    """A server stuck on TLS 1.0 completes the handshake, so fetch can show what it serves.

    Skipped only when openssl itself cannot serve TLS 1.0 here; pinctl's refusal fails."""
    with legacy_tls_server(ca.issue_cert("localhost"), ssl.TLSVersion.TLSv1) as server:
        shake = handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
    assert shake.tls.version == "TLSv1"
    assert shake.chain


def test_a_resolver_that_hangs_costs_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo cannot be interrupted; the handshake stops waiting for it at the deadline.

    A stuck resolver is injected (loopback has no way to make real DNS hang); the
    connection to the answering server is real once the name resolves.
    """
    import socket

    release = threading.Event()
    real = socket.getaddrinfo

    def stuck(host: str | bytes | None, *args: Any, **kwargs: Any) -> Sequence[tuple[Any, ...]]:
        if host == "stuck.test":
            release.wait(30)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    try:
        start = time.monotonic()
        with pytest.raises(ConnectError) as info:
            handshake(parse_target("stuck.test:443"), ConnectOptions(timeout=0.4))
        assert time.monotonic() - start < 0.9
    finally:
        release.set()
    assert info.value.status == "timeout"
    assert str(info.value) == "timed out after 0.4 s while resolving stuck.test"
