"""What to connect to: ``host``, ``host:port``, ``[v6]:port`` or a URL; SNI and a dial override.

A target keeps two addresses apart on purpose: the name the certificate must match (and
that goes into SNI) and the address actually dialled, which `--connect-to` may change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pinctl.errors import UsageError
from pinctl.hostnames import a_label, is_host_name, is_ip_address, is_ipv6, join_host_port
from pinctl.net.starttls import PORTS as STARTTLS_PORTS
from pinctl.net.starttls import PROTOCOLS as STARTTLS_PROTOCOLS
from pinctl.net.starttls import SCHEMES as STARTTLS_SCHEMES

SCHEME_PORTS: dict[str, int] = {
    "https": 443,
    "smtps": 465,
    "imaps": 993,
    "pop3s": 995,
    "ldaps": 636,
    "ftps": 990,
}
DEFAULT_PORT = 443

_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Target:
    """One host to inspect, and where to dial it."""

    host: str
    """As given, without IPv6 brackets."""
    port: int
    servername: str | None
    """SNI and the name checked; None for an IP address with no --servername."""
    connect_host: str
    """Where to dial: the --connect-to address, or `host`."""
    connect_port: int
    starttls: str | None = None
    """The STARTTLS protocol spoken before the handshake (`pinctl.net.starttls`), if any."""
    starttls_name: str | None = None
    """The EHLO name or XMPP domain, when it is not the server name."""

    @property
    def dialogue_name(self) -> str:
        """The name the STARTTLS dialogue sends: starttls_name, else the server name."""
        return self.starttls_name or (self.servername or self.host).rstrip(".") or self.host

    @property
    def label(self) -> str:
        """``host:port`` (``[::1]:443`` for IPv6), the JSON ``source`` and the name in messages."""
        return join_host_port(self.host, self.port)

    @property
    def check_name(self) -> str | None:
        """The name the leaf must be valid for: the servername, else the IP address dialled."""
        if self.servername is not None:
            return self.servername
        return self.host if is_ip_address(self.host) else None

    @property
    def sni(self) -> str | None:
        """The SNI value: never an IP address (RFC 6066) nor a trailing dot."""
        if self.servername is None or is_ip_address(self.servername):
            return None
        return self.servername.rstrip(".") or None


def parse_target(
    text: str,
    *,
    port: int | None = None,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
    starttls_name: str | None = None,
) -> Target:
    """Read a TARGET argument; a port in TARGET wins over `port`, which wins over the scheme's.

    A STARTTLS scheme (``smtp://``) chooses its dialogue; `starttls` (``--starttls``) may
    say the same, or choose one for a TARGET without a scheme.
    """
    given = text.strip()
    if not given:
        raise UsageError("empty TARGET: give host, host:port, [v6addr]:port or https://host/")
    default_port = DEFAULT_PORT
    if "://" in given:
        host, target_port, default_port, spoken = _split_url(given)
        if starttls is not None and spoken != starttls:
            speaks = f"speaks {spoken} STARTTLS" if spoken else "is TLS from the first byte"
            raise UsageError(
                f"TARGET {given!r} {speaks}, which contradicts --starttls {starttls}; "
                f"drop --starttls or give the host as host:port"
            )
        starttls = spoken
    else:
        host, target_port = _split_host_port(given, f"TARGET {given!r}")
        if starttls is not None:
            default_port = STARTTLS_PORTS[starttls]
    host = _check_host(host, f"TARGET {given!r}")
    return host_target(
        host, target_port or port or default_port, servername, connect_to, starttls, starttls_name
    )


def host_target(
    host: str,
    port: int,
    servername: str | None = None,
    connect_to: str | None = None,
    starttls: str | None = None,
    starttls_name: str | None = None,
) -> Target:
    """The target for a host and port already apart (a pin-file entry's fields): nothing is
    re-parsed from a label, so `::1` and `[::1]:443` cannot be read two ways."""
    name = _servername(servername) if servername is not None else _default_servername(host)
    if starttls is not None and starttls not in STARTTLS_PROTOCOLS:
        raise UsageError(
            f"STARTTLS protocol {starttls!r} is unknown; use one of {', '.join(STARTTLS_PROTOCOLS)}"
        )
    if starttls_name is not None:
        starttls_name = _dialogue_name(starttls_name)
    dial_host, dial_port = host, port
    if connect_to is not None:
        dial_host, given_port = _split_host_port(connect_to.strip(), f"--connect-to {connect_to!r}")
        dial_host = _check_host(dial_host, f"--connect-to {connect_to!r}")
        dial_port = given_port or port
    return Target(host, port, name, dial_host, dial_port, starttls, starttls_name)


def _dialogue_name(name: str) -> str:
    value = name.strip().rstrip(".")
    if not is_host_name(value):
        raise UsageError(f"STARTTLS name {name!r} is not a host name or IP address")
    return value if is_ip_address(value) else _idna(value, f"STARTTLS name {name!r}")


def _split_url(text: str) -> tuple[str, int | None, int, str | None]:
    from urllib.parse import urlsplit

    scheme = text.split("://", 1)[0].lower()
    if scheme not in SCHEME_PORTS and scheme not in STARTTLS_SCHEMES:
        known = ", ".join([*SCHEME_PORTS, *STARTTLS_SCHEMES])
        raise UsageError(f"TARGET {text!r}: unsupported scheme {scheme!r}; use one of {known}")
    try:
        parts = urlsplit(text)
    except ValueError:  # "Invalid IPv6 URL": a '[' with no ']'
        raise UsageError(
            f"TARGET {text!r}: the URL's host has an unclosed '['; "
            "write an IPv6 address as https://[addr]:port/"
        ) from None
    netloc = parts.netloc.rpartition("@")[2]
    if not netloc:
        raise UsageError(f"TARGET {text!r}: the URL has no host")
    host, port = _split_host_port(netloc, f"TARGET {text!r}")
    if scheme in STARTTLS_SCHEMES:
        protocol, default = STARTTLS_SCHEMES[scheme]
        return host, port, default, protocol
    return host, port, SCHEME_PORTS[scheme], None


def _split_host_port(text: str, what: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not is_ipv6(host):
            raise UsageError(f"{what}: expected [IPv6-address]:port, e.g. [::1]:443")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise UsageError(f"{what}: unexpected {rest!r} after the IPv6 address")
        return host, _port(rest[1:], what)
    if text.count(":") > 1:
        address, _, last = text.rpartition(":")
        if is_ipv6(text) and _PORT.fullmatch(last) and is_ipv6(address):
            # `::1:9481` is an address, but almost always meant as ::1 on port 9481.
            raise UsageError(
                f"{what} is ambiguous: for port {last} of {address} write [{address}]:{last}; "
                f"for the address {text} itself write [{text}]"
            )
        if is_ipv6(text):
            return text, None
        raise UsageError(f"{what}: write an IPv6 address with a port as [addr]:port")
    host, colon, port_text = text.partition(":")
    return host, _port(port_text, what) if colon else None


def _port(text: str, what: str) -> int:
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise UsageError(f"{what}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def _check_host(host: str, what: str) -> str:
    if not is_host_name(host):
        if host and host.isprintable() and not host.isascii() and a_label(host) is None:
            raise UsageError(f"{what}: {host!r} is not a valid internationalised host name")
        raise UsageError(f"{what}: {host!r} is not a host name or IP address")
    return host


def _idna(name: str, what: str) -> str:
    """Non-ASCII names go on the wire, into SNI and into name checks as A-labels."""
    ascii_name = a_label(name)
    if ascii_name is None:
        raise UsageError(f"{what}: {name!r} is not a valid internationalised host name")
    return ascii_name


def _default_servername(host: str) -> str | None:
    return None if is_ip_address(host) else _idna(host, f"host {host!r}")


def _servername(name: str) -> str:
    value = name.strip()
    if not is_host_name(value):
        raise UsageError(f"--servername {name!r} is not a host name or IP address")
    return value if is_ip_address(value) else _idna(value, f"--servername {name!r}")
