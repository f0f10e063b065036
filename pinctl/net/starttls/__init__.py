"""STARTTLS: the plain-text dialogue some protocols speak before their TLS handshake.

A dialogue is one more step between the connection (direct or through a proxy tunnel)
and the handshake in `pinctl.net.tls`, written as a generator of waits like the rest,
so it runs under the host's one deadline. Each protocol family has its module, imported
only when a target speaks it; this module holds what targets and the pin file need to
know without any of them: the protocol names, their default ports and URL schemes.

Every dialogue fails closed. A server that does not offer STARTTLS, or refuses it, raises
`ConnectError` with status ``starttls-unsupported`` (on a pinned host that is a
downgrade); a byte the server sends after its go-ahead and before the handshake is a
``tls-error`` (it may be injected, and TLS would authenticate nothing of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from pinctl.net.starttls.wire import Receive, Send
    from pinctl.net.steps import Steps

PORTS: dict[str, int] = {
    "smtp": 25,
    "imap": 143,
    "pop3": 110,
    "ftp": 21,
    "ldap": 389,
    "xmpp": 5222,
    "xmpp-server": 5269,
    "postgres": 5432,
    "mysql": 3306,
}
"""Every protocol `--starttls` and the pin file's ``starttls`` accept, with its port."""

PROTOCOLS: tuple[str, ...] = tuple(PORTS)

SCHEMES: dict[str, tuple[str, int]] = {
    **{name: (name, port) for name, port in PORTS.items()},
    "submission": ("smtp", 587),
    "postgresql": ("postgres", 5432),
}
"""URL schemes that speak a dialogue first: the protocol and the scheme's default port."""

UNSUPPORTED = "starttls-unsupported"
"""The status of a server that does not offer STARTTLS or refuses it."""


@dataclass(frozen=True)
class Upgrade:
    """How a connection was upgraded to TLS, as JSON's ``starttls`` object shows it."""

    protocol: str
    """One of `PROTOCOLS`."""
    name: str
    """The EHLO name or XMPP domain sent; the server name for the others."""
    greeting: str | None
    """The server's first line (control characters escaped), or what stands for it: the
    server version of a MySQL greeting; None for protocols where the client speaks first."""


LABELS: dict[str, str] = {
    "smtp": "SMTP",
    "imap": "IMAP",
    "pop3": "POP3",
    "ftp": "FTP",
    "ldap": "LDAP",
    "xmpp": "XMPP",
    "xmpp-server": "XMPP",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
}


def negotiate(
    sock: socket.socket, protocol: str, name: str, early: bytes, send: Send, receive: Receive
) -> Steps[Upgrade]:
    """Speak `protocol`'s dialogue up to the server's go-ahead for TLS.

    `early` is what a proxy sent beyond its CONNECT reply; `send` and `receive` are the
    handshake's own steps, so the dialogue waits as the handshake does.
    """
    from pinctl.errors import ConnectError
    from pinctl.net.starttls import ftp, imap, ldap, mysql, pop3, postgres, smtp, xmpp
    from pinctl.net.starttls.wire import Wire

    wire = Wire(sock, early, send, receive, LABELS[protocol])
    if protocol == "smtp":
        greeting = yield from smtp.dialogue(wire, name)
    elif protocol == "imap":
        greeting = yield from imap.dialogue(wire, name)
    elif protocol == "pop3":
        greeting = yield from pop3.dialogue(wire, name)
    elif protocol == "ftp":
        greeting = yield from ftp.dialogue(wire, name)
    elif protocol == "ldap":
        greeting = yield from ldap.dialogue(wire, name)
    elif protocol in ("xmpp", "xmpp-server"):
        greeting = yield from xmpp.dialogue(wire, name, server=protocol == "xmpp-server")
    elif protocol == "postgres":
        greeting = yield from postgres.dialogue(wire, name)
    elif protocol == "mysql":
        greeting = yield from mysql.dialogue(wire, name)
    else:
        raise ValueError(f"unknown STARTTLS protocol {protocol!r}")
    extra = wire.rest()
    if extra:
        raise ConnectError(
            f"the server sent {extra} byte{'s' * (extra != 1)} before the TLS handshake, after "
            f"its {wire.protocol} go-ahead; they may have been injected, so nothing is trusted",
            "tls-error",
        )
    return Upgrade(protocol, name, greeting)
