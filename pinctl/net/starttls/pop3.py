"""POP3 (RFC 2595): the +OK greeting, then STLS, as openssl's s_client speaks it."""

from __future__ import annotations

from pinctl.net.starttls.wire import Wire, quoted, shown
from pinctl.net.steps import Steps


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    greeting = yield from wire.line()
    if not greeting.startswith(b"+OK"):
        raise wire.refused(f"the POP3 server did not greet with +OK: {quoted([greeting])}")
    yield from wire.send(b"STLS\r\n")
    answer = yield from wire.line()
    if not answer.startswith(b"+OK"):
        raise wire.refused(f"the POP3 server refused STLS: {quoted([answer])}")
    return shown(greeting)
