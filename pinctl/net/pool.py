"""Many checks at once in one thread, each with its own deadline that nothing can outlast.

A check is a generator of `Wait`s (see `pinctl.net.steps`). Up to `concurrency` of them
are in flight; one poll waits on all their sockets at once, and the CPU-bound parts
(the handshake's crypto, validation) run one after another. On a loopback benchmark
this costs a third less CPU per host than a thread per check, whose cost is the
interpreter lock changing hands at every call into OpenSSL; and a hung host costs
nothing but its slot until its deadline, when the timeout is thrown into its check
where it waits, so its socket is closed like on any other failure.

The price of one thread: a step's CPU time is every other host's wall time. Steps are
short (a handshake flight, one chain validation: well under a millisecond each), so
this is invisible next to network round trips; a host that was answered in time is
resumed before deadlines are checked, so a busy loop does not time out a reply that
is already waiting. A check that has its chain yields `COMPUTE`: it gives up its slot,
and its validation waits until the network is quiet (or a batch is full), then runs
back to back with the others', which costs a tenth less CPU per host.
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

from pinctl.net.steps import Steps, Wait, timed_out

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

_BATCH = 16
"""Checks past their handshake that wait for the network to go quiet before validating."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Running(Generic[R]):
    steps: Steps[R]
    deadline: float
    wait: Wait
    fd: int | None
    """The descriptor registered with the poller for `wait`, if any."""


def run_pool(
    items: Sequence[T],
    check: Callable[[T, float], Steps[R]],
    *,
    timeout: float,
    concurrency: int,
    failed: Callable[[T, Exception], R],
    on_done: Callable[[R], None],
) -> list[R]:
    """Run `check(item, deadline)` for every item, at most `concurrency` at once.

    Results come back in input order; `on_done` sees each as it ends. An exception in
    a check becomes `failed(item, exc)`: fail closed, whatever it was.
    """
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
    # they hold no slot and meet no deadline.
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
            index, steps, deadline = computing.popleft()
            advance(index, steps, deadline, None)
            if index in running:  # back on the network: its deadline may have left the heap
                heapq.heappush(timers, (deadline, next(order), index, None))

    def resume(index: int, error: Exception | None = None) -> None:
        entry = running.pop(index)
        if entry.fd is not None:
            poller.unregister(entry.fd)
            del polled[entry.fd]
        advance(index, entry.steps, entry.deadline, error)

    try:
        while waiting or running or computing:
            while waiting and len(running) < max(1, concurrency):
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
            pause = math.ceil(max(timers[0][0] - time.monotonic(), 0.0) * 1000)
            ready = poller.poll(0 if computing else pause)
            for fd, _ in ready:
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


def _descriptor(fd: FileDescriptorLike, doing: str) -> int:
    number = fd if isinstance(fd, int) else fd.fileno()
    if number < 0:
        raise ValueError(f"a wait {doing} on a closed socket".replace("  ", " "))
    return number
