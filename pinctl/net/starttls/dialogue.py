"""Which dialogue a protocol speaks, what it leaves (`Upgrade`), and the check that nothing
follows its go-ahead."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pinctl.errors import ConnectError
from pinctl.net.starttls import LABELS, ftp, imap, ldap, mysql, pop3, postgres, smtp, xmpp
from pinctl.net.starttls.wire import Receive, Send, Wire
from pinctl.net.steps import Steps


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


def negotiate(
    sock: socket.socket, protocol: str, name: str, early: bytes, send: Send, receive: Receive
) -> Steps[Upgrade]:
    """Speak `protocol`'s dialogue up to the server's go-ahead for TLS.

    `early` is what a proxy sent beyond its CONNECT reply; `send` and `receive` are the
    handshake's own steps, so the dialogue waits as the handshake does.
    """
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
