"""The verify run: the pool of host checks, the exit code over hosts, host selection."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trustme

from pinctl.errors import ConnectError, ExitCode
from pinctl.net.steps import COMPUTE, Steps, Wait, drive
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pki.pins import Pin
from pinctl.verify.observation import Observe, Observed
from pinctl.verify.results import HostResult, VerifyResult
from pinctl.verify.rules import OkHttpRule
from pinctl.verify.run import VerifyOptions, run_pool, verify
from tests.support.hosts import (
    NOW,
    certs,
    host_result,
    other_pin,
    pin,
)


def _entry(name: str) -> HostEntry:
    return HostEntry(name, pins=(PinEntry(Pin("sha256", bytes(range(32)))),))


class TestPool:
    def test_exception_in_a_check_fails_that_host(self) -> None:
        """An unexpected exception is a failed host with exit 1, and the others still run."""
        hosts = [_entry("a.test"), _entry("b.test")]

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            yield Wait(None, until=time.monotonic() + 0.01)
            if entry.host == "a.test":
                raise RuntimeError("boom")
            return host_result(entry, "pass")

        errors: list[BaseException] = []
        results = run_pool(hosts, check, VerifyOptions(), lambda _: None, errors)
        assert [r.status for r in results] == ["tls-error", "pass"]
        assert results[0].internal
        assert "RuntimeError: boom" in (results[0].error or "")
        assert VerifyResult(tuple(results), Path("p"), NOW).exit_code == ExitCode.FAILED
        assert len(errors) == 1

    def test_a_host_still_waited_on_at_its_deadline_is_a_timeout(self) -> None:
        """A check waiting past its deadline ends as a timeout there; the others pass."""
        silent, never_written = os.pipe()
        closed: list[str] = []

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            try:
                if entry.host == "stuck.test":
                    yield Wait(silent, doing="during the TLS handshake")
                yield Wait(None, until=time.monotonic() + 0.05)
                return host_result(entry, "pass")
            except ConnectError as exc:
                return host_result(entry, "timeout", str(exc))
            finally:
                closed.append(entry.host)  # where a real check closes its socket

        started = time.monotonic()
        options = VerifyOptions(timeout=0.3, concurrency=2)
        hosts = [_entry("stuck.test"), _entry("fine.test"), _entry("also-fine.test")]
        try:
            results = run_pool(hosts, check, options, lambda _: None, [])
        finally:
            os.close(silent)
            os.close(never_written)
        elapsed = time.monotonic() - started
        assert [r.status for r in results] == ["timeout", "pass", "pass"]
        assert results[0].error == "timed out after 0.3 s during the TLS handshake"
        assert sorted(closed) == sorted(h.host for h in hosts)
        assert 0.3 <= elapsed < 0.3 + 0.5, "the stuck host cost its timeout, no more"

    def test_a_check_that_waits_again_after_its_timeout_is_timed_out_again(self) -> None:
        """Nothing outlasts its deadline: a check that catches the timeout and waits once
        more gets the timeout again at once, not after another --timeout."""
        silent, never_written = os.pipe()
        thrown: list[float] = []

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            try:
                yield Wait(silent, doing="during the TLS handshake")
            except ConnectError:
                thrown.append(time.monotonic())
            try:
                yield Wait(silent, doing="while retrying")
            except ConnectError as exc:
                thrown.append(time.monotonic())
                return host_result(entry, "timeout", str(exc))
            return host_result(entry, "pass")

        started = time.monotonic()
        try:
            results = run_pool(
                [_entry("stubborn.test")], check, VerifyOptions(timeout=0.2), lambda _: None, []
            )
        finally:
            os.close(silent)
            os.close(never_written)
        assert [r.status for r in results] == ["timeout"]
        assert results[0].error == "timed out after 0.2 s while retrying"
        assert len(thrown) == 2
        assert thrown[1] - started < 0.2 + 0.2, "the second wait ended at the same deadline"

    def test_a_check_back_on_the_network_after_computing_still_meets_its_deadline(
        self,
    ) -> None:
        """Past COMPUTE a check meets no deadline, but a wait after it does: no hang."""
        silent, never_written = os.pipe()

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            yield COMPUTE
            try:
                yield Wait(silent, doing="after computing")
            except ConnectError as exc:
                return host_result(entry, "timeout", str(exc))
            return host_result(entry, "pass")

        started = time.monotonic()
        try:
            results = run_pool(
                [_entry("late.test")], check, VerifyOptions(timeout=0.2), lambda _: None, []
            )
        finally:
            os.close(silent)
            os.close(never_written)
        assert [r.error for r in results] == ["timed out after 0.2 s after computing"]
        assert time.monotonic() - started < 0.2 + 0.5

    def test_a_deadline_that_passes_while_a_check_waits_to_compute_still_binds_it(
        self,
    ) -> None:
        """A check queued for validation while the network stays busy, whose deadline
        passes meanwhile, is timed out at once if it then waits on a socket again."""
        busy, written = os.pipe()
        os.write(written, b"x")  # always readable: the loop is never idle
        silent, never_written = os.pipe()

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            if entry.host == "busy.test":
                try:
                    while True:
                        yield Wait(busy, doing="while busy")
                except ConnectError as exc:
                    return host_result(entry, "timeout", str(exc))
            yield COMPUTE
            try:
                yield Wait(silent, doing="after computing")
            except ConnectError as exc:
                return host_result(entry, "timeout", str(exc))
            return host_result(entry, "pass")

        started = time.monotonic()
        try:
            results = run_pool(
                [_entry("queued.test"), _entry("busy.test")],  # queued's deadline comes first
                check,
                VerifyOptions(timeout=0.2, concurrency=2),
                lambda _: None,
                [],
            )
        finally:
            for fd in (busy, written, silent, never_written):
                os.close(fd)
        assert [r.status for r in results] == ["timeout", "timeout"]
        assert results[0].error == "timed out after 0.2 s after computing"
        assert time.monotonic() - started < 0.2 + 0.5

    def test_a_host_answered_in_time_is_judged_even_if_judging_comes_late(self) -> None:
        """CPU work after the handshake (COMPUTE) is never cut short by the deadline: a slow
        machine must not turn a host that answered in time into a timeout."""

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            yield Wait(None, until=deadline - 0.05)  # the handshake ends just in time
            time.sleep(0.1)  # then the machine is busy past the deadline
            yield COMPUTE
            return host_result(entry, "pass")

        results = run_pool(
            [_entry("busy.test")], check, VerifyOptions(timeout=0.2), lambda _: None, []
        )
        assert [r.status for r in results] == ["pass"]
        assert drive(check(_entry("busy.test"), time.monotonic() + 0.2), 0.2).status == "pass"

    def test_a_reply_that_comes_while_others_validate_is_read_before_its_deadline(
        self,
    ) -> None:
        """A host that answered in time is never timed out because other hosts' validation
        (after COMPUTE) kept the loop busy past its deadline."""
        import threading

        answer, answered = os.pipe()
        threading.Timer(0.1, os.write, (answered, b"x")).start()

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            if entry.host == "slow-reply.test":
                try:
                    yield Wait(answer, doing="during the TLS handshake")
                except ConnectError as exc:
                    return host_result(entry, "timeout", str(exc))
                return host_result(entry, "pass")
            yield COMPUTE
            time.sleep(0.5)  # a long validation, past the other host's deadline
            return host_result(entry, "pass")

        try:
            results = run_pool(
                [_entry("slow-reply.test"), _entry("busy.test")],
                check,
                VerifyOptions(timeout=0.3, concurrency=2),
                lambda _: None,
                [],
            )
        finally:
            os.close(answer)
            os.close(answered)
        assert [(r.entry.host, r.status) for r in results] == [
            ("slow-reply.test", "pass"),
            ("busy.test", "pass"),
        ]

    def test_a_check_that_waits_on_a_closed_socket_fails_only_its_host(self) -> None:
        """A bad wait (a closed socket) is that host's internal error; the others pass."""
        import socket

        closed = socket.socket()
        closed.close()

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            if entry.host == "broken.test":
                yield Wait(closed)
            yield Wait(None, until=time.monotonic() + 0.01)
            return host_result(entry, "pass")

        hosts = [_entry("broken.test"), _entry("fine.test")]
        results = run_pool(hosts, check, VerifyOptions(), lambda _: None, [])
        assert [(r.status, r.internal) for r in results] == [("tls-error", True), ("pass", False)]

    @pytest.mark.parametrize("waiting_in", ["flight", "the validation queue"])
    def test_an_interrupted_run_closes_every_check_at_once(self, waiting_in: str) -> None:
        """Ctrl-C (here: a failing progress callback) closes the checks still in flight, and
        those whose handshake is done and that wait to be validated (COMPUTE)."""
        from pinctl.net import pool

        open_checks: set[int] = set()

        def check(item: int, deadline: float) -> Steps[int]:
            open_checks.add(item)
            try:
                if waiting_in == "flight":
                    yield Wait(None, until=time.monotonic() + (0.01 if item == 0 else 5))
                else:
                    yield COMPUTE
                return item
            finally:
                open_checks.discard(item)  # where a real check closes its socket

        def interrupt(result: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt) as info:  # its traceback keeps the frames alive
            pool.run_pool(
                list(range(5)),
                check,
                timeout=10,
                concurrency=5,
                failed=lambda item, exc: -1,
                on_done=interrupt,
            )
        assert open_checks == set()  # while `info` still holds the run's frames
        assert info.type is KeyboardInterrupt

    def test_concurrency_bounds_checks_in_flight(self) -> None:
        """No more than --concurrency checks run at once, and results keep the file order."""
        live, peak = [0], [0]

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
            yield Wait(None, until=time.monotonic() + 0.02)
            live[0] -= 1
            return host_result(entry, "pass")

        hosts = [_entry(f"h{i}.test") for i in range(12)]
        seen: list[str] = []
        results = run_pool(
            hosts, check, VerifyOptions(concurrency=3), lambda r: seen.append(r.entry.host), []
        )
        assert peak[0] == 3
        assert [r.entry.host for r in results] == [h.host for h in hosts]
        assert sorted(seen) == sorted(h.host for h in hosts)

    def test_hung_hosts_are_waited_on_at_once(self) -> None:
        """Ten hosts that all hang cost one timeout, not ten: their waits overlap."""
        ends: list[float] = []
        pipes = [os.pipe() for _ in range(10)]

        def check(entry: HostEntry, deadline: float) -> Steps[HostResult]:
            try:
                yield Wait(pipes[int(entry.host[1])][0], doing="during the TLS handshake")
            except ConnectError:
                ends.append(time.monotonic())
            return host_result(entry, "timeout")

        started = time.monotonic()
        try:
            run_pool(
                [_entry(f"h{i}.test") for i in range(10)],
                check,
                VerifyOptions(timeout=0.3),
                lambda _: None,
                [],
            )
        finally:
            for pair in pipes:
                os.close(pair[0])
                os.close(pair[1])
        assert len(ends) == 10
        assert max(ends) - started < 0.3 + 0.3

    def test_connect_error_keeps_its_status(self, tmp_path: Path) -> None:
        """A ConnectError's status is the host's; an unknown status fails as tls-error."""
        from pinctl.net.targets import parse_target
        from pinctl.verify.evidence import Subject
        from pinctl.verify.pipeline import check_host

        entry = _entry("a.test")
        pin_file = PinFile(tmp_path / "p.toml", hosts=(entry,))

        def refuse(status: str) -> Observe:
            def observe(target: object, deadline: float) -> Steps[Observed]:
                raise ConnectError("nope", status)
                yield  # a generator, as every observer is

            return observe

        target = parse_target("a.test:443")
        for given, expected in [("timeout", "timeout"), ("weird", "tls-error")]:
            subject = Subject(
                entry, target, pin_file.defaults, (), OkHttpRule(), refuse(given), 0, NOW
            )
            check = check_host(subject, strict=False)
            host = drive(check, 1)
            assert (host.status, host.exit_code) == (expected, ExitCode.UNREACHABLE)


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected")


@pytest.mark.parametrize("debug", [False, True], ids=["default", "debug"])
def test_a_bug_in_a_check_is_a_failed_host_unless_debug_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    """What a library caller gets by default for a bug in a check is the CLI's answer: the
    host failed with the reason, never an exception. `debug=True` (the CLI's --debug)
    raises it after the run, for its traceback."""
    ca = trustme.CA()
    served = certs(ca.issue_cert("api.test").cert_chain_pems)
    (tmp_path / "root.pem").write_bytes(ca.cert_pem.bytes())
    entry = HostEntry("api.test", pins=(pin(served[0]),))
    pin_file = PinFile(
        tmp_path / "pins.toml", defaults=Defaults(ca_file=tmp_path / "root.pem"), hosts=(entry,)
    )
    monkeypatch.setattr("pinctl.pki.validation.validate", _explode)
    options = VerifyOptions(debug=True) if debug else VerifyOptions()
    if debug:
        with pytest.raises(RuntimeError, match="injected"):
            verify(pin_file, pin_file.hosts, options, NOW, chain=served)
        return
    result = verify(pin_file, pin_file.hosts, options, NOW, chain=served)
    assert result.exit_code == ExitCode.FAILED
    assert "internal error (RuntimeError: injected)" in (result.hosts[0].error or "")


class TestResult:
    @pytest.mark.parametrize(
        ("statuses", "code"),
        [
            (["pass", "pass"], ExitCode.OK),
            (["pass", "timeout"], ExitCode.UNREACHABLE),
            (["pin-mismatch", "timeout"], ExitCode.FAILED),
            (["unreachable", "untrusted", "pass"], ExitCode.FAILED),
            ([], ExitCode.FAILED),
        ],
    )
    def test_exit_code_one_wins_over_three(self, statuses: list[str], code: ExitCode) -> None:
        """0 all pass, 3 only unchecked hosts, 1 as soon as one check failed; none is 1."""
        hosts = tuple(host_result(_entry(f"h{i}"), s) for i, s in enumerate(statuses))
        assert VerifyResult(hosts, Path("p"), NOW).exit_code == code


class TestStuckResolver:
    def test_a_stuck_resolver_holds_up_only_its_own_host(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A name whose lookup hangs is a timeout at its deadline; the other host passes."""
        import socket
        import threading

        from tests.support.servers import server_context, tls_server

        ca = trustme.CA()
        leaf = ca.issue_cert("localhost")
        served = certs(leaf.cert_chain_pems)
        release, real = threading.Event(), socket.getaddrinfo

        def stuck(host: str | bytes | None, *args: Any, **kwargs: Any) -> Sequence[tuple[Any, ...]]:
            if host == "stuck.test":
                release.wait(30)
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", stuck)
        with tls_server(server_context(leaf)) as server:
            ca_path = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_path))
            pins = (pin(served[0]), other_pin())
            hosts = (
                HostEntry("stuck.test", pins=pins),
                HostEntry("localhost", server.port, pins=pins),
            )
            pin_file = PinFile(tmp_path / "p.toml", defaults=Defaults(ca_file=ca_path), hosts=hosts)
            started = time.monotonic()
            try:
                result = verify(pin_file, hosts, VerifyOptions(timeout=0.5), NOW)
            finally:
                release.set()
        assert [h.status for h in result.hosts] == ["timeout", "pass"]
        assert result.hosts[0].error == "timed out after 0.5 s while resolving stuck.test"
        assert result.hosts[1].elapsed < 0.5, "the good host did not wait for the stuck one"
        assert time.monotonic() - started < 0.5 + 0.4
