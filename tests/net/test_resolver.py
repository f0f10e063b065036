"""DNS lookups: a few reused threads answer many checks at once, and a lookup waiting in
line for a thread still meets its check's deadline."""

from __future__ import annotations

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
