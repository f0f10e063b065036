"""IMAP (RFC 3501, 9051): the OK greeting, CAPABILITY, then STARTTLS, each tagged reply read
through the untagged lines before it.

A PREAUTH greeting is refused: STARTTLS is not allowed once authenticated, and an
attacker who answers PREAUTH is how clients were talked out of TLS (CVE-2020-12398).
"""

from __future__ import annotations

from pinctl.net.starttls.wire import Wire, quoted, shown
from pinctl.net.steps import Steps


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    greeting = yield from wire.line()
    if not greeting[:5].upper() == b"* OK ":
        raise wire.refused(f"the IMAP server did not greet with OK: {quoted([greeting])}")
    capabilities = _capabilities(greeting)
    if b"STARTTLS" not in capabilities:
        lines = yield from _command(wire, b"P1", b"CAPABILITY")
        capabilities = set().union(*(_capabilities(line) for line in lines))
    if b"STARTTLS" not in capabilities:
        offered = b" ".join(sorted(capabilities)) or b"nothing"
        raise wire.refused(
            f"the IMAP server does not offer STARTTLS (capabilities: {shown(offered)})"
        )
    lines = yield from _command(wire, b"P2", b"STARTTLS")
    if lines[-1][3:6].upper() != b"OK ":
        raise wire.refused(f"the IMAP server refused STARTTLS: {quoted(lines[-1:])}")
    return shown(greeting)


def _command(wire: Wire, tag: bytes, command: bytes) -> Steps[list[bytes]]:
    """Send a tagged command; its reply ends at the line with the tag."""
    yield from wire.send(tag + b" " + command + b"\r\n")
    lines = yield from wire.reply(lambda line: line[: len(tag) + 1].upper() == tag + b" ")
    if command != b"STARTTLS" and lines[-1][len(tag) + 1 :][:3].upper() != b"OK ":
        raise wire.refused(f"the IMAP server answered {command.decode()} with {quoted(lines[-1:])}")
    return lines


def _capabilities(line: bytes) -> set[bytes]:
    """The words of ``* CAPABILITY ...`` or of a greeting's ``[CAPABILITY ...]`` code."""
    upper = line.upper()
    if upper.startswith(b"* CAPABILITY "):
        return set(upper.split()[2:])
    start = upper.find(b"[CAPABILITY ")
    if start >= 0:
        end = upper.find(b"]", start)
        return set(upper[start + 1 : end if end >= 0 else None].split()[1:])
    return set()
