"""Bounded, elastic concurrency with one deadline per job, for checks that must never hang a run.

A check against a host that answers promptly is CPU-bound (a loopback handshake and
its validation are ~2 ms of CPU), and Python threads beyond a handful only contend
for the GIL: 200 such checks cost 1.9 ms of CPU each on 4 threads and 2.7 ms on 32.
A check against a slow or hung host is the opposite: it holds a thread while costing
nothing. So the pool runs `BASE_WORKERS` threads, and adds one for every check that
has been running longer than `STALL` (it is waiting on the network, not the CPU), up
to `concurrency`; extra threads retire when the stalled checks end.

A check that outlives its deadline plus a grace period (a resolver that ignores
timeouts, a bug) is abandoned: its thread stops counting, its late answer is
ignored. Threads are daemons, so an abandoned one never holds the process open.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

WATCHDOG_GRACE = 0.5
"""How long past its timeout a check may run before it is abandoned."""

BASE_WORKERS = 4
"""Checks at once while every check is busy on the CPU (measured with bench/verify_many)."""

STALL = 0.05
"""A check running longer than this is waiting on a host: another thread may start."""


def run_pool(
    items: Sequence[T],
    check: Callable[[T, float], R],
    *,
    timeout: float,
    concurrency: int,
    failed: Callable[[T, BaseException], R],
    abandoned: Callable[[T, float], R],
    on_done: Callable[[R], None],
    base: int = BASE_WORKERS,
    stall: float = STALL,
) -> list[R]:
    """Run `check(item, deadline)` on at most `concurrency` threads; results in input order.

    An exception in a check becomes `failed(item, exc)`; a check still running
    WATCHDOG_GRACE after its deadline becomes `abandoned(item, elapsed)`. Workers are
    reused: starting a thread per item costs more CPU than a TLS check.
    """
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        jobs.put(index)
    done: queue.SimpleQueue[tuple[int, R]] = queue.SimpleQueue()
    lock = threading.Lock()
    running: dict[int, float] = {}  # index -> when its check started
    given_up: set[int] = set()
    results: dict[int, R] = {}
    patience = timeout + WATCHDOG_GRACE
    limit = max(1, concurrency)
    workers = 0  # threads taking jobs, abandoned ones not counted

    def wanted(clock: float) -> int:
        """Threads worth running now: the base, plus one per check stuck on its host."""
        stalled = sum(1 for started in running.values() if clock - started >= stall)
        return min(limit, base + stalled)

    def work() -> None:
        nonlocal workers
        while True:
            with lock:
                if workers > wanted(time.monotonic()):
                    workers -= 1  # the stalled checks that called for this thread are over
                    return
                try:
                    index = jobs.get_nowait()
                except queue.Empty:
                    workers -= 1
                    return
                started = time.monotonic()
                running[index] = started
            try:
                result = check(items[index], started + timeout)
            except BaseException as exc:  # fail closed, whatever it was
                result = failed(items[index], exc)
            with lock:
                running.pop(index, None)
                if index in given_up:
                    return  # the supervisor stopped counting this thread
            done.put((index, result))

    def top_up(clock: float) -> None:
        nonlocal workers
        with lock:
            missing = min(wanted(clock) - workers, jobs.qsize())
            workers += max(missing, 0)
        for _ in range(missing):
            threading.Thread(target=work, name="pinctl-check", daemon=True).start()

    def finish(index: int, result: R) -> None:
        results[index] = result
        on_done(result)

    top_up(time.monotonic())
    while len(results) < len(items):
        clock = time.monotonic()
        with lock:
            wake = min((started + patience for started in running.values()), default=clock)
            if not jobs.empty():
                fresh = [s + stall for s in running.values() if clock - s < stall]
                wake = min(wake, *fresh) if fresh else wake
        try:
            index, result = done.get(timeout=max(wake - clock, 0.0))
        except queue.Empty:
            clock = time.monotonic()
            with lock:
                overdue = [(i, t) for i, t in running.items() if t + patience <= clock]
                for index, _ in overdue:
                    given_up.add(index)
                    del running[index]
                workers -= len(overdue)
            for index, started in overdue:
                finish(index, abandoned(items[index], clock - started))
        else:
            if index not in results:
                finish(index, result)
        top_up(time.monotonic())
    return [results[i] for i in range(len(items))]
