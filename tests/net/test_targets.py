"""TARGET parsing: every form of SPEC.md `fetch`, the port precedence, SNI and --connect-to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import UsageError
from pinctl.net.targets import Target, parse_target
from tests.support.cli import Run


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("example.com", "example.com", 443),
        ("example.com:8443", "example.com", 8443),
        ("[::1]:8443", "::1", 8443),
        ("[2001:db8::1]", "2001:db8::1", 443),
        ("2001:db8::1", "2001:db8::1", 443),
        ("127.0.0.1:4433", "127.0.0.1", 4433),
        ("https://example.com/path?q=1#frag", "example.com", 443),
        ("HTTPS://user:pw@example.com:9443/", "example.com", 9443),
        ("https://[::1]:8443/x", "::1", 8443),
        ("smtps://mail.example.com", "mail.example.com", 465),
        ("imaps://mail.example.com", "mail.example.com", 993),
        ("pop3s://mail.example.com", "mail.example.com", 995),
        ("ldaps://dir.example.com", "dir.example.com", 636),
        ("ftps://files.example.com", "files.example.com", 990),
        ("  example.com  ", "example.com", 443),
    ],
)
def test_target_forms(text: str, host: str, port: int) -> None:
    """Each documented TARGET spelling yields its host and the port the form implies."""
    target = parse_target(text)
    assert (target.host, target.port) == (host, port)
    assert (target.connect_host, target.connect_port) == (host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "http://example.com",
        "gopher://example.com",
        "example.com:0",
        "example.com:65536",
        "example.com:https",
        "[::1",
        "[example.com]:443",
        "[::1]x",
        "1:2:3",
        "exa mple.com",
        "example..com",
        "https://",
        "https://example.com:99999/",
        "a/b",
        "https://[::1",
        "https://[::1/path",
        "ldaps://user@[2001:db8::1:636",
    ],
)
def test_bad_targets_are_usage_errors(text: str) -> None:
    """Malformed targets, bad ports and plain-text schemes are refused with the value named."""
    with pytest.raises(UsageError) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_unclosed_bracket_in_a_url_names_the_value() -> None:
    """A URL whose IPv6 host lacks its ']' is a usage error naming the TARGET and the fix;
    the same URL with the bracket closed is read."""
    with pytest.raises(UsageError) as info:
        parse_target("https://[::1:8443/")
    assert str(info.value) == (
        "TARGET 'https://[::1:8443/': the URL's host has an unclosed '['; "
        "write an IPv6 address as https://[addr]:port/"
    )
    assert parse_target("https://[::1]:8443/").label == "[::1]:8443"


def test_http_scheme_names_the_supported_ones() -> None:
    """A plain http:// URL is refused with the list of TLS schemes to use instead."""
    with pytest.raises(UsageError, match="https, smtps"):
        parse_target("http://example.com")


def test_port_precedence() -> None:
    """A port in TARGET wins over --port, which wins over the scheme's default port."""
    assert parse_target("example.com:1", port=2).port == 1
    assert parse_target("example.com", port=2).port == 2
    assert parse_target("smtps://example.com", port=2).port == 2
    assert parse_target("smtps://example.com").port == 465


def test_servername_defaults() -> None:
    """SNI defaults to the host name (lower-cased, A-label) and is absent for an IP address."""
    assert parse_target("Example.COM").servername == "example.com"
    assert parse_target("bücher.example").servername == "xn--bcher-kva.example"
    ip = parse_target("127.0.0.1:443")
    assert ip.servername is None
    assert ip.sni is None
    assert ip.check_name == "127.0.0.1"


def test_servername_override() -> None:
    """--servername sets both SNI and the name checked, whatever TARGET says."""
    target = parse_target("127.0.0.1:8443", servername="api.example.com")
    assert target.servername == target.sni == target.check_name == "api.example.com"
    assert target.label == "127.0.0.1:8443"


def test_servername_ip_is_checked_but_not_sent() -> None:
    """An IP address given as --servername is checked against IP SANs but never put in SNI."""
    target = parse_target("example.com", servername="10.0.0.1")
    assert target.check_name == "10.0.0.1"
    assert target.sni is None


def test_trailing_dot_is_not_sent_in_sni() -> None:
    """A fully qualified name with its root dot goes into SNI without it (RFC 6066)."""
    assert parse_target("example.com.").sni == "example.com"


@pytest.mark.parametrize("bad", ["", "  ", "a b", "x/y"])
def test_bad_servername(bad: str) -> None:
    """An empty or malformed --servername is a usage error naming it."""
    with pytest.raises(UsageError, match="--servername"):
        parse_target("example.com", servername=bad)


def test_connect_to_keeps_the_name() -> None:
    """--connect-to changes where pinctl dials, never the label, SNI or the name checked."""
    target = parse_target("api.example.com", connect_to="10.0.0.5:8443")
    assert target == Target("api.example.com", 443, "api.example.com", "10.0.0.5", 8443)
    assert target.label == "api.example.com:443"


def test_connect_to_without_port_keeps_the_target_port() -> None:
    """--connect-to ADDR (no port) dials the target's own port."""
    target = parse_target("api.example.com:9443", connect_to="[::1]")
    assert (target.connect_host, target.connect_port) == ("::1", 9443)


@pytest.mark.parametrize("bad", ["10.0.0.5:x", "[::1", ":443", "a b:1"])
def test_bad_connect_to(bad: str) -> None:
    """A malformed --connect-to is a usage error naming the option."""
    with pytest.raises(UsageError, match="--connect-to"):
        parse_target("example.com", connect_to=bad)


def test_labels() -> None:
    """Labels are host:port, with brackets for IPv6, as JSON "source" shows them."""
    assert parse_target("example.com").label == "example.com:443"
    assert parse_target("[::1]:8443").label == "[::1]:8443"
    assert parse_target("https://[2001:db8::1]/").label == "[2001:db8::1]:443"


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_usage_error(text: str) -> None:
    """No TARGET text makes the parser raise anything but the clean usage error."""
    try:
        target = parse_target(text)
    except UsageError:
        return
    assert 1 <= target.port <= 65535
    assert target.host


def test_a_pin_file_entry_becomes_a_target_without_reparsing() -> None:
    """host_target takes host and port apart, as the pin file holds them: IPv6 stays whole."""
    from pinctl.net.targets import host_target

    target = host_target("::1", 9443)
    assert (target.host, target.port, target.connect_host, target.sni) == ("::1", 9443, "::1", None)
    assert target.label == "[::1]:9443"
    dialled = host_target("api.example.com", 443, connect_to="[::1]:8443")
    assert (dialled.sni, dialled.connect_host, dialled.connect_port) == (
        "api.example.com",
        "::1",
        8443,
    )


def test_an_ipv6_address_ending_in_a_port_is_refused_with_both_spellings(run: Run) -> None:
    """`pinctl fetch ::1:9481` exits 2 and suggests [::1]:9481, contacting nothing."""
    result = run(["fetch", "::1:9481"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "pinctl: error: TARGET '::1:9481' is ambiguous: for port 9481 of ::1 write "
        "[::1]:9481; for the address ::1:9481 itself write [::1:9481]\n"
    )


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("[::1]:9481", "::1", 9481),
        ("[::1:9481]", "::1:9481", 443),
        ("2001:db8::1", "2001:db8::1", 443),
    ],
)
def test_the_bracketed_spellings_say_which_was_meant(text: str, host: str, port: int) -> None:
    """The twins: with brackets either reading is taken as written; an address whose last
    group cannot be split off as a port is taken as the address."""
    target = parse_target(text)
    assert (target.host, target.port) == (host, port)


def test_connect_to_refuses_the_same_ambiguity() -> None:
    """--connect-to ::1:9481 is refused the same way, naming the option."""
    with pytest.raises(UsageError, match=r"--connect-to '::1:9481' is ambiguous.*\[::1\]:9481"):
        parse_target("api.example.com", connect_to="::1:9481")
