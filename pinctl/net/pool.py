"""Many checks at once in one thread, each with its own deadline that nothing can outlast.

A check is a generator of `Wait`s (see `pinctl.net.steps`); verify, fetch and add all run
here. One poll waits on all their sockets at once, and the CPU-bound parts (the handshake's
crypto, validation) run one after another: no interpreter lock changing hands at every
call into OpenSSL, which is what a thread per check pays.

How many run at once follows the descriptor limit, not a fixed number: a check waiting on
the network costs one descriptor and nothing else, so a hung host must not keep a working
one waiting. `--concurrency` is only an upper bound the user may set. At its deadline a
waiting check has the timeout thrown in where it waits, so its socket is closed as on any
other failure.

The price of one thread: a step's CPU time is every other host's wall time. Steps are
short (a handshake flight, one chain validation), so this is invisible next to network
round trips; a host that was answered in time is resumed before deadlines are checked,
so a busy loop does not time out a reply that is already waiting. A check that has its
chain yields `COMPUTE`, and its validation waits until the network is quiet (or a batch
is full), then runs back to back with the others': the verifier's code stays in the CPU
caches. It keeps its claim to a slot meanwhile, so it may go back to the network after
validating (a revocation fetch) without taking the descriptor of a check not yet started;
from its compute step on, it has one more timeout of its own.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import math
import select
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from pinctl.net.interrupts import Wakeup
from pinctl.net.steps import Steps, Wait, timed_out

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

_BATCH = 16
"""Checks past their handshake that wait for the network to go quiet before validating."""

RESERVED_DESCRIPTORS = 32
"""Kept out of the pool: standard streams, the pin file, CA files, report files."""
DESCRIPTORS_PER_CHECK = 2
"""A check holds one socket at a time, or the two ends of a DNS lookup's pipe."""
DEFAULT_CEILING = 1024
"""Checks in flight when the user sets no --concurrency, however high the descriptor limit:
each handshake in flight holds tens of kilobytes of OpenSSL state, and one server behind
many names should not get more handshakes at once than it can answer within a timeout."""
_LONGEST_POLL_MS = 3_600_000
"""poll() takes a C int of milliseconds: a longer deadline is waited for in hours."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Bound:
    """How many checks may be in flight, and why."""

    checks: int
    descriptors: int
    """The process's soft RLIMIT_NOFILE, which `checks` is derived from."""
    requested: int | None = None
    """`--concurrency`, when the user set one."""

    @property
    def capped(self) -> bool:
        """The user asked for more than the descriptor limit allows."""
        return self.requested is not None and self.requested > self.checks

    @property
    def notice(self) -> str | None:
        """What to tell the user when `capped`: silently running fewer would look like a hang."""
        if not self.capped:
            return None
        return (
            f"--concurrency {self.requested} is capped to {self.checks}: the descriptor limit "
            f"(ulimit -n) is {self.descriptors}; raise it to check more hosts at once"
        )


def bound(requested: int | None = None) -> Bound:
    """Checks in flight: `requested`, else `DEFAULT_CEILING`, and never more than the
    descriptor limit allows."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > 1 << 20:
        soft = 1 << 20
    allowed = max(1, (soft - RESERVED_DESCRIPTORS) // DESCRIPTORS_PER_CHECK)
    wanted = DEFAULT_CEILING if requested is None else requested
    checks = max(1, min(wanted, allowed))
    return Bound(checks, soft, requested)


class _Running(Generic[R]):
    """A check in flight. A plain class, not a dataclass: every command that connects
    imports this module, and generating a dataclass's methods costs start-up time."""

    __slots__ = ("deadline", "fd", "steps", "wait")

    def __init__(self, steps: Steps[R], deadline: float, wait: Wait, fd: int | None) -> None:
        self.steps = steps
        self.deadline = deadline
        self.wait = wait
        self.fd = fd
        """The descriptor registered with the poller for `wait`, if any."""


def run_pool(
    items: Sequence[T],
    check: Callable[[T, float], Steps[R]],
    *,
    timeout: float,
    concurrency: int | None,
    failed: Callable[[T, Exception], R],
    on_done: Callable[[R], None],
) -> list[R]:
    """Run `check(item, deadline)` for every item, at most `concurrency` at once (None: the
    default `bound`); the descriptor limit caps either.

    Results come back in input order; `on_done` sees each as it ends. An exception in
    a check becomes `failed(item, exc)`: fail closed, whatever it was.
    """
    limit = bound(concurrency).checks
    # A duration the CLI should have refused must still neither crash poll() nor hang: nan
    # can be neither met nor overslept, so it is read as zero and every wait times out.
    timeout = 0.0 if math.isnan(timeout) else timeout
    # poll, not selectors: its registrations live in this process (no system call per
    # wait), and a check waits several times per handshake.
    poller = select.poll()
    polled: dict[int, int] = {}  # descriptor -> index of the check waiting on it
    # When the loop must look at a check without a socket telling it to: its deadline
    # (wait None), or the end of a pause (that Wait). Finished checks' entries go stale.
    timers: list[tuple[float, int, int, Wait | None]] = []
    order = itertools.count()
    waiting = collections.deque(range(len(items)))
    running: dict[int, _Running[R]] = {}
    # Checks past their network part (`COMPUTE`), run in batches when the network is idle:
    # they meet no deadline, and keep their claim to a slot in case they go back to it.
    computing: collections.deque[tuple[int, Steps[R], float]] = collections.deque()
    results: dict[int, R] = {}

    def finish(index: int, result: R) -> None:
        results[index] = result
        on_done(result)

    def advance(index: int, steps: Steps[R], deadline: float, error: Exception | None) -> None:
        fd = None
        try:
            wait = steps.throw(error) if error else steps.send(None)
            if wait.compute:
                computing.append((index, steps, deadline))
                return
            if wait.fd is not None:
                fd = _descriptor(wait.fd, wait.doing)
                if fd in polled:
                    raise ValueError(f"descriptor {fd} is already waited on by another check")
                poller.register(fd, select.POLLOUT if wait.write else select.POLLIN)
                polled[fd] = index
        except StopIteration as stop:
            finish(index, stop.value)
            return
        except Exception as exc:  # a bug in a check fails its host, never the run
            steps.close()
            finish(index, failed(items[index], exc))
            return
        running[index] = _Running(steps, deadline, wait, fd)
        if fd is None:
            until = min(wait.until or 0.0, deadline)
            heapq.heappush(timers, (until, next(order), index, wait))

    def compute() -> None:
        for _ in range(len(computing)):  # not those that come back to compute again
            index, steps, _ = computing.popleft()
            # Whatever the check waits for after its compute step (revocation fetches) gets
            # one more timeout, its own: a slow handshake does not starve it (SPEC.md 7).
            deadline = time.monotonic() + timeout
            advance(index, steps, deadline, None)
            if index in running:  # back on the network: its deadline may have left the heap
                heapq.heappush(timers, (deadline, next(order), index, None))

    def resume(index: int, error: Exception | None = None) -> None:
        entry = running.pop(index)
        if entry.fd is not None:
            poller.unregister(entry.fd)
            del polled[entry.fd]
        advance(index, entry.steps, entry.deadline, error)

    with Wakeup() as wakeup:  # a Ctrl-C Python dropped still stops the pool
        if wakeup.fd is not None:
            poller.register(wakeup.fd, select.POLLIN)
        try:
            while waiting or running or computing:
                while waiting and len(running) + len(computing) < limit:
                    index = waiting.popleft()
                    deadline = time.monotonic() + timeout
                    try:
                        steps = check(items[index], deadline)
                    except Exception as exc:
                        finish(index, failed(items[index], exc))
                        continue
                    heapq.heappush(timers, (deadline, next(order), index, None))
                    advance(index, steps, deadline, None)
                if computing and (len(computing) >= _BATCH or not running):
                    compute()
                    continue
                if not running:
                    continue
                # Every running check has its deadline among the timers, so none is overslept.
                wait_ms = 0 if computing else _milliseconds(timers[0][0] - time.monotonic())
                ready = poller.poll(wait_ms)
                for fd, _ in ready:
                    if fd == wakeup.fd:
                        wakeup.check()
                    else:
                        resume(polled[fd])
                if computing and not ready:
                    compute()  # the network has nothing for us right now; replies that came
                    continue  # meanwhile are read before any deadline is judged, next turn
                now = time.monotonic()
                due = []
                while timers and timers[0][0] <= now:
                    due.append(heapq.heappop(timers))
                for when, _, index, wait in due:
                    entry = running.get(index)
                    if entry is None or (wait is not None and entry.wait is not wait):
                        continue  # that check ended, or moved on from that pause
                    if wait is None and when < entry.deadline:
                        continue  # a deadline it has outgrown: its compute step gave it more time
                    if wait is not None and when < entry.deadline:
                        resume(index)
                    else:
                        resume(index, timed_out(timeout, entry.wait.doing))
                        if index in running:  # it caught the timeout and waits again: not for long
                            heapq.heappush(timers, (entry.deadline, next(order), index, None))
        finally:  # interrupted: close their sockets now, not at GC, every one of them
            for steps in [entry.steps for entry in running.values()] + [c[1] for c in computing]:
                with contextlib.suppress(Exception):
                    steps.close()
    return [results[i] for i in range(len(items))]


def _milliseconds(seconds: float) -> int:
    if not seconds * 1000 < _LONGEST_POLL_MS:  # inf and nan too
        return _LONGEST_POLL_MS
    return math.ceil(max(seconds, 0.0) * 1000)


def _descriptor(fd: FileDescriptorLike, doing: str) -> int:
    number = fd if isinstance(fd, int) else fd.fileno()
    if number < 0:
        raise ValueError(f"a wait {doing} on a closed socket".replace("  ", " "))
    return number
