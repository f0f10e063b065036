"""LDAP (RFC 4511 section 4.14): the StartTLS extended operation and its BER reply.

The reply is read as one LDAPMessage: its tag, its length in short or long form (at most
`wire.REPLY_LIMIT`), then exactly that many bytes, so nothing of what follows is taken
as part of it. A Notice of Disconnection (message ID 0) is a refusal too.
"""

from __future__ import annotations

from pinctl.net.starttls.wire import REPLY_LIMIT, Wire, shown
from pinctl.net.steps import Steps

START_TLS = b"1.3.6.1.4.1.1466.20037"
_SEQUENCE = 0x30
_EXTENDED_REQUEST = 0x77
_EXTENDED_RESPONSE = 0x78
_RESULTS = {
    1: "operationsError",
    2: "protocolError",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


REQUEST = _tlv(_SEQUENCE, _tlv(0x02, b"\x01") + _tlv(_EXTENDED_REQUEST, _tlv(0x80, START_TLS)))
"""LDAPMessage { messageID 1, extendedReq { requestName StartTLS } }."""


class Malformed(ValueError):
    pass


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    yield from wire.send(REQUEST)
    head = yield from wire.exactly(2)
    if head[0] != _SEQUENCE:
        raise wire.error(f"the server's reply starts with {shown(head)!r}, not an LDAPMessage")
    size = head[1]
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 4:
            raise wire.error("the server's LDAPMessage has an indefinite or oversized length")
        size = int.from_bytes((yield from wire.exactly(count)), "big")
    if size > REPLY_LIMIT:
        raise wire.error(f"the server's LDAPMessage of {size} bytes is over 64 KiB")
    body = yield from wire.exactly(size)
    try:
        message_id, code, diagnostic = parse_response(body)
    except Malformed as exc:
        raise wire.error(f"the server's reply is not a StartTLS ExtendedResponse ({exc})") from None
    said = f": {shown(diagnostic)!r}" if diagnostic else ""
    if message_id == 0:
        raise wire.refused(f"the LDAP server sent a notice of disconnection{said}")
    if code != 0:
        meaning = _RESULTS.get(code, "error")
        raise wire.refused(f"the LDAP server refused StartTLS: result {code} ({meaning}){said}")
    return None


def parse_response(body: bytes) -> tuple[int, int, bytes]:
    """The message ID, result code and diagnostic message of an ExtendedResponse."""
    tag, message_id, at = _read(body, 0)
    if tag != 0x02 or not 1 <= len(message_id) <= 4:
        raise Malformed("no message ID")
    tag, response, _ = _read(body, at)
    if tag != _EXTENDED_RESPONSE:
        raise Malformed(f"protocol operation 0x{tag:02x}")
    tag, code, at = _read(response, 0)
    if tag != 0x0A or not 1 <= len(code) <= 4:
        raise Malformed("no result code")
    tag, _matched, at = _read(response, at)
    tag2, diagnostic, _ = _read(response, at)
    if tag != 0x04 or tag2 != 0x04:
        raise Malformed("no matchedDN and diagnosticMessage")
    return int.from_bytes(message_id, "big"), int.from_bytes(code, "big"), diagnostic


def _read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """One BER element at `at`: its tag, its value, and where the next one starts."""
    if at + 2 > len(data):
        raise Malformed("truncated")
    tag, size = data[at], data[at + 1]
    at += 2
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 4 or at + count > len(data):
            raise Malformed("bad length")
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + size > len(data):
        raise Malformed("truncated")
    return tag, data[at : at + size], at + size
