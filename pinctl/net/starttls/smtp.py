"""SMTP (RFC 3207): the 220 greeting, EHLO, the STARTTLS extension, and its 220 go-ahead."""

from __future__ import annotations

from pinctl.hostnames import is_ip_address, is_ipv6
from pinctl.net.starttls.wire import Wire, quoted, shown
from pinctl.net.steps import Steps


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    greeting = yield from wire.reply(_last)
    if _code(greeting) != b"220":
        raise wire.refused(f"the SMTP server refused the session: {quoted(greeting)}")
    yield from wire.send(b"EHLO " + ehlo_name(name).encode("ascii") + b"\r\n")
    ehlo = yield from wire.reply(_last)
    if _code(ehlo) != b"250":
        raise wire.refused(f"the SMTP server answered EHLO with {quoted(ehlo)}")
    keywords = [line[4:].split(maxsplit=1)[0].upper() for line in ehlo[1:] if line[4:].split()]
    if b"STARTTLS" not in keywords:
        offered = ", ".join(k.decode("ascii", "replace") for k in keywords) or "nothing"
        raise wire.refused(
            "the SMTP server does not offer STARTTLS "
            f"(its EHLO reply lists {shown(offered.encode())})"
        )
    yield from wire.send(b"STARTTLS\r\n")
    answer = yield from wire.reply(_last)
    if _code(answer) != b"220":
        raise wire.refused(f"the SMTP server refused STARTTLS: {quoted(answer)}")
    return shown(greeting[0])


def ehlo_name(name: str) -> str:
    """An address goes into EHLO as an address literal (RFC 5321 section 4.1.3)."""
    if is_ipv6(name):
        return f"[IPv6:{name}]"
    if is_ip_address(name):
        return f"[{name}]"
    return name


def _last(line: bytes) -> bool:
    """``250-`` continues a reply, ``250 `` (or a bare code) ends it."""
    return line[3:4] != b"-"


def _code(lines: list[bytes]) -> bytes:
    return lines[-1][:3]
