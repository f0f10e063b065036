"""DNS lookups as waits: getaddrinfo in a few helper threads, each answer on its own pipe.

getaddrinfo cannot be interrupted, so it runs in a thread that says it is done on a pipe;
the check waits on the pipe with its deadline and, at the deadline, stops waiting and
drops the answer. The threads are few and reused: the pool has hundreds of checks in
flight, and a thread per lookup would start hundreds at once (into a container's limit
on processes) and hand the system resolver hundreds of queries at once.
"""

from __future__ import annotations

import contextlib
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

LOOKUP_THREADS = 32
"""Lookups at once; more wait in line, on their own deadlines. A lookup stuck in the
system resolver holds one thread until it returns, so there are several."""


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
    lookup = _Lookup(host, port, wanted, done)
    try:
        _LOOKUPS.submit(lookup)
    except RuntimeError as exc:  # "can't start new thread", and none is running
        os.close(ready)
        os.close(done)
        raise ConnectError(f"cannot resolve {host}: {exc}") from None
    try:
        yield Wait(ready, doing=f"while resolving {host}")
    finally:
        lookup.abandoned = True  # a lookup still in line is then skipped
        os.close(ready)
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
    done: int
    """The pipe's write end, closed by the thread that takes the lookup."""
    found: list[Addresses] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    abandoned: bool = False
    """The waiter has given up (its deadline): nobody reads the answer."""

    def run(self) -> None:
        try:
            if not self.abandoned:
                infos = socket.getaddrinfo(self.host, self.port, self.family, socket.SOCK_STREAM)
                self.found.append([(info[0], info[4]) for info in infos])
        except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
            self.failed.append(getattr(exc, "strerror", None) or str(exc))
        finally:
            with contextlib.suppress(OSError):  # nobody waits any more
                os.write(self.done, b".")
            os.close(self.done)


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
