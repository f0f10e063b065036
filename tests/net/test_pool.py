"""The pool: checks in flight follow the descriptor limit, hung checks hold back nobody,
a check may go back to the network after computing, and no deadline can break poll()."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pinctl.errors import ConnectError
from pinctl.net.pool import bound, run_pool
from pinctl.net.steps import COMPUTE, Steps, Wait, drive


@pytest.fixture
def pipes() -> Iterator[list[tuple[int, int]]]:
    """Pipes a check can wait on; nothing is written to them unless a test does."""
    made: list[tuple[int, int]] = []
    yield made
    for read, write in made:
        os.close(read)
        os.close(write)


def _pipe(made: list[tuple[int, int]]) -> tuple[int, int]:
    made.append(os.pipe())
    return made[-1]


def _bounds_under(limit: int) -> dict[str, Any]:
    """`bound()` as a process with a soft RLIMIT_NOFILE of `limit` computes it."""
    script = textwrap.dedent(
        f"""
        import json, resource
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, hard))
        from pinctl.net.pool import bound
        print(json.dumps({{
            "default": bound().checks,
            "small": [bound(10).checks, bound(10).notice],
            "large": [bound(100000).checks, bound(100000).notice],
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_checks_in_flight_follow_the_descriptor_limit() -> None:
    """With no --concurrency the pool runs as many checks as the descriptor limit allows,
    up to its default ceiling; a high limit does not raise it further."""
    import resource

    from pinctl.net.pool import DEFAULT_CEILING

    assert _bounds_under(256)["default"] == (256 - 32) // 2
    assert _bounds_under(1024)["default"] == (1024 - 32) // 2
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard >= 4 * DEFAULT_CEILING:
        assert _bounds_under(4 * DEFAULT_CEILING)["default"] == DEFAULT_CEILING


def test_a_concurrency_above_the_limit_is_capped_with_a_notice() -> None:
    """--concurrency above what the limit allows is capped and says so; below it, it holds."""
    bounds = _bounds_under(256)
    assert bounds["small"] == [10, None]
    checks, notice = bounds["large"]
    assert checks == (256 - 32) // 2
    assert notice == (
        f"--concurrency 100000 is capped to {checks}: the descriptor limit (ulimit -n) is "
        "256; raise it to check more hosts at once"
    )


@pytest.mark.parametrize(("concurrency", "overtaken"), [(None, True), (4, False)])
def test_hung_checks_hold_back_no_other_check(
    pipes: list[tuple[int, int]], concurrency: int | None, overtaken: bool
) -> None:
    """Checks that never get an answer keep no other check from running (every answered one
    ends before any hung one times out), as they would under a small fixed bound."""
    order: list[str] = []

    def check(item: int, deadline: float) -> Steps[str]:
        hung = item % 2 == 0
        read, write = _pipe(pipes)
        if not hung:
            os.write(write, b"x")  # answered at once
        try:
            yield Wait(read, doing="during the TLS handshake")
        except ConnectError:
            return "hung"
        return "answered"

    results = run_pool(
        range(12),
        check,
        timeout=0.3,
        concurrency=concurrency,
        failed=lambda item, exc: "failed",
        on_done=order.append,
    )
    assert results == ["hung", "answered"] * 6
    first_hung = order.index("hung")
    assert (order[first_hung:] == ["hung"] * 6) is overtaken


def test_a_check_goes_back_to_the_network_after_computing(pipes: list[tuple[int, int]]) -> None:
    """After COMPUTE (validation) a check may wait on the network again (a revocation fetch):
    it gets its answer there, and the bound on checks in flight still holds."""
    live, peak = [0], [0]

    def check(item: int, deadline: float) -> Steps[int]:
        live[0] += 1
        peak[0] = max(peak[0], live[0])
        try:
            read, write = _pipe(pipes)
            threading.Timer(0.02, os.write, (write, b"x")).start()
            yield Wait(read, doing="during the TLS handshake")
            yield COMPUTE
            read, write = _pipe(pipes)
            threading.Timer(0.02, os.write, (write, b"x")).start()
            yield Wait(read, doing="while fetching the OCSP response")
            return item
        finally:
            live[0] -= 1

    results = run_pool(
        range(8),
        check,
        timeout=10,
        concurrency=3,
        failed=lambda item, exc: -1,
        on_done=lambda _: None,
    )
    assert results == list(range(8))
    assert peak[0] == 3


def test_a_wait_after_computing_still_meets_the_deadline(pipes: list[tuple[int, int]]) -> None:
    """A server that never answers the check's second trip to the network (after COMPUTE)
    costs the check its timeout there, no hang; one that answers passes."""

    def check(item: int, deadline: float) -> Steps[str]:
        yield COMPUTE
        read, write = _pipe(pipes)
        if item == 1:
            os.write(write, b"x")
        try:
            yield Wait(read, doing="while fetching the CRL")
        except ConnectError as exc:
            return str(exc)
        return "answered"

    results = run_pool(
        range(2),
        check,
        timeout=0.2,
        concurrency=None,
        failed=lambda i, e: "?",
        on_done=lambda _: None,
    )
    assert results == ["timed out after 0.2 s while fetching the CRL", "answered"]


def test_the_network_after_computing_has_a_timeout_of_its_own(
    pipes: list[tuple[int, int]],
) -> None:
    """Revocation fetches get one more --timeout (SPEC.md 7): a check that spent most of
    its first timeout before COMPUTE still gets a whole one after it, in the pool and
    driven alone; its twin that overstays the second one times out there."""

    def check(item: int, deadline: float) -> Steps[str]:
        yield Wait(None, doing="during the handshake", until=time.monotonic() + 0.6)
        yield COMPUTE
        read, write = _pipe(pipes)
        if item == 0:  # the other never answers
            threading.Timer(0.6, os.write, (write, b"x")).start()
        try:
            yield Wait(read, doing="while fetching the CRL")
        except ConnectError as exc:
            return str(exc)
        return "answered"

    results = run_pool(
        range(2), check, timeout=1.0, concurrency=None, failed=lambda i, e: "?",
        on_done=lambda _: None,
    )  # fmt: skip
    assert results == ["answered", "timed out after 1 s while fetching the CRL"]
    assert drive(check(0, 0.0), 1.0) == "answered"


@pytest.mark.parametrize("timeout", [1e12, math.inf])
def test_a_huge_or_endless_timeout_never_overflows_poll(
    pipes: list[tuple[int, int]], timeout: float
) -> None:
    """A deadline poll() cannot take (years, inf) is waited for like any other: the check
    gets its answer, in the pool and driven alone."""

    def check(item: int, deadline: float) -> Steps[str]:
        read, write = _pipe(pipes)
        threading.Timer(0.05, os.write, (write, b"x")).start()
        yield Wait(read, doing="during the TLS handshake")
        yield Wait(None, until=time_after(0.01))
        return "answered"

    results = run_pool(
        range(2),
        check,
        timeout=timeout,
        concurrency=None,
        failed=repr_failure,
        on_done=lambda _: None,
    )
    assert results == ["answered", "answered"]
    assert drive(check(0, math.inf), timeout) == "answered"


def test_a_small_timeout_still_times_out(pipes: list[tuple[int, int]]) -> None:
    """The twin of the huge timeouts: a check never answered ends at an ordinary deadline."""

    def check(item: int, deadline: float) -> Steps[str]:
        try:
            yield Wait(_pipe(pipes)[0], doing="during the TLS handshake")
        except ConnectError as exc:
            return str(exc)
        return "answered"

    results = run_pool(
        range(1), check, timeout=0.05, concurrency=None, failed=repr_failure, on_done=lambda _: None
    )
    assert results == ["timed out after 0.05 s during the TLS handshake"]
    with pytest.raises(ConnectError, match="timed out"):
        drive(_never_answered(pipes), 0.05)


def test_a_nan_timeout_times_out_at_once_rather_than_hang(pipes: list[tuple[int, int]]) -> None:
    """A nan timeout can be neither met nor overslept: every wait times out at once, in the
    pool and driven alone, so a run fails closed instead of hanging or crashing poll()."""

    def check(item: int, deadline: float) -> Steps[str]:
        try:
            yield Wait(_pipe(pipes)[0], doing="during the TLS handshake")
        except ConnectError as exc:
            return str(exc)
        return "answered"

    results = run_pool(
        range(2),
        check,
        timeout=math.nan,
        concurrency=None,
        failed=repr_failure,
        on_done=lambda _: None,
    )
    assert results == ["timed out after 0 s during the TLS handshake"] * 2
    with pytest.raises(ConnectError, match="timed out"):
        drive(_never_answered(pipes), math.nan)


def _never_answered(pipes: list[tuple[int, int]]) -> Steps[str]:
    yield Wait(_pipe(pipes)[0], doing="during the TLS handshake")
    return "answered"


def time_after(seconds: float) -> float:
    import time

    return time.monotonic() + seconds


def repr_failure(item: int, exc: Exception) -> str:
    return repr(exc)


def test_bound_is_at_least_one() -> None:
    """Even a nonsensical request runs one check at a time rather than none."""
    assert bound(0).checks == 1
    assert bound(1).checks == 1
