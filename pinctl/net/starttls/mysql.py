"""MySQL and MariaDB: the server's handshake packet must offer CLIENT_SSL; the client then
sends an SSLRequest packet (a handshake response cut short) and starts TLS at once."""

from __future__ import annotations

import struct

from pinctl.net.starttls.wire import REPLY_LIMIT, Wire, shown
from pinctl.net.steps import Steps

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
_FLAGS = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION
_UTF8 = 33
"""utf8_general_ci: a collation every server knows."""


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    head = yield from wire.exactly(4)
    size, sequence = int.from_bytes(head[:3], "little"), head[3]
    if size > REPLY_LIMIT:
        raise wire.error(f"the server's first packet of {size} bytes is over 64 KiB")
    payload = yield from wire.exactly(size)
    if payload[:1] == b"\xff":
        code = int.from_bytes(payload[1:3], "little")
        text = payload[3:]
        if text[:1] == b"#":
            text = text[6:]  # '#' and the five-character SQLSTATE
        raise wire.refused(f"the MySQL server refused the connection: {code} {shown(text)!r}")
    if payload[:1] != b"\x0a":
        raise wire.error(f"the server's first packet {shown(payload[:16])!r} is no MySQL greeting")
    version, nul, rest = payload[1:].partition(b"\x00")
    if not nul or len(rest) < 4 + 8 + 1 + 2:
        raise wire.error("the server's MySQL greeting is truncated")
    capabilities = int.from_bytes(rest[13:15], "little")
    if not capabilities & CLIENT_SSL:
        raise wire.refused(
            f"the MySQL server {shown(version)!r} does not offer TLS "
            "(no CLIENT_SSL in its greeting)"
        )
    request = struct.pack("<IIB23x", _FLAGS, 1 << 24, _UTF8)
    header = len(request).to_bytes(3, "little") + bytes([(sequence + 1) & 0xFF])
    yield from wire.send(header + request)
    return shown(version)
