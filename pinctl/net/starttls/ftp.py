"""FTP (RFC 4217): the 220 greeting, then AUTH TLS and its 234 go-ahead.

A multi-line reply starts ``220-`` and ends at the line that starts with the same code
and a space (RFC 959 section 4.2); lines between may say anything.
"""

from __future__ import annotations

from pinctl.net.starttls.wire import Wire, quoted, shown
from pinctl.net.steps import Steps


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    greeting = yield from _reply(wire)
    while greeting[-1][:3] == b"120":  # "ready in nnn minutes": the 220 follows
        greeting = yield from _reply(wire)
    if greeting[-1][:3] != b"220":
        raise wire.refused(f"the FTP server refused the session: {quoted(greeting)}")
    yield from wire.send(b"AUTH TLS\r\n")
    answer = yield from _reply(wire)
    if answer[-1][:3] != b"234":
        raise wire.refused(f"the FTP server refused AUTH TLS: {quoted(answer)}")
    return shown(greeting[0])


def _reply(wire: Wire) -> Steps[list[bytes]]:
    first = yield from wire.line()
    if first[3:4] != b"-":
        return [first]
    end = first[:3] + b" "
    rest = yield from wire.reply(lambda line: line[:4] == end)
    return [first, *rest]
