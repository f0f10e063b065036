"""Bounded concurrency with one deadline per job, for checks that must never hang a run.

A check that outlives its deadline plus a grace period (a resolver that ignores
timeouts, a bug) is abandoned: its slot goes to a new thread and its late answer is
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


def run_pool(
    items: Sequence[T],
    check: Callable[[T, float], R],
    *,
    timeout: float,
    concurrency: int,
    failed: Callable[[T, BaseException], R],
    abandoned: Callable[[T, float], R],
    on_done: Callable[[R], None],
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

    def work() -> None:
        while True:
            try:
                index = jobs.get_nowait()
            except queue.Empty:
                return
            started = time.monotonic()
            with lock:
                running[index] = started
            try:
                result = check(items[index], started + timeout)
            except BaseException as exc:  # fail closed, whatever it was
                result = failed(items[index], exc)
            with lock:
                del running[index]
                if index in given_up:
                    return  # a replacement took this thread's place
            done.put((index, result))

    def spawn() -> None:
        threading.Thread(target=work, name="pinctl-check", daemon=True).start()

    def finish(index: int, result: R) -> None:
        results[index] = result
        on_done(result)

    for _ in range(min(max(1, concurrency), len(items))):
        spawn()
    while len(results) < len(items):
        with lock:
            first = min(running.values(), default=time.monotonic())
        try:
            index, result = done.get(timeout=max(first + patience - time.monotonic(), 0.0))
        except queue.Empty:
            clock = time.monotonic()
            with lock:
                overdue = [(i, t) for i, t in running.items() if t + patience <= clock]
                given_up.update(i for i, _ in overdue)
            for index, started in overdue:
                finish(index, abandoned(items[index], clock - started))
                spawn()
            continue
        if index not in results:
            finish(index, result)
    return [results[i] for i in range(len(items))]
