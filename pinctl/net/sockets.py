"""Non-blocking sockets as pool steps: dial (every resolved address in turn), send, recv.

Every wait is a `Wait` (see `pinctl.net.steps`), so one deadline covers DNS, the connect,
a proxy's CONNECT, a STARTTLS dialogue, the handshake and an HTTP fetch alike; and every
socket error becomes a `ConnectError` saying what was being done.
"""

from __future__ import annotations

import errno
import os
import socket

from pinctl.errors import ConnectError
from pinctl.hostnames import join_host_port
from pinctl.net.resolver import descriptor_error, resolve
from pinctl.net.steps import Steps, Wait

READ_SIZE = 65536


def dial(host: str, port: int, family: int | None, via: str) -> Steps[socket.socket]:
    where = join_host_port(host, port)
    addresses = yield from resolve(host, port, family)
    last: ConnectError | None = None
    for af, address in addresses:
        try:
            sock = socket.socket(af, socket.SOCK_STREAM)
        except OSError as exc:
            raise descriptor_error(exc, f"a socket to {via or where}") from None
        sock.setblocking(False)
        try:
            yield from connect(sock, address, f"when connecting to {via or where}")
            return sock
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, ConnectError) or exc.status == "timeout":
                raise
            last = exc  # refused or unreachable: try the next address
    assert last is not None  # resolve never returns an empty list
    raise last


def connect(sock: socket.socket, address: tuple[object, ...], doing: str) -> Steps[None]:
    code = sock.connect_ex(address)
    if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
        yield Wait(sock, write=True, doing=doing)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise socket_error(OSError(code, os.strerror(code)), doing)


def send(sock: socket.socket, data: bytes, doing: str) -> Steps[None]:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)  # a fresh socket takes a handshake flight at once
        except (BlockingIOError, InterruptedError):
            yield Wait(sock, write=True, doing=doing)
            continue
        except OSError as exc:
            raise socket_error(exc, doing) from None
        view = view[sent:]


def recv(sock: socket.socket, doing: str) -> Steps[bytes]:
    while True:
        # Wait first, even when bytes may be there: a peer that streams forever must still
        # meet the deadline, which is checked at every wait.
        yield Wait(sock, doing=doing)
        try:
            return sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError as exc:
            raise socket_error(exc, doing) from None


def socket_error(exc: OSError, doing: str) -> ConnectError:
    code = exc.errno
    if code == errno.ECONNREFUSED:
        return ConnectError(f"connection refused {doing}; is the port right?", retryable=True)
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return ConnectError(f"connection reset by the peer {doing}", retryable=True)
    if code == errno.ETIMEDOUT:
        return ConnectError(f"timed out {doing}", "timeout")
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return ConnectError(f"{exc.strerror} {doing}; check the address and -4/-6")
    return ConnectError(f"{exc.strerror or exc} {doing}")
