"""DNS lookups: reused threads answer many checks at once, a lookup waiting in line
for a thread still meets its check's deadline, and one given up frees its descriptors."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import pytest

from pinctl.errors import ConnectError
from pinctl.net.pool import run_pool
from pinctl.net.resolver import LOOKUP_THREADS, Addresses, resolve
from pinctl.net.steps import Steps

CHECKS = 3 * LOOKUP_THREADS
HUNG = 48
"""Names whose lookups hang at once in front of a quick one: a whole zone's worth of
hosts behind one dead name server."""


def _lookup_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "pinctl-dns")


def test_many_lookups_share_a_few_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many checks resolving at once overlap their lookups, on no more threads than the
    resolver's bound, and each gets its own answer."""
    lock = threading.Lock()
    active, peak = [0], [0]
    real = socket.getaddrinfo

    def counting(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if not host.endswith(".test"):
            return real(host, port, *args, **kwargs)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)  # a resolver's round trip, long enough for lookups to overlap
        with lock:
            active[0] -= 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", counting)

    def check(item: int, deadline: float) -> Steps[Addresses]:
        return (yield from resolve(f"h{item}.test", 1000 + item, None))

    results = run_pool(
        range(CHECKS),
        check,
        timeout=30,
        concurrency=None,
        failed=lambda item, exc: [],
        on_done=lambda _: None,
    )
    assert [r[0][1] for r in results] == [("127.0.0.1", 1000 + i) for i in range(CHECKS)]
    assert 1 < peak[0] <= LOOKUP_THREADS
    assert _lookup_threads() <= LOOKUP_THREADS


def test_a_lookup_waiting_for_a_thread_meets_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every lookup thread stuck in the system resolver, one more lookup waits in line
    and is timed out at its deadline, no later; once the resolver answers, lookups pass."""
    release = threading.Event()
    stuck = threading.Semaphore(0)
    real = socket.getaddrinfo

    def hanging(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host.startswith("stuck"):
            stuck.release()
            release.wait(30)
        if host.endswith(".test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)

    def check(host: str, deadline: float) -> Steps[str]:
        try:
            addresses = yield from resolve(host, 443, None)
        except ConnectError as exc:
            return str(exc)
        return str(addresses[0][1][0])

    names = [f"stuck{i}.test" for i in range(LOOKUP_THREADS)] + ["late.test"]
    try:
        results = run_pool(
            names,
            check,
            timeout=0.5,
            concurrency=None,
            failed=lambda item, exc: repr(exc),
            on_done=lambda _: None,
        )
        assert all(stuck.acquire(timeout=5) for _ in range(LOOKUP_THREADS))
    finally:
        release.set()
    assert results == [f"timed out after 0.5 s while resolving {name}" for name in names]
    again = run_pool(
        ["late.test"],
        check,
        timeout=10,
        concurrency=None,
        failed=lambda item, exc: repr(exc),
        on_done=lambda _: None,
    )
    assert again == ["127.0.0.1"]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_abandoned_lookups_free_their_descriptors_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lookups that timed out while the system resolver hangs (some in a thread, some still
    in line) leave no descriptor open, and those still in line never reach the resolver."""
    release = threading.Event()
    asked: list[str] = []
    real = socket.getaddrinfo

    def hanging(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if not host.endswith(".test"):
            return real(host, port, *args, **kwargs)
        asked.append(host)
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)

    def check(item: int, deadline: float) -> Steps[str]:
        try:
            yield from resolve(f"slow{item}.test", 443, None)
        except ConnectError as exc:
            return exc.status
        return "resolved"

    names = LOOKUP_THREADS + 16
    before = _open_descriptors()
    try:
        results = run_pool(
            range(names),
            check,
            timeout=0.3,
            concurrency=None,
            failed=lambda item, exc: repr(exc),
            on_done=lambda _: None,
        )
        after = _open_descriptors()  # the threads are still stuck in getaddrinfo here
    finally:
        release.set()
    assert results == ["timeout"] * names
    assert after == before
    assert len(asked) <= LOOKUP_THREADS


def test_a_lookup_being_waited_for_holds_its_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup whose check still waits keeps the two ends of its pipe open, and closing
    the check frees both while its thread is still in the system resolver."""
    release, asked = threading.Event(), threading.Event()

    def hanging(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        asked.set()
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    before = _open_descriptors()
    steps = resolve("slow.test", 443, None)
    try:
        next(steps)
        assert asked.wait(10)
        waiting = _open_descriptors()
        steps.close()
        closed = _open_descriptors()
    finally:
        release.set()
    assert (waiting, closed) == (before + 2, before)


def test_a_quick_name_behind_slow_ones_gets_a_thread_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name that resolves at once is answered while dozens of lookups ahead of it hang:
    the pool grows for it instead of making it wait for its deadline."""
    release = threading.Event()
    real = socket.getaddrinfo

    def slow_but_one(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host.startswith("slow"):
            release.wait(10)
        elif host == "quick.test":
            release.set()  # the slow ones hang until the quick one has been answered
        if host.endswith(".test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_but_one)

    def check(host: str, deadline: float) -> Steps[str]:
        try:
            addresses = yield from resolve(host, 443, None)
        except ConnectError as exc:
            return str(exc)
        return str(addresses[0][1][0])

    assert HUNG < LOOKUP_THREADS
    names = [f"slow{i}.test" for i in range(HUNG)] + ["quick.test"]
    try:
        results = run_pool(
            names,
            check,
            timeout=5,
            concurrency=None,
            failed=lambda item, exc: repr(exc),
            on_done=lambda _: None,
        )
    finally:
        release.set()
    assert results == ["127.0.0.1"] * len(names)


def test_the_suite_never_asks_a_resolver_about_other_names() -> None:
    """The test session's guard: a name other than localhost fails at once as NXDOMAIN would,
    while localhost and address literals still resolve (its twin)."""
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("nonexistent.invalid", 443)
    assert socket.getaddrinfo("localhost", 443)
    assert socket.getaddrinfo("127.0.0.1", 443)
