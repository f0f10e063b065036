"""Scripted STARTTLS servers on loopback: each protocol's dialogue, then a real handshake.

They stand in for what real daemons will not do on request (refuse, inject bytes after
the go-ahead, split or never end a greeting, hang); the daemons themselves are in
`tests.support.daemons`. A script is a function of the connection; `go_ahead` hands the
socket to a real TLS handshake with the test's certificate.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator

from tests.support.servers import LoopbackServer

Script = Callable[["Peer"], None]


class Peer:
    """The server's side of one connection: lines in, bytes out, and the TLS upgrade."""

    def __init__(self, conn: socket.socket, context: ssl.SSLContext, server: LoopbackServer):
        self.conn = conn
        self.context = context
        self.server = server
        self.received: list[bytes] = []
        conn.settimeout(10)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self.conn.recv(1)  # never a byte past the line: it may be the ClientHello
            if not chunk:
                raise ConnectionError("client went away")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        self.received.append(line.rstrip(b"\r"))
        return line.rstrip(b"\r")

    def exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self.conn.recv(count - len(self._buffer))
            if not chunk:
                raise ConnectionError("client went away")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.conn.recv(1)
            if not chunk:
                raise ConnectionError("client went away")
            self._buffer += chunk
        data, _, self._buffer = self._buffer.partition(marker)
        return data + marker

    def hang(self) -> None:
        self.server.wait_stopping(120)

    def go_ahead(self) -> None:
        """Complete a real handshake as the server, then wait for the client to hang up."""
        with (
            self.context.wrap_socket(self.conn, server_side=True) as tls,
            contextlib.suppress(OSError, ssl.SSLError),
        ):
            tls.recv(1)


@contextlib.contextmanager
def scripted(script: Script, context: ssl.SSLContext) -> Iterator[LoopbackServer]:
    holder: list[LoopbackServer] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(ConnectionError):
            script(Peer(conn, context, holder[0]))

    with LoopbackServer(handle) as server:
        holder.append(server)
        yield server


# --- well-behaved dialogues, one per protocol -------------------------------------------


def smtp(
    peer: Peer, *, offer: bool = True, answer: bytes = b"220 2.0.0 Ready to start TLS"
) -> None:
    peer.send(b"220-mail.test ESMTP scripted\r\n220 second greeting line\r\n")
    peer.line()  # EHLO
    extensions = [b"PIPELINING", b"SIZE 10240000", *([b"STARTTLS"] if offer else []), b"8BITMIME"]
    reply = b"250-mail.test\r\n" + b"".join(
        (b"250 " if i == len(extensions) - 1 else b"250-") + e + b"\r\n"
        for i, e in enumerate(extensions)
    )
    peer.send(reply)
    if not offer:
        peer.line()
        return
    peer.line()  # STARTTLS
    peer.send(answer + b"\r\n")
    if answer.startswith(b"220"):
        peer.go_ahead()
    else:
        peer.line()


def imap(
    peer: Peer, *, offer: bool = True, answer: bytes = b"OK Begin TLS negotiation now"
) -> None:
    peer.send(b"* OK IMAP4rev1 scripted ready\r\n")
    tag = peer.line().split(b" ")[0]
    caps = b"IMAP4rev1 LITERAL+ " + (b"STARTTLS " if offer else b"") + b"LOGINDISABLED"
    peer.send(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK CAPABILITY completed\r\n")
    if not offer:
        peer.line()
        return
    tag = peer.line().split(b" ")[0]
    peer.send(b"* OK still here\r\n" + tag + b" " + answer + b"\r\n")
    if answer.startswith(b"OK"):
        peer.go_ahead()
    else:
        peer.line()


def pop3(peer: Peer, *, answer: bytes = b"+OK Begin TLS negotiation") -> None:
    peer.send(b"+OK POP3 scripted ready\r\n")
    peer.line()  # STLS
    peer.send(answer + b"\r\n")
    if answer.startswith(b"+OK"):
        peer.go_ahead()
    else:
        peer.line()


def ftp(peer: Peer, *, answer: bytes = b"234 Proceed with negotiation.") -> None:
    peer.send(b"220-Welcome to the scripted FTP\r\n  a banner line\r\n220 ready\r\n")
    peer.line()  # AUTH TLS
    peer.send(answer + b"\r\n")
    if answer.startswith(b"234"):
        peer.go_ahead()
    else:
        peer.line()


def ber(tag: int, value: bytes, *, long_form: bool = False) -> bytes:
    """A BER element; `long_form` writes even a short length in the long form."""
    size = len(value)
    if size < 0x80 and not long_form:
        return bytes([tag, size]) + value
    raw = size.to_bytes(2, "big")
    return bytes([tag, 0x82]) + raw + value


def ldap_response(
    code: int, diagnostic: bytes = b"", *, message_id: int = 1, long_form: bool = False
) -> bytes:
    body = (
        ber(0x0A, bytes([code]), long_form=long_form)
        + ber(0x04, b"", long_form=long_form)
        + ber(0x04, diagnostic, long_form=long_form)
        + ber(0x8A, b"1.3.6.1.4.1.1466.20037", long_form=long_form)
    )
    return ber(
        0x30,
        ber(0x02, bytes([message_id]), long_form=long_form) + ber(0x78, body, long_form=long_form),
        long_form=long_form,
    )


def ldap(peer: Peer, *, response: bytes | None = None, proceed: bool = True) -> None:
    request = peer.exactly(2)
    peer.exactly(request[1])
    peer.send(ldap_response(0) if response is None else response)
    if proceed:
        peer.go_ahead()
    else:
        peer.hang()


_STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='chat.test' version='1.0'>"
)


def xmpp(peer: Peer, *, offer: bool = True, error: bytes | None = None) -> None:
    peer.until(b">")  # the <?xml?> declaration
    header = peer.until(b">")
    peer.received.append(header)
    peer.send(_STREAM)
    if error is not None:
        peer.send(
            b"<stream:error><" + error + b" xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            b"</stream:error></stream:stream>"
        )
        return
    starttls = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    peer.send(
        b"<stream:features>"
        + (starttls if offer else b"")
        + b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
        b"</mechanisms></stream:features>"
    )
    if not offer:
        peer.hang()
        return
    peer.until(b"/>")
    peer.send(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    peer.go_ahead()


def postgres(peer: Peer, *, answer: bytes = b"S") -> None:
    assert peer.exactly(8) == struct.pack("!II", 8, 80877103)
    peer.send(answer)
    if answer == b"S":
        peer.go_ahead()
    else:
        peer.hang()


def mysql_greeting(*, ssl_flag: bool = True, version: bytes = b"8.0.99-scripted") -> bytes:
    caps = 0xFFFF if ssl_flag else 0xFFFF & ~0x800
    payload = (
        b"\x0a"
        + version
        + b"\x00"
        + struct.pack("<I", 7)
        + b"abcdefgh"
        + b"\x00"
        + struct.pack("<H", caps)
        + b"\x21"
        + struct.pack("<H", 2)
        + struct.pack("<H", 0x81FF)
        + b"\x15"
        + b"\x00" * 10
        + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


def mysql(peer: Peer, *, greeting: bytes | None = None) -> None:
    peer.send(greeting if greeting is not None else mysql_greeting())
    head = peer.exactly(4)
    size = int.from_bytes(head[:3], "little")
    body = peer.exactly(size)
    assert head[3] == 1
    assert size == 32
    assert struct.unpack("<I", body[:4])[0] & 0x800
    peer.go_ahead()


GOOD: dict[str, Script] = {
    "smtp": smtp,
    "imap": imap,
    "pop3": pop3,
    "ftp": ftp,
    "ldap": ldap,
    "xmpp": xmpp,
    "postgres": postgres,
    "mysql": mysql,
}


def drip(peer: Peer, data: bytes, pause: float = 0.02) -> None:
    """Send `data` a few bytes at a time, so the client sees it split across packets."""
    peer.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for start in range(0, len(data), 3):
        peer.send(data[start : start + 3])
        time.sleep(pause)
