"""XMPP (RFC 6120 section 5): open a stream to the domain, find ``<starttls/>`` among the
stream features, ask for it, and wait for ``<proceed/>``.

The server's stream is parsed incrementally by expat with namespaces, so a prefix other
than ``stream:`` or a reply split anywhere reads the same; a DTD or an entity declaration
(which XMPP forbids) ends the dialogue. A stream error (``host-unknown`` when the domain
is not served) or ``<failure/>`` is a refusal.
"""

from __future__ import annotations

from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from pinctl.net.starttls.wire import REPLY_LIMIT, Wire, shown
from pinctl.net.steps import Steps

STREAMS = "http://etherx.jabber.org/streams"
TLS = "urn:ietf:params:xml:ns:xmpp-tls"
ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"


class _Stream:
    """What the server's stream said so far, as expat reports it."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.StartDoctypeDeclHandler = self._forbidden
        self.parser.EntityDeclHandler = self._forbidden
        self.depth = 0
        self.opened: int | None = None
        """Where the server's stream header starts in the bytes fed."""
        self.offered = False
        self.features = False
        self.error: str | None = None
        self.closed = False
        self.answer: str | None = None
        """``proceed`` or ``failure``, once the reply to ``<starttls/>`` is complete."""
        self.answer_at = 0
        self._in = ""
        """The element at depth 2 (a child of the stream) being read."""

    def _forbidden(self, *args: object) -> None:
        raise expat.ExpatError("a DTD or entity declaration, which XMPP forbids")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth == 1:
            if name != f"{STREAMS} stream":
                raise expat.ExpatError(f"<{name.split(' ')[-1]}> instead of a stream header")
            self.opened = self.parser.CurrentByteIndex
        elif self.depth == 3 and self._in == f"{STREAMS} features" and name == f"{TLS} starttls":
            self.offered = True
        elif (
            self.depth == 3
            and self._in == f"{STREAMS} error"
            and name.startswith(ERRORS)
            and name != f"{ERRORS} text"
        ):
            self.error = name.split(" ", 1)[1]
        if self.depth == 2:
            self._in = name

    def _end(self, name: str) -> None:
        if self.depth == 2:
            if name == f"{STREAMS} features":
                self.features = True
            elif name == f"{STREAMS} error":
                self.error = self.error or "undefined-condition"
            elif name in (f"{TLS} proceed", f"{TLS} failure"):
                self.answer = name.split(" ", 1)[1]
                self.answer_at = self.parser.CurrentByteIndex
        elif self.depth == 1:
            self.closed = True
        self.depth -= 1


def dialogue(wire: Wire, name: str, server: bool = False) -> Steps[str | None]:
    namespace = "jabber:server" if server else "jabber:client"
    header = (
        f"<?xml version='1.0'?><stream:stream xmlns='{namespace}' xmlns:stream='{STREAMS}' "
        f"to={quoteattr(name)} version='1.0'>"
    )
    yield from wire.send(header.encode("utf-8"))
    stream = _Stream()
    seen = bytearray()
    asked = False
    while True:
        data = bytes(wire.buffer)
        wire.buffer.clear()
        seen += data
        try:
            stream.parser.Parse(data, False)
        except expat.ExpatError as exc:
            raise wire.error(f"the server's XMPP stream is not well-formed XML ({exc})") from None
        if stream.error or stream.closed:
            condition = stream.error or "the stream was closed"
            raise wire.refused(f"the XMPP server ended the stream: {condition}")
        if stream.features and not asked:
            if not stream.offered:
                raise wire.refused("the XMPP server does not offer STARTTLS in its stream features")
            yield from wire.send(f"<starttls xmlns='{TLS}'/>".encode("ascii"))
            asked = True
        if stream.answer == "failure":
            raise wire.refused("the XMPP server answered <starttls/> with <failure/>")
        if stream.answer == "proceed":
            # expat reports the end of <proceed/> after it, and of </proceed> before it.
            end = at = stream.answer_at
            if seen[at : at + 2] == b"</" and seen[at - 2 : at] != b"/>":
                end = seen.find(b">", at) + 1
            wire.buffer += seen[end:]  # what came after <proceed/>: the caller refuses it
            break
        if len(seen) > REPLY_LIMIT:
            raise wire.error(f"the server sent over {REPLY_LIMIT // 1024} KiB of stream header")
        yield from wire.fill()
    opened = stream.opened or 0
    return shown(bytes(seen[opened : seen.find(b">", opened) + 1]))
