"""The verify core: OkHttp's matching rule, the checks in order, warnings, and the pool."""

from __future__ import annotations

import itertools
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pinctl.errors import ConnectError, ExitCode, InputError, UsageError
from pinctl.inspect.report import TlsInfo
from pinctl.net.steps import COMPUTE, Steps, Wait, drive
from pinctl.output import junit
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pinfile.selection import select_hosts
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import Pin, compute
from pinctl.verify.checks.tls_policy import policy
from pinctl.verify.observation import Observed, load_chain
from pinctl.verify.results import HostResult, VerifyResult
from pinctl.verify.rules import OkHttpRule, Presented
from pinctl.verify.run import VerifyOptions, run_pool, verify
from pinctl.verify.verdicts import Failed, Passed, Skipped
from pinctl.verify.warnings import chain_warnings, pin_warnings
from tests.support.hosts import host_result

NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def certs(pems: Sequence[trustme.Blob]) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificate(pem.bytes()) for pem in pems)


def root_of(ca: trustme.CA) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes())


def spki(cert: x509.Certificate, alg: str = "sha256") -> Pin:
    return compute(spki_der(cert.public_key()), alg)  # type: ignore[arg-type]


def pin(cert: x509.Certificate, **kw: object) -> PinEntry:
    return PinEntry(spki(cert), **kw)  # type: ignore[arg-type]


def other_pin() -> PinEntry:
    return pin(root_of(trustme.CA()), backup=True)


@pytest.fixture(scope="module")
def pki() -> tuple[trustme.CA, trustme.CA, tuple[x509.Certificate, ...]]:
    """A root, an intermediate under it, and a leaf+intermediate chain as a server sends it."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    served = certs(intermediate.issue_cert("api.test").cert_chain_pems)
    assert len(served) == 2
    return root, intermediate, served


def offline(
    tmp_path: Path,
    root: trustme.CA,
    served: tuple[x509.Certificate, ...],
    pins: Sequence[PinEntry],
    **host: object,
) -> HostResult:
    """Run the whole verify pipeline on a saved chain, trusting `root`."""
    ca = tmp_path / "root.pem"
    root.cert_pem.write_to_path(str(ca))
    entry = HostEntry("api.test", pins=tuple(pins), **host)  # type: ignore[arg-type]
    pin_file = PinFile(tmp_path / "pins.toml", defaults=Defaults(ca_file=ca), hosts=(entry,))
    result = verify(pin_file, pin_file.hosts, VerifyOptions(), NOW, chain=served)
    return result.hosts[0]


class TestOkHttpRule:
    def test_leaf_pin_matches(self, tmp_path: Path, pki) -> None:
        """A pin of the leaf key passes."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [pin(served[0]), other_pin()])
        assert (host.status, host.ok, host.matched) == ("pass", True, pin(served[0]))

    def test_unknown_pin_fails(self, tmp_path: Path, pki) -> None:
        """The failing twin: a pin of an unrelated key is a pin-mismatch."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [other_pin()])
        assert (host.status, host.ok, host.matched) == ("pin-mismatch", False, None)
        assert host.error == "no pin matches the chain"

    def test_intermediate_pin_matches(self, tmp_path: Path, pki) -> None:
        """A pin on the intermediate passes, as in OkHttp."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [pin(served[1], level="intermediate")])
        assert host.status == "pass"

    def test_unserved_anchor_pin_matches(self, tmp_path: Path, pki) -> None:
        """A pin on the root the server never sent matches: validation reached it."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [pin(root_of(root), level="root")])
        assert host.status == "pass"
        assert [c.served for c in host.chain] == [True, True, False]
        assert host.chain[-1].spki == spki(root_of(root))

    def test_anchor_pin_without_validation_fails(self, tmp_path: Path, pki) -> None:
        """With verify_chain = false only the served chain counts, so the root pin fails."""
        root, _, served = pki
        pins = [pin(root_of(root), level="root")]
        host = offline(tmp_path, root, served, pins, verify_chain=False)
        assert host.status == "pin-mismatch"
        assert [c.served for c in host.chain] == [True, True]

    def test_served_certificate_off_the_path_never_matches(self, tmp_path: Path, pki) -> None:
        """A certificate the server appends but validation does not use cannot satisfy a pin."""
        root, _, served = pki
        stray = root_of(trustme.CA())
        host = offline(tmp_path, root, (*served, stray), [pin(stray)])
        assert host.status == "pin-mismatch"
        assert spki(stray) not in [c.spki for c in host.chain]

    def test_expired_pin_never_matches(self, tmp_path: Path, pki) -> None:
        """A pin past its expires date does not match even the right key."""
        root, _, served = pki
        yesterday = TODAY - timedelta(days=1)
        host = offline(tmp_path, root, served, [pin(served[0], expires=yesterday)])
        assert host.status == "pin-mismatch"
        assert any("expired on" in w for w in host.warnings)

    def test_pin_matches_on_its_expiry_day(self, tmp_path: Path, pki) -> None:
        """The twin: a pin is good through its expires day."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [pin(served[0], expires=TODAY), other_pin()])
        assert host.status == "pass"

    def test_cert_pin_matches_certificate_hash(self, tmp_path: Path, pki) -> None:
        """A cert pin is the hash of the whole certificate."""
        root, _, served = pki
        fingerprint = compute(served[0].public_bytes(Encoding.DER))
        host = offline(tmp_path, root, served, [PinEntry(fingerprint, kind="cert")])
        assert host.status == "pass"

    def test_cert_kind_does_not_match_spki_hash(self, tmp_path: Path, pki) -> None:
        """The twin: an SPKI hash declared as kind = cert matches nothing."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [PinEntry(spki(served[0]), kind="cert")])
        assert host.status == "pin-mismatch"

    @pytest.mark.parametrize("alg", ["sha384", "sha512", "sha1"])
    def test_other_hash_algorithms_match(self, tmp_path: Path, pki, alg: str) -> None:
        """Pins are compared with their own algorithm, sha1 included (with a warning)."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [PinEntry(spki(served[0], alg))])
        assert host.status == "pass"
        assert any("sha1" in w for w in host.warnings) == (alg == "sha1")

    def test_unvalidated_pin_on_a_genuine_chain_matches(self, tmp_path: Path, pki) -> None:
        """With verify_chain = false, the leaf's real issuer served after it may match a pin."""
        _, _, served = pki
        pins = [pin(served[1], level="intermediate")]
        host = offline(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert host.status == "pass"

    @pytest.mark.parametrize("appended", ["leaf", "leaf+intermediate", "intermediate"])
    def test_appended_genuine_certificates_never_match_unvalidated(
        self, tmp_path: Path, pki, appended: str
    ) -> None:
        """The twin: copies of the genuine chain after an attacker's leaf never satisfy a pin."""
        _, _, genuine = pki
        evil = certs(trustme.CA().issue_cert("api.test").cert_chain_pems)
        copies = {"leaf": genuine[:1], "leaf+intermediate": genuine, "intermediate": genuine[1:]}
        served = evil + copies[appended]
        pins = [pin(cert) for cert in genuine]
        host = offline(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert (host.status, host.matched) == ("pin-mismatch", None)
        assert [c.spki for c in host.chain] == [spki(evil[0])]

    def test_unvalidated_chain_stops_at_the_first_break(self, pki) -> None:
        """Issuers count link by link in served order; one stray certificate ends the chain."""
        _, _, (leaf, intermediate) = pki
        stray = root_of(trustme.CA())
        rule = OkHttpRule()
        assert rule.considered(Presented((leaf, intermediate, stray), None)) == (leaf, intermediate)
        assert rule.considered(Presented((leaf, stray, intermediate), None)) == (leaf,)
        assert rule.considered(Presented((intermediate, leaf), None)) == (intermediate,)

    def test_rule_is_replaceable(self, pki) -> None:
        """The rule is a part: the OkHttp one looks at the path when there is one."""
        _, _, served = pki
        rule = OkHttpRule()
        assert rule.considered(Presented(served, None)) == served
        assert rule.match([pin(served[1])], Presented(served, served[:1]), TODAY) is None


class TestChecks:
    def test_untrusted_chain(self, tmp_path: Path, pki) -> None:
        """A chain from another CA is untrusted even when a pin would match."""
        _, _, served = pki
        host = offline(tmp_path, trustme.CA(), served, [pin(served[0])])
        assert (host.status, host.ok) == ("untrusted", False)
        assert host.error

    def test_untrusted_chain_ignored_without_verify_chain(self, tmp_path: Path, pki) -> None:
        """The twin: verify_chain = false pins by key alone and passes."""
        _, _, served = pki
        pins = [pin(served[0]), other_pin()]
        host = offline(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert host.status == "pass"

    def test_hostname_mismatch(self, tmp_path: Path, pki) -> None:
        """A trusted chain for another name is a hostname-mismatch."""
        root, _, served = pki
        host = offline(tmp_path, root, served, [pin(served[0])], servername="other.test")
        assert host.status == "hostname-mismatch"
        assert "other.test" in (host.error or "")

    def test_tls_policy(self) -> None:
        """min_tls and forward secrecy are enforced; an unknown protocol fails closed."""
        tls12 = Observed((), TlsInfo("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), True)
        assert policy(tls12, "1.2", True) == Passed()
        below = policy(tls12, "1.3", True)
        assert isinstance(below, Failed)
        assert (below.status, "below min_tls" in below.reason) == ("tls-policy", True)
        rsa = Observed((), TlsInfo("TLSv1.2", "AES128-GCM-SHA256"), False)
        weak = policy(rsa, "1.2", True)
        assert isinstance(weak, Failed)
        assert "forward secrecy" in weak.reason
        assert policy(rsa, "1.2", False) == Passed()
        odd = Observed((), TlsInfo("SSLv3", "RC4-MD5"), True)
        assert isinstance(policy(odd, "1.0", False), Failed)
        assert isinstance(policy(Observed(()), "1.3", True), Skipped)


class TestWarnings:
    def test_pin_file_warnings(self) -> None:
        """Expired, soon-expiring and sha1 pins are each named, with their line."""
        digest = bytes(range(1, 21))
        pins = [
            PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY - timedelta(days=3), line=4),
            PinEntry(Pin("sha256", bytes(range(1, 33))), expires=TODAY + timedelta(days=5)),
            PinEntry(Pin("sha1", digest)),
            PinEntry(Pin("sha256", bytes(range(2, 34))), expires=TODAY + timedelta(days=90)),
        ]
        warnings = pin_warnings(pins, TODAY, 30)
        assert len(warnings) == 3
        assert "(line 4) expired on" in warnings[0]
        assert "expires in 5 days" in warnings[1]
        assert "sha1" in warnings[2]

    def test_no_backup_pin(self, pki) -> None:
        """Every pin matching the current chain means no backup: a warning."""
        _, _, served = pki
        assert "no backup pin" in chain_warnings([pin(served[0])], served, NOW, 0)[0]
        assert chain_warnings([pin(served[0]), other_pin()], served, NOW, 0) == ()

    def test_expired_pin_is_no_backup(self, pki) -> None:
        """A backup that has expired no longer counts as one."""
        _, _, served = pki
        stale = replace(other_pin(), expires=TODAY - timedelta(days=1))
        assert chain_warnings([pin(served[0]), stale], served, NOW, 0)

    def test_leaf_expiring(self) -> None:
        """A leaf expiring within warn_days is a warning; later is not."""
        ca = trustme.CA()
        soon = certs(ca.issue_cert("a.test", not_after=NOW + timedelta(days=10)).cert_chain_pems)
        pins = [pin(soon[0]), other_pin()]
        assert "expires in" in chain_warnings(pins, soon, NOW, 30)[0]
        assert chain_warnings(pins, soon, NOW, 5) == ()

    def test_strict_fails_a_pass_with_warnings(self, tmp_path: Path, pki) -> None:
        """--strict turns warnings into a failure (exit 1); without it the host passes."""
        root, _, served = pki
        entry = HostEntry("api.test", pins=(pin(served[0]),))
        ca = tmp_path / "root.pem"
        root.cert_pem.write_to_path(str(ca))
        pin_file = PinFile(tmp_path / "p.toml", defaults=Defaults(ca_file=ca), hosts=(entry,))
        lax = verify(pin_file, pin_file.hosts, VerifyOptions(), NOW, chain=served)
        strict = verify(pin_file, pin_file.hosts, VerifyOptions(strict=True), NOW, chain=served)
        assert (lax.hosts[0].ok, lax.exit_code) == (True, ExitCode.OK)
        assert lax.hosts[0].warnings
        assert (strict.hosts[0].status, strict.hosts[0].ok) == ("pass", False)
        assert strict.exit_code == ExitCode.FAILED
        assert (strict.hosts[0].error or "").startswith("--strict")


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

        def refuse(status: str):
            def observe(target: object, deadline: float) -> Steps[Observed]:
                raise ConnectError("nope", status)
                yield  # a generator, as every observer is

            return observe

        target = parse_target("a.test:443")
        for given, expected in [("timeout", "timeout"), ("weird", "tls-error")]:
            subject = Subject(
                entry, target, pin_file.defaults, (), OkHttpRule(), refuse(given), 0, NOW
            )
            check = check_host(subject)
            host = drive(check, 1)
            assert (host.status, host.exit_code) == (expected, ExitCode.UNREACHABLE)


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


class TestSelection:
    def test_select_by_name_and_port(self) -> None:
        """Hosts are named as host or host:port, matched case-insensitively, in file order."""
        a, b, c = HostEntry("a.test"), HostEntry("a.test", port=8443), HostEntry("c.test")
        pin_file = PinFile(Path("pins.toml"), hosts=(a, b, c))
        assert select_hosts(pin_file, []) == (a, b, c)
        assert select_hosts(pin_file, ["c.test", "A.TEST"]) == (a, b, c)
        assert select_hosts(pin_file, ["a.test:8443"]) == (b,)

    def test_unknown_host_is_a_usage_error(self) -> None:
        """A host that is not in the pin file is refused, naming the known ones."""
        pin_file = PinFile(Path("pins.toml"), hosts=(HostEntry("a.test"),))
        with pytest.raises(
            UsageError, match=r"host 'b\.test' is not in pins\.toml \(it has a\.test:443\)"
        ):
            select_hosts(pin_file, ["b.test"])
        with pytest.raises(UsageError):
            select_hosts(pin_file, ["a.test:444"])

    def test_empty_pin_file_is_refused(self) -> None:
        """Verifying nothing must not pass: a pin file without hosts is an error."""
        with pytest.raises(InputError, match="no hosts"):
            select_hosts(PinFile(Path("pins.toml")), [])

    def test_load_chain(self, tmp_path: Path, pki) -> None:
        """A saved PEM chain loads leaf first; a file without certificates is refused."""
        _, _, served = pki
        saved = tmp_path / "chain.pem"
        saved.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in served))
        assert load_chain(saved) == served
        saved.write_text("not a chain\n")
        with pytest.raises(InputError, match="holds no PEM certificates"):
            load_chain(saved)
        with pytest.raises(InputError, match="cannot read"):
            load_chain(tmp_path / "missing.pem")


class TestJUnit:
    def test_attacker_text_cannot_break_the_report(self) -> None:
        """Control characters in an error are replaced, so the XML always parses."""
        bad = host_result(_entry("a.test"), "pin-mismatch", "subject CN=\x00\x1b<&>\"'")
        good = host_result(_entry("b.test"), "pass", elapsed=0.25)
        result = VerifyResult((bad, good), Path("pins.toml"), NOW, elapsed=1.5)
        root = ET.fromstring(junit.to_xml(junit.verify_suite(result, NOW)))  # noqa: S314 — our own output
        suite = root.find("testsuite")
        assert suite is not None
        assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("2", "1", "1.500")
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == ["a.test:443", "b.test:443"]
        failure = cases[0].find("failure")
        assert failure is not None
        assert failure.get("type") == "pin-mismatch"
        assert failure.get("message") == "pin-mismatch: subject CN=\ufffd\ufffd<&>\"'"
        assert cases[1].find("failure") is None
        assert cases[1].get("time") == "0.250"

    def test_mismatch_details(self) -> None:
        """Pins in the mismatch details show kind, level, expiry and line."""
        from pinctl.output.verify import failure_details
        from pinctl.verify.results import ChainCert

        entry = HostEntry(
            "a.test",
            pins=(PinEntry(Pin("sha256", bytes(range(32))), expires=date(2030, 1, 2), line=7),),
        )
        leaf = certs(trustme.CA().issue_cert("a.test", common_name="a.test").cert_chain_pems)[0]
        chain = (ChainCert(leaf, True),)
        host = host_result(entry, "pin-mismatch", "no pin matches the chain", chain=chain)
        lines = failure_details(host)
        assert lines[1] == "  Peer certificate chain:"
        assert lines[2] == f"    {spki(leaf)}: {leaf.subject.rfc4514_string()}"
        assert lines[3] == "  Pinned certificates for a.test:443:"
        assert lines[4].endswith("(spki, leaf, expires 2030-01-02, line 7)")


class TestStuckResolver:
    def test_a_stuck_resolver_holds_up_only_its_own_host(self, monkeypatch, tmp_path) -> None:
        """A name whose lookup hangs is a timeout at its deadline; the other host passes."""
        import socket
        import threading

        from tests.support.servers import server_context, tls_server

        ca = trustme.CA()
        leaf = ca.issue_cert("localhost")
        served = certs(leaf.cert_chain_pems)
        release, real = threading.Event(), socket.getaddrinfo

        def stuck(host, *args, **kwargs):  # type: ignore[no-untyped-def]
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
        self, monkeypatch, tmp_path, error, retries, calls, status
    ) -> None:
        """A refused or reset first attempt is retried up to --retries; a timeout never is."""
        from pinctl.net import tls
        from tests.support.servers import server_context, tls_server

        ca = trustme.CA()
        leaf = ca.issue_cert("localhost")
        served = certs(leaf.cert_chain_pems)
        real, attempts = tls.handshake_steps, []

        def flaky(target, options):  # type: ignore[no-untyped-def]
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
