"""STARTTLS dialogues against scripted loopback servers: each protocol's go-ahead, and
every way a server can refuse, stall, inject or never finish (SPEC.md section 12)."""

from __future__ import annotations

import functools
import ssl

import pytest
import trustme
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import ConnectError, UsageError
from pinctl.net.starttls.wire import UNSUPPORTED
from pinctl.net.targets import parse_target
from pinctl.net.tls import ConnectOptions, Handshake, handshake
from tests.support import starttls as scripts
from tests.support.proxy import connect_proxy
from tests.support.servers import server_context

FAST = ConnectOptions(timeout=3.0)


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("mail.test", "localhost")


@pytest.fixture(scope="module")
def context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    return server_context(leaf)


def shake(
    script: scripts.Script,
    context: ssl.SSLContext,
    protocol: str,
    options: ConnectOptions = FAST,
    starttls_name: str | None = None,
) -> Handshake:
    with scripts.scripted(script, context) as server:
        target = parse_target(
            f"127.0.0.1:{server.port}", starttls=protocol, starttls_name=starttls_name
        )
        return handshake(target, options)


def refused(script: scripts.Script, context: ssl.SSLContext, protocol: str) -> ConnectError:
    with pytest.raises(ConnectError) as caught:
        shake(script, context, protocol)
    return caught.value


@pytest.mark.parametrize("protocol", sorted(scripts.GOOD))
def test_each_protocol_reaches_the_handshake(
    protocol: str, context: ssl.SSLContext, leaf: trustme.LeafCert
) -> None:
    """Every dialogue gets its server's go-ahead and then the certificate served over TLS."""
    result = shake(scripts.GOOD[protocol], context, protocol)
    assert result.chain[0] == x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    assert result.starttls is not None
    assert result.starttls.protocol == protocol
    assert result.tls.version.startswith("TLSv1")


def test_smtp_greeting_and_name_are_reported(context: ssl.SSLContext) -> None:
    """SMTP reports the greeting's first line and sends the server name in EHLO."""
    seen: list[bytes] = []

    def script(peer: scripts.Peer) -> None:
        peer.received = seen  # filled as lines arrive, before the client reads a reply
        scripts.smtp(peer)

    with scripts.scripted(script, context) as server:
        target = parse_target(
            f"smtp://127.0.0.1:{server.port}", servername="mail.test", starttls=None
        )
        result = handshake(target, FAST)
    assert result.starttls is not None
    assert result.starttls.greeting == "220-mail.test ESMTP scripted"
    assert result.starttls.name == "mail.test"
    assert seen[:2] == [b"EHLO mail.test", b"STARTTLS"]


def test_smtp_ehlo_for_an_address_is_an_address_literal(context: ssl.SSLContext) -> None:
    """Dialling an IP address without a name, EHLO carries the address literal [127.0.0.1]."""
    seen: list[bytes] = []

    def script(peer: scripts.Peer) -> None:
        peer.received = seen  # filled as lines arrive, before the client reads a reply
        scripts.smtp(peer)

    shake(script, context, "smtp")
    assert seen[0] == b"EHLO [127.0.0.1]"


def test_starttls_name_is_the_ehlo_name(context: ssl.SSLContext) -> None:
    """starttls_name replaces the server name in EHLO."""
    seen: list[bytes] = []

    def script(peer: scripts.Peer) -> None:
        peer.received = seen  # filled as lines arrive, before the client reads a reply
        scripts.smtp(peer)

    result = shake(script, context, "smtp", starttls_name="client.example.org")
    assert seen[0] == b"EHLO client.example.org"
    assert result.starttls is not None
    assert result.starttls.name == "client.example.org"


def test_xmpp_sends_the_domain_in_to(context: ssl.SSLContext) -> None:
    """The XMPP stream header names starttls_name as its `to` domain."""
    seen: list[bytes] = []

    def script(peer: scripts.Peer) -> None:
        peer.received = seen  # filled as lines arrive, before the client reads a reply
        scripts.xmpp(peer)

    shake(script, context, "xmpp", starttls_name="chat.test")
    assert b"to='chat.test'" in seen[0] or b'to="chat.test"' in seen[0]
    assert b"jabber:client" in seen[0]


@pytest.mark.parametrize(
    ("protocol", "script", "words"),
    [
        ("smtp", functools.partial(scripts.smtp, offer=False), "does not offer STARTTLS"),
        ("smtp", functools.partial(scripts.smtp, answer=b"454 4.7.0 TLS not available"), "454"),
        ("imap", functools.partial(scripts.imap, offer=False), "does not offer STARTTLS"),
        ("imap", functools.partial(scripts.imap, answer=b"NO not now"), "NO not now"),
        ("pop3", functools.partial(scripts.pop3, answer=b"-ERR no TLS here"), "-ERR no TLS"),
        ("ftp", functools.partial(scripts.ftp, answer=b"534 Local policy"), "534"),
        ("postgres", functools.partial(scripts.postgres, answer=b"N"), "answered N"),
        (
            "ldap",
            functools.partial(
                scripts.ldap, response=scripts.ldap_response(52, b"TLS off"), proceed=False
            ),
            "52 (unavailable): 'TLS off'",
        ),
        (
            "xmpp",
            functools.partial(scripts.xmpp, error=b"host-unknown"),
            "ended the stream: host-unknown",
        ),
        ("xmpp", functools.partial(scripts.xmpp, offer=False), "does not offer STARTTLS"),
        (
            "mysql",
            functools.partial(scripts.mysql, greeting=scripts.mysql_greeting(ssl_flag=False)),
            "no CLIENT_SSL",
        ),
    ],
)
def test_refusals_are_starttls_unsupported(
    protocol: str, script: scripts.Script, words: str, context: ssl.SSLContext
) -> None:
    """Not offered or refused fails closed as starttls-unsupported, naming the answer."""
    error = refused(script, context, protocol)
    assert error.status == UNSUPPORTED
    assert words in str(error)


def test_imap_preauth_is_refused(context: ssl.SSLContext) -> None:
    """A PREAUTH greeting (no STARTTLS allowed after it) is refused, not skipped past."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in\r\n")
        peer.hang()

    error = refused(script, context, "imap")
    assert error.status == UNSUPPORTED
    assert "PREAUTH" in str(error)


def test_bytes_after_the_go_ahead_are_a_tls_error(context: ssl.SSLContext) -> None:
    """A byte between the go-ahead and the handshake may be injected: tls-error, with N."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"220 mail.test ESMTP\r\n")
        peer.line()
        peer.send(b"250-mail.test\r\n250 STARTTLS\r\n")
        peer.line()
        peer.send(b"220 go ahead\r\n250 injected\r\n")
        peer.hang()

    error = refused(script, context, "smtp")
    assert error.status == "tls-error"
    assert "server sent 14 bytes before the TLS handshake" in str(error)


def test_postgres_reads_exactly_one_byte(context: ssl.SSLContext) -> None:
    """PostgreSQL's S followed by anything is refused (CVE-2021-23222), not handed to TLS."""

    def script(peer: scripts.Peer) -> None:
        peer.exactly(8)
        peer.send(b"SE")
        peer.hang()

    error = refused(script, context, "postgres")
    assert error.status == "tls-error"
    assert "server sent 1 byte before the TLS handshake" in str(error)


def test_xmpp_bytes_after_proceed_are_refused(context: ssl.SSLContext) -> None:
    """Stanzas after <proceed/> and before the handshake are refused as for SMTP."""

    def script(peer: scripts.Peer) -> None:
        peer.until(b">")
        peer.until(b">")
        peer.send(
            scripts._STREAM + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:"
            b"xmpp-tls'/></stream:features>"
        )
        peer.until(b"/>")
        peer.send(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>")
        peer.hang()

    error = refused(script, context, "xmpp")
    assert "server sent 10 bytes before the TLS handshake" in str(error)


def test_greeting_split_across_packets(context: ssl.SSLContext) -> None:
    """A multi-line greeting arriving three bytes at a time reads as one reply."""

    def script(peer: scripts.Peer) -> None:
        scripts.drip(peer, b"220-mail.test first\r\n220-second\r\n220 third\r\n")
        peer.line()
        scripts.drip(peer, b"250-mail.test\r\n250-SIZE 1\r\n250 STARTTLS\r\n")
        peer.line()
        peer.send(b"220 go\r\n")
        peer.go_ahead()

    result = shake(script, context, "smtp")
    assert result.starttls is not None
    assert result.starttls.greeting == "220-mail.test first"


def test_ldap_long_form_lengths(context: ssl.SSLContext) -> None:
    """An LDAP reply whose every length uses the long form is read as the short one."""
    script = functools.partial(scripts.ldap, response=scripts.ldap_response(0, long_form=True))
    result = shake(script, context, "ldap")
    assert result.starttls is not None
    assert result.starttls.protocol == "ldap"


def test_ldap_notice_of_disconnection(context: ssl.SSLContext) -> None:
    """An unsolicited notice of disconnection (message ID 0) is a refusal."""
    response = scripts.ldap_response(52, b"going down", message_id=0)
    error = refused(
        functools.partial(scripts.ldap, response=response, proceed=False), context, "ldap"
    )
    assert error.status == UNSUPPORTED
    assert "notice of disconnection" in str(error)


def test_greeting_that_never_ends_is_an_error(context: ssl.SSLContext) -> None:
    """A greeting of endless continuation lines stops at 64 KiB with an error, not a hang."""

    def script(peer: scripts.Peer) -> None:
        for _ in range(4000):
            peer.send(b"220-" + b"x" * 60 + b"\r\n")
        peer.hang()

    error = refused(script, context, "smtp")
    assert error.status == "tls-error"
    assert "over 64 KiB" in str(error)


def test_a_line_without_end_is_an_error(context: ssl.SSLContext) -> None:
    """A line longer than 8 KiB is an error, not a buffer that grows until the timeout."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"+OK " + b"y" * 20000)
        peer.hang()

    error = refused(script, context, "pop3")
    assert error.status == "tls-error"
    assert "line over 8 KiB" in str(error)


def test_a_server_that_hangs_mid_dialogue_costs_one_timeout(context: ssl.SSLContext) -> None:
    """Silent after the greeting: a timeout naming the dialogue, after the one deadline."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"220 mail.test ESMTP\r\n")
        peer.line()
        peer.hang()

    with pytest.raises(ConnectError) as caught:
        shake(script, context, "smtp", ConnectOptions(timeout=0.5))
    assert caught.value.status == "timeout"
    assert str(caught.value) == "timed out after 0.5 s during the SMTP STARTTLS dialogue"


def test_a_server_that_closes_mid_dialogue(context: ssl.SSLContext) -> None:
    """A connection closed before the go-ahead says what the server had sent."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"220-mail.test ESMTP\r\n")

    error = refused(script, context, "smtp")
    assert "closed the connection" in str(error)
    assert error.status == "tls-error"


def test_starttls_through_a_connect_proxy(context: ssl.SSLContext) -> None:
    """The dialogue runs inside the HTTP CONNECT tunnel."""
    with (
        scripts.scripted(scripts.smtp, context) as server,
        connect_proxy() as (proxy, log),
    ):
        options = ConnectOptions(timeout=3.0, proxy=proxy)
        result = handshake(parse_target(f"smtp://127.0.0.1:{server.port}"), options)
    assert result.starttls is not None
    assert log.connects == [f"127.0.0.1:{server.port}"]


def test_direct_tls_has_no_upgrade(context: ssl.SSLContext) -> None:
    """The failing twin of the dialogue tests: a TLS-first server is not spoken to in SMTP."""
    from tests.support.servers import tls_server

    with tls_server(context) as server:
        result = handshake(parse_target(f"127.0.0.1:{server.port}"), FAST)
    assert result.starttls is None


@pytest.mark.parametrize(
    ("text", "protocol", "port"),
    [
        ("smtp://mail.test", "smtp", 25),
        ("submission://mail.test", "smtp", 587),
        ("imap://mail.test", "imap", 143),
        ("pop3://mail.test", "pop3", 110),
        ("ftp://mail.test", "ftp", 21),
        ("ldap://mail.test", "ldap", 389),
        ("xmpp://mail.test", "xmpp", 5222),
        ("xmpp-server://mail.test", "xmpp-server", 5269),
        ("postgres://mail.test", "postgres", 5432),
        ("postgresql://mail.test/db", "postgres", 5432),
        ("mysql://mail.test:3307", "mysql", 3307),
        ("smtps://mail.test", None, 465),
    ],
)
def test_schemes_choose_the_dialogue_and_port(text: str, protocol: str | None, port: int) -> None:
    """Each scheme of SPEC.md section 12 sets its protocol and default port."""
    target = parse_target(text)
    assert (target.starttls, target.port) == (protocol, port)


def test_starttls_option_sets_the_default_port() -> None:
    """--starttls without a port in TARGET dials the protocol's port."""
    assert parse_target("mail.test", starttls="imap").port == 143
    assert parse_target("mail.test:1143", starttls="imap").port == 1143


def test_scheme_and_option_must_agree() -> None:
    """smtps:// with --starttls, or imap:// with --starttls smtp, is a usage error."""
    with pytest.raises(UsageError, match="contradicts --starttls smtp"):
        parse_target("smtps://mail.test", starttls="smtp")
    with pytest.raises(UsageError, match="speaks imap STARTTLS"):
        parse_target("imap://mail.test", starttls="smtp")
    assert parse_target("smtp://mail.test", starttls="smtp").starttls == "smtp"


@given(st.binary(max_size=200))
def test_ldap_reply_parser_only_raises_its_own_error(body: bytes) -> None:
    """Any bytes as an LDAP reply parse or raise Malformed, never anything else."""
    from pinctl.net.starttls import ldap

    try:
        message_id, code, diagnostic = ldap.parse_response(body)
    except ldap.Malformed:
        return
    assert message_id >= 0
    assert code >= 0
    assert isinstance(diagnostic, bytes)


@given(st.integers(min_value=0, max_value=5000))
def test_ldap_parser_reads_both_length_forms(size: int) -> None:
    """A diagnostic of any size reads back the same in the short and the long form."""
    from pinctl.net.starttls import ldap

    text = b"d" * size
    for long_form in (False, True):
        message = scripts.ldap_response(53, text, long_form=long_form or size >= 0x80)
        body = message[4:] if message[1] == 0x82 else message[2:]
        assert ldap.parse_response(body) == (1, 53, text)


def test_bytes_after_the_client_hello_are_a_tls_error(context: ssl.SSLContext) -> None:
    """Text that arrives once the handshake began, instead of a ServerHello, is named as
    bytes before the TLS handshake, not as a port that does not speak TLS."""

    def script(peer: scripts.Peer) -> None:
        peer.send(b"+OK ready\r\n")
        peer.line()
        peer.send(b"+OK go\r\n")
        peer.exactly(5)  # the ClientHello's record header: the client went ahead
        peer.send(b"+OK injected\r\n")
        peer.hang()

    error = refused(script, context, "pop3")
    assert error.status == "tls-error"
    assert str(error) == (
        "the server sent bytes before the TLS handshake, after its go-ahead: '+OK injected..'"
    )


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("mail.example.com", "mail.example.com"),
        ("192.0.2.1", "[192.0.2.1]"),
        ("2001:db8::1", "[IPv6:2001:db8::1]"),
    ],
)
def test_ehlo_names_an_address_as_a_literal(name: str, sent: str) -> None:
    """EHLO carries a name as is and an address as RFC 5321's address literal."""
    from pinctl.net.starttls.smtp import ehlo_name

    assert ehlo_name(name) == sent
