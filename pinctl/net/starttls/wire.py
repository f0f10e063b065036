"""The dialogue's side of the socket: sends, and reads of lines or exact byte counts.

Reads are bounded so that no server can make pinctl hang or grow without limit: a line
is at most `LINE_LIMIT` bytes and one reply (a greeting of many lines included) at most
`REPLY_LIMIT`; every read waits through the handshake's own send and receive steps, so
the host's deadline holds. `Wire.rest` is what the server sent beyond its go-ahead.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

from pinctl.errors import ConnectError
from pinctl.net.steps import Steps

REPLY_LIMIT = 64 * 1024
"""The longest greeting or reply, all its lines together."""
LINE_LIMIT = 8 * 1024
"""The longest line of a line protocol (SMTP allows 512 bytes, IMAP servers a few KiB)."""

UNSUPPORTED = "starttls-unsupported"
"""The status of a server that does not offer STARTTLS or refuses it."""

Send = Callable[[socket.socket, bytes, str], Steps[None]]
Receive = Callable[[socket.socket, str], Steps[bytes]]


def shown(data: bytes, limit: int = 200) -> str:
    """Server text as messages and JSON show it: control characters escaped, cut short."""
    text = data[:limit].decode("utf-8", "replace")
    out = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return out + ("..." if len(data) > limit else "")


class Wire:
    """One dialogue's connection, with what was received and not yet read."""

    def __init__(
        self, sock: socket.socket, early: bytes, send: Send, receive: Receive, protocol: str
    ) -> None:
        self.sock = sock
        self.buffer = bytearray(early)
        self._send = send
        self._receive = receive
        self.protocol = protocol
        self.doing = f"during the {protocol} STARTTLS dialogue"

    def send(self, data: bytes) -> Steps[None]:
        yield from self._send(self.sock, data, self.doing)

    def fill(self, limit: int = REPLY_LIMIT) -> Steps[None]:
        """Receive more; the connection closing here ends the dialogue."""
        if len(self.buffer) > limit:
            raise self.error(f"the server sent over {limit // 1024} KiB without ending its reply")
        chunk = yield from self._receive(self.sock, self.doing)
        if not chunk:
            said = f" after {shown(bytes(self.buffer[:80]))!r}" if self.buffer else ""
            raise self.error(f"the server closed the connection{said}")
        self.buffer += chunk

    def line(self) -> Steps[bytes]:
        """The next line without its CR LF (a bare LF ends one too)."""
        start = 0
        while True:
            end = self.buffer.find(b"\n", start)
            if end >= 0:
                if end > LINE_LIMIT:
                    break
                line = bytes(self.buffer[:end]).rstrip(b"\r")
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > LINE_LIMIT:
                break
            start = len(self.buffer)
            yield from self.fill()
        raise self.error(f"the server sent a line over {LINE_LIMIT // 1024} KiB")

    def reply(self, last: Callable[[bytes], bool]) -> Steps[list[bytes]]:
        """Lines up to the one `last` accepts; all of them at most `REPLY_LIMIT` bytes."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = yield from self.line()
            lines.append(line)
            size += len(line) + 2
            if last(line):
                return lines
            if size > REPLY_LIMIT:
                raise self.error(
                    f"the server sent over {REPLY_LIMIT // 1024} KiB without ending its reply"
                )

    def exactly(self, count: int) -> Steps[bytes]:
        """The next `count` bytes, no more."""
        while len(self.buffer) < count:
            yield from self.fill(max(count, REPLY_LIMIT))
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def rest(self) -> int:
        """Bytes received beyond what was read, those already waiting on the socket too."""
        waiting = len(self.buffer)
        while waiting <= REPLY_LIMIT:  # a server streaming for ever is caught by now
            try:
                chunk = self.sock.recv(65536, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return waiting
            except OSError:
                return waiting  # a reset now shows in the handshake, with its own message
            if not chunk:
                return waiting
            waiting += len(chunk)
        return waiting

    def error(self, what: str, status: str = "tls-error") -> ConnectError:
        return ConnectError(f"{what} {self.doing}", status)

    def refused(self, what: str) -> ConnectError:
        return ConnectError(what, UNSUPPORTED)


def quoted(lines: Sequence[bytes], limit: int = 3) -> str:
    """A reply for a message: its first lines, escaped."""
    text = " / ".join(shown(line, 120) for line in lines[:limit])
    return repr(text + (" / ..." if len(lines) > limit else ""))
