"""PostgreSQL: the SSLRequest message, answered by one byte, ``S`` or ``N``.

Exactly one byte is read: anything after the ``S`` came before the handshake and may be
injected (CVE-2021-23222), which the caller refuses.
"""

from __future__ import annotations

import struct

from pinctl.net.starttls.wire import Wire, shown
from pinctl.net.steps import Steps

SSL_REQUEST = struct.pack("!II", 8, 80877103)
"""Length 8, then the request code 1234 << 16 | 5679."""


def dialogue(wire: Wire, name: str) -> Steps[str | None]:
    yield from wire.send(SSL_REQUEST)
    answer = yield from wire.exactly(1)
    if answer == b"S":
        return None
    if answer == b"N":
        raise wire.refused("the PostgreSQL server answered N to SSLRequest: it does not accept TLS")
    if answer == b"E":
        raise wire.refused(
            "the PostgreSQL server answered SSLRequest with an error message "
            "(a server older than 7.1, or one that refuses the connection)"
        )
    raise wire.error(f"the server answered SSLRequest with {shown(answer)!r}, not S or N")
