"""Network work as generators of waits, so one code path serves one host or hundreds.

A handshake is written once, as a generator that yields a `Wait` whenever it needs a
socket to become ready (or time to pass). `pinctl.net.pool` is the one way to run many
(verify, fetch, add): hundreds at once in one thread with one poll, so no interpreter
lock changes hands at every call into OpenSSL. `drive` runs a single one in the calling
thread. Whoever drives owns the deadline, and throws `timed_out(...)` into the generator
where it waits, so the generator's own clean-up (closing its socket) runs as for any
other failure.
"""

from __future__ import annotations

import math
import select
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pinctl.errors import ConnectError

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

R = TypeVar("R")


@dataclass(frozen=True)
class Wait:
    """Resume when `fd` is ready to read (or write), or once `until` has come."""

    fd: FileDescriptorLike | None
    write: bool = False
    doing: str = ""
    """What is waited for, as the end of a sentence: "during the TLS handshake"."""
    until: float | None = None
    """A `time.monotonic()` time, for a pause with no socket (`fd` is None)."""
    compute: bool = False
    """Not a wait: CPU work follows, which no deadline cuts short. A driver may run it
    later, together with other checks' (see `COMPUTE`). The check may go back to the
    network afterwards (a revocation fetch); its waits there meet a new deadline, one
    more timeout from the compute step."""


Steps = Generator[Wait, None, R]

COMPUTE = Wait(None, compute=True)
"""Yielded between a check's network part and its validation. Validations run back to
back are cheaper than each right after its own handshake, which evicts the verifier's
code and data from the CPU caches (bench/verify_many measures it)."""

_LONGEST_WAIT = 3600.0
"""Seconds of one poll or sleep: a longer (or infinite) deadline is waited for in hours,
since poll() takes a C int of milliseconds and sleep() overflows on inf."""


def timed_out(seconds: float, doing: str) -> ConnectError:
    return ConnectError(f"timed out after {seconds:g} s {doing}".rstrip(), "timeout")


def drive(steps: Steps[R], timeout: float) -> R:
    """Run `steps` to the end in this thread, with one deadline for all its waits."""
    # nan can be neither met nor overslept: read as zero, every wait times out (as in the pool).
    deadline = time.monotonic() + (0.0 if math.isnan(timeout) else timeout)
    try:
        wait = next(steps)
        while True:
            if (
                wait.compute
            ):  # what follows the compute step has a timeout of its own, as in the pool
                deadline = time.monotonic() + (0.0 if math.isnan(timeout) else timeout)
            if _ready(wait, deadline):
                wait = steps.send(None)
            else:
                wait = steps.throw(timed_out(timeout, wait.doing))
    except StopIteration as stop:
        result: R = stop.value
        return result
    finally:
        steps.close()  # interrupted (Ctrl-C in a wait): its socket is closed now


def _ready(wait: Wait, deadline: float) -> bool:
    """Block until `wait` is over (True) or the deadline comes first (False)."""
    if wait.compute:
        return True
    while True:
        now = time.monotonic()
        if now >= deadline:
            return False
        if wait.fd is None:
            until = wait.until if wait.until is not None else now
            if until <= now:
                return True
            time.sleep(min(until, deadline, now + _LONGEST_WAIT) - now)
            continue
        poller = select.poll()
        poller.register(wait.fd, select.POLLOUT if wait.write else select.POLLIN)
        seconds = min(deadline - now, _LONGEST_WAIT)
        if poller.poll(max(1, int(seconds * 1000) + 1)):
            return True
