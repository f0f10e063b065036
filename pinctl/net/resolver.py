"""DNS lookups as waits: getaddrinfo in reused helper threads, each answer on its own pipe.

getaddrinfo cannot be interrupted, so it runs in a thread that says it is done on a pipe;
the check waits on the pipe with its deadline and, at the deadline, stops waiting and
drops the answer. The waiter owns both ends of the pipe and closes them as it leaves,
whatever the thread is doing: a lookup stuck in the system resolver must not keep a
descriptor the pool has already handed to the next check. The thread writes only under
the lookup's lock and only while the waiter is there, so it never writes to a closed (or
reused) descriptor, and a lookup still in line whose waiter has left is dropped without
calling getaddrinfo.

Threads are started as lookups wait for one and are then kept, up to `LOOKUP_THREADS`.
A thread per lookup would start hundreds at once (into a container's limit on
processes) and hand the system resolver hundreds of queries at once, each holding a
socket the pool's descriptor budget does not count. Too few, and a quick name waits in
line behind slow ones until its own deadline: a thread whose waiter timed out stays in
getaddrinfo until the resolver gives up. So the bound sits well above the names a run
has slow at once (one dead zone's hosts), yet stays a bound when all of DNS hangs.
"""

from __future__ import annotations

import errno
import os
import queue
import socket
import threading
from dataclasses import dataclass, field

from pinctl.errors import ConnectError
from pinctl.hostnames import is_ip_address
from pinctl.net.steps import Steps, Wait

Addresses = list[tuple[socket.AddressFamily, tuple[object, ...]]]

LOOKUP_THREADS = 64
"""Lookups at once; more wait in line, on their own deadlines. A lookup stuck in the
system resolver holds its thread until it returns, waiter or not."""


def resolve(host: str, port: int, family: int | None) -> Steps[Addresses]:
    """The addresses to dial for `host`, by the deadline of whoever drives the steps."""
    wanted = {4: socket.AF_INET, 6: socket.AF_INET6}.get(family or 0, socket.AF_UNSPEC)
    if is_ip_address(host):
        af = socket.AF_INET6 if ":" in host else socket.AF_INET
        if wanted not in (socket.AF_UNSPEC, af):
            raise ConnectError(f"{host} is not an IPv{family} address (-{family} was given)")
        return [(af, (host, port))]
    try:
        ready, done = os.pipe()
    except OSError as exc:
        raise descriptor_error(exc, f"a pipe to resolve {host}") from None
    lookup = _Lookup(host, port, wanted, ready, done)
    try:
        _LOOKUPS.submit(lookup)
    except RuntimeError as exc:  # "can't start new thread", and none is running
        lookup.leave()
        raise ConnectError(f"cannot resolve {host}: {exc}") from None
    try:
        yield Wait(ready, doing=f"while resolving {host}")
    finally:
        lookup.leave()
    if lookup.failed or not lookup.found or not lookup.found[0]:
        reason = lookup.failed[0] if lookup.failed else "no address found"
        family_note = f" (IPv{family} only)" if family else ""
        raise ConnectError(f"cannot resolve {host}{family_note}: {reason}; check the name")
    return lookup.found[0]


def descriptor_error(exc: OSError, what: str) -> ConnectError:
    """EMFILE or ENFILE: this host could not be checked, which says nothing against it."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        whose = "this process's" if exc.errno == errno.EMFILE else "the system's"
        return ConnectError(
            f"cannot open {what}: {whose} limit of open files is reached; "
            "raise it (ulimit -n) or check fewer hosts at once"
        )
    return ConnectError(f"cannot open {what}: {exc.strerror or exc}")


@dataclass
class _Lookup:
    host: str
    port: int
    family: int
    ready: int
    done: int
    """The pipe's ends; both belong to the waiter, the thread only writes to `done`."""
    found: list[Addresses] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    abandoned: bool = False
    """The waiter has left (answered, its deadline, its check closed): the pipe is closed."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def leave(self) -> None:
        """The waiter stops waiting and frees the pipe now, not when a thread gets to it."""
        with self.lock:
            if not self.abandoned:
                self.abandoned = True
                os.close(self.ready)
                os.close(self.done)

    def run(self) -> None:
        if self.abandoned:
            return  # nobody is waiting: do not send the resolver a query for nobody
        try:
            infos = socket.getaddrinfo(self.host, self.port, self.family, socket.SOCK_STREAM)
            self.found.append([(info[0], info[4]) for info in infos])
        except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
            self.failed.append(getattr(exc, "strerror", None) or str(exc))
        finally:
            with self.lock:
                if not self.abandoned:  # one byte into an empty pipe: this never blocks
                    os.write(self.done, b".")


class _Lookups:
    """Daemon threads that take lookups in turn; started as lookups need them, then kept."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[_Lookup] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads = 0
        self.idle = 0
        self.pending = 0

    def submit(self, lookup: _Lookup) -> None:
        with self.lock:
            self.pending += 1
            start = self.pending > self.idle and self.threads < LOOKUP_THREADS
            if start:
                self.threads += 1
        if start:
            try:
                threading.Thread(target=self._work, name="pinctl-dns", daemon=True).start()
            except RuntimeError:
                with self.lock:
                    self.threads -= 1
                    alone = self.threads == 0
                    if alone:
                        self.pending -= 1
                if alone:
                    raise
        self.queue.put(lookup)

    def _work(self) -> None:
        while True:
            with self.lock:
                self.idle += 1
            lookup = self.queue.get()
            with self.lock:
                self.idle -= 1
                self.pending -= 1
            lookup.run()


_LOOKUPS = _Lookups()
