"""`fetch` and `add` of many targets handshake with all of them at once, on verify's pool.

Proved without timing: the servers here complete no handshake until every one of them
holds a connection, so a command that dials one target after another never gets past
the first.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.support.servers import LoopbackServer, server_context, tls_handler

TARGETS = 20


@contextlib.contextmanager
def servers_that_need(count: int, context: ssl.SSLContext) -> Iterator[list[LoopbackServer]]:
    """`TARGETS` servers that answer only once `count` connections are open at the same time."""
    together = threading.Barrier(count)
    handshake = tls_handler(context)

    def handle(conn: socket.socket) -> None:
        try:
            together.wait(timeout=60)
        except threading.BrokenBarrierError:
            return  # the test is over, or too few connections came at once
        handshake(conn)

    with contextlib.ExitStack() as stack:
        stack.callback(together.abort)  # first of all on exit: no handler waits for ever
        yield [stack.enter_context(LoopbackServer(handle)) for _ in range(TARGETS)]


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxy settings must not reach loopback targets."""
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _add(run: Any, servers: list[LoopbackServer], pins: Path, ca_pem: Path) -> Any:
    targets = [server.address for server in servers]
    return run(
        ["add", *targets, "--pin-file", str(pins), "--ca-file", str(ca_pem), "--timeout", "5"]
    )


@pytest.mark.parametrize(("needed", "added"), [(TARGETS, TARGETS), (TARGETS + 1, 0)])
def test_add_handshakes_its_targets_at_once(
    run: Any, ca: trustme.CA, ca_pem: Path, tmp_path: Path, needed: int, added: int
) -> None:
    """`add` of 20 targets has all 20 handshakes open at once (servers that need 20 open
    connections answer); servers that need one more than there are targets never answer."""
    pins = tmp_path / "pins.toml"
    with servers_that_need(needed, server_context(ca.issue_cert("127.0.0.1"))) as servers:
        result = _add(run, servers, pins, ca_pem)
    text = pins.read_text() if pins.exists() else ""
    assert text.count("[[hosts]]") == added
    assert result.exit_code == (0 if added else 3)
    assert result.stdout.count("(leaf, 127.0.0.1)") == added


@pytest.mark.parametrize(("needed", "fetched"), [(TARGETS, TARGETS), (TARGETS + 1, 0)])
def test_fetch_handshakes_its_targets_at_once(
    run: Any, ca: trustme.CA, needed: int, fetched: int
) -> None:
    """`fetch` of 20 targets has all 20 handshakes open at once; the twin never completes."""
    with servers_that_need(needed, server_context(ca.issue_cert("127.0.0.1"))) as servers:
        targets = [server.address for server in servers]
        result = run(["fetch", *targets, "-o", "pins", "--timeout", "5"])
    assert len(result.stdout.splitlines()) == fetched
    assert result.exit_code == (0 if fetched else 3)
