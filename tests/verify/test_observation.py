"""How verify sees a host: a saved chain, or a live handshake with its retry policy."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives.serialization import Encoding

from pinctl.errors import ConnectError, InputError
from pinctl.net.steps import Steps
from pinctl.net.targets import Target
from pinctl.pinfile.model import Defaults, HostEntry, PinFile
from pinctl.verify.observation import load_chain
from pinctl.verify.run import VerifyOptions, verify
from tests.support.hosts import (
    NOW,
    ServedPki,
    certs,
    other_pin,
    pin,
)


class TestSavedChain:
    def test_load_chain(self, tmp_path: Path, pki: ServedPki) -> None:
        """A saved PEM chain loads leaf first; a file without certificates is refused."""
        _, _, served = pki
        saved = tmp_path / "chain.pem"
        saved.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in served))
        assert load_chain(saved) == served
        saved.write_text("not a chain\n")
        with pytest.raises(InputError, match="holds no certificates"):
            load_chain(saved)
        with pytest.raises(InputError, match="cannot read"):
            load_chain(tmp_path / "missing.pem")


class TestRetryPolicy:
    def test_deadline_in_a_retry_pause_reports_the_failure_retried(self) -> None:
        """A loop that overruns the deadline while a host waits to retry names the refusal."""
        from pinctl.net.steps import timed_out
        from pinctl.net.targets import parse_target
        from pinctl.verify.observation import live
        from tests.support.servers import closed_port

        target = parse_target(f"127.0.0.1:{closed_port()}")
        observe = live([target], timeout=5, retries=3, proxy=None, environ={})
        steps = observe(target, time.monotonic() + 5)
        wait = next(steps)
        while wait.doing != "before a retry":  # the real refused connection, step by step
            time.sleep(0.01)
            wait = steps.send(None)
        with pytest.raises(ConnectError) as info:
            steps.throw(timed_out(5, wait.doing))
        assert info.value.status == "unreachable"
        assert str(info.value).startswith("connection refused when connecting to 127.0.0.1:")
        assert "attempts" not in str(info.value), "one attempt was made"

    @pytest.mark.parametrize(
        ("error", "retries", "calls", "status"),
        [
            (ConnectError("connection refused", retryable=True), 1, 2, "pass"),
            (ConnectError("connection refused", retryable=True), 0, 1, "unreachable"),
            (ConnectError("reset", "tls-error", retryable=True), 2, 2, "pass"),
            (ConnectError("timed out", "timeout"), 3, 1, "timeout"),
        ],
    )
    def test_only_refused_or_reset_is_retried(
        self,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        error: ConnectError,
        retries: int,
        calls: int,
        status: str,
    ) -> None:
        """A refused or reset first attempt is retried up to --retries; a timeout never is."""
        from pinctl.net import tls
        from tests.support.servers import server_context, tls_server

        ca = trustme.CA()
        leaf = ca.issue_cert("localhost")
        served = certs(leaf.cert_chain_pems)
        real = tls.handshake_steps
        attempts: list[float] = []

        def flaky(target: Target, options: tls.ConnectOptions) -> Steps[tls.Handshake]:
            attempts.append(time.monotonic())
            if len(attempts) == 1:
                raise error
            return (yield from real(target, options))

        monkeypatch.setattr(tls, "handshake_steps", flaky)
        with tls_server(server_context(leaf)) as server:
            ca_path = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_path))
            entry = HostEntry("localhost", server.port, pins=(pin(served[0]), other_pin()))
            pins = PinFile(tmp_path / "p.toml", defaults=Defaults(ca_file=ca_path), hosts=(entry,))
            options = VerifyOptions(timeout=3, retries=retries)
            result = verify(pins, pins.hosts, options, NOW)
        assert (result.hosts[0].status, len(attempts)) == (status, calls)
        pauses = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert all(pause >= 0.1 for pause in pauses), "a retry waits before it dials again"


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_every_retry_is_one_more_connection_to_a_host_that_resets(
    tmp_path: Path, retries: int
) -> None:
    """A host that resets every handshake is dialled once plus once per --retries, and the
    reason counts the attempts that were made."""
    from tests.support.servers import hostile_server

    with hostile_server("reset") as server:
        entry = HostEntry("127.0.0.1", server.port, pins=(other_pin(), other_pin()))
        pins = PinFile(tmp_path / "p.toml", hosts=(entry,))
        result = verify(pins, pins.hosts, VerifyOptions(timeout=10, retries=retries), NOW)
        connections = server.connections
    host = result.hosts[0]
    assert connections == retries + 1
    assert host.status == "tls-error"
    assert (f"(after {retries + 1} attempts)" in (host.error or "")) == (retries > 0)
