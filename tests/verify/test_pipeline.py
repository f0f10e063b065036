"""verify's pipeline: every check reports a verdict, in order, and the worst one names the host."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TypeAlias, cast

import pytest
import trustme
from cryptography import x509

from pinctl.errors import ConnectError, ExitCode
from pinctl.net.session import TlsInfo
from pinctl.net.steps import COMPUTE, Steps, Wait
from pinctl.net.targets import parse_target
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from pinctl.verify.evidence import Evidence, Subject
from pinctl.verify.observation import Observe, Observed
from pinctl.verify.pipeline import PIPELINE, check_host
from pinctl.verify.results import HostResult, Reached, Unreached
from pinctl.verify.rules import OkHttpRule
from pinctl.verify.verdicts import Failed, Verdict

NOW = datetime.now(timezone.utc)
TLS13 = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256")
RootAndServed: TypeAlias = tuple[x509.Certificate, tuple[x509.Certificate, ...]]


def certs(pems: Sequence[trustme.Blob]) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificate(pem.bytes()) for pem in pems)


def pin(cert: x509.Certificate) -> PinEntry:
    return PinEntry(compute(spki_der(cert.public_key())))


@pytest.fixture(scope="module")
def pki() -> RootAndServed:
    """A root, and the leaf+intermediate chain a server under it sends for api.test."""
    root = trustme.CA()
    served = certs(root.create_child_ca().issue_cert("api.test").cert_chain_pems)
    return certs([root.cert_pem])[0], served


def seen(
    served: tuple[x509.Certificate, ...], tls: TlsInfo | None = TLS13, fs: bool = True
) -> Observe:
    def observe(target: object, deadline: float) -> Steps[Observed]:
        return Observed(served, tls, fs if tls else None)
        yield  # a generator, as every observer is

    return observe


def refused(target: object, deadline: float) -> Steps[Observed]:
    raise ConnectError("connection refused when connecting to api.test:443", "unreachable")
    yield  # a generator, as every observer is


def run(
    entry: HostEntry,
    observe: Observe,
    roots: tuple[x509.Certificate, ...],
    pipeline: Any = PIPELINE,
) -> tuple[HostResult, list[Wait]]:
    """Drive one host's pipeline to its end, recording what it waited for."""
    target = parse_target(entry.label, servername=entry.servername)
    subject = Subject(entry, target, Defaults(), roots, OkHttpRule(), observe, 0.0, NOW)
    steps = check_host(subject, strict=False, pipeline=pipeline)
    waits: list[Wait] = []
    try:
        while True:
            waits.append(steps.send(None))
    except StopIteration as stop:
        return stop.value, waits


def table(host: HostResult) -> list[tuple[str, str]]:
    return [(name, type(verdict).__name__) for name, verdict in host.checks]


def test_a_pass_reports_every_check_in_order(pki: RootAndServed) -> None:
    """A live pass: connect, tls-policy, chain and pins pass; the checks not built are skipped."""
    root, served = pki
    host, waits = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (root,))
    assert table(host) == [
        ("connect", "Passed"),
        ("tls-policy", "Passed"),
        ("chain", "Passed"),
        ("revocation", "Skipped"),
        ("pins", "Passed"),
        ("clients", "Skipped"),
        ("ct", "Skipped"),
    ]
    assert (host.status, host.matched) == ("pass", pin(served[0]))
    assert waits == [COMPUTE], "the CPU part starts once the chain is in hand"


def test_an_unreached_host_skips_what_needs_its_chain(pki: RootAndServed) -> None:
    """The failing twin of connect: unchecked with the reason, every later check skipped."""
    root, served = pki
    host, waits = run(HostEntry("api.test", pins=(pin(served[0]),)), refused, (root,))
    assert table(host)[0] == ("connect", "Unchecked")
    assert {kind for _, kind in table(host)[1:]} == {"Skipped"}
    assert (host.status, host.exit_code, host.outcome) == (
        "unreachable",
        ExitCode.UNREACHABLE,
        Unreached(),
    )
    assert host.error == "connection refused when connecting to api.test:443"
    assert waits == [], "a host that was not reached has no compute step"


def test_a_policy_failure_still_reports_chain_and_pins(pki: RootAndServed) -> None:
    """Every verdict is reported: below the TLS policy, the chain and the pins are still judged."""
    root, served = pki
    weak = seen(served, TlsInfo("TLSv1.2", "AES128-GCM-SHA256"), fs=False)
    host, _ = run(HostEntry("api.test", pins=(PinEntry(compute(b"other")),)), weak, (root,))
    verdicts = dict(host.checks)
    assert isinstance(verdicts["tls-policy"], Failed)
    assert type(verdicts["chain"]).__name__ == "Passed"
    assert verdicts["pins"] == Failed("pin-mismatch", "no pin matches the chain")
    assert host.status == "tls-policy", "the policy outranks the mismatch"
    assert "forward secrecy" in (host.error or "")


def test_an_untrusted_chain_leaves_pins_nothing_to_match(pki: RootAndServed) -> None:
    """With no validated path the pins check is skipped, saying why; the host is untrusted."""
    _, served = pki
    other_root = certs([trustme.CA().cert_pem])[0]
    host, _ = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (other_root,))
    verdicts = dict(host.checks)
    assert isinstance(verdicts["chain"], Failed)
    assert type(verdicts["pins"]).__name__ == "Skipped"
    assert "chain check failed" in cast(Any, verdicts["pins"]).reason
    assert (host.status, host.matched) == ("untrusted", None)
    assert isinstance(host.outcome, Reached), "the served leaf and its signers are shown"
    assert host.chain[0].cert == served[0]
    assert all(c.served for c in host.chain)


def test_a_name_mismatch_still_matches_pins_on_the_path(pki: RootAndServed) -> None:
    """A trusted path for another name still has its pins judged; the host fails on the name."""
    root, served = pki
    entry = HostEntry("api.test", servername="other.test", pins=(pin(served[0]),))
    host, _ = run(entry, seen(served), (root,))
    verdicts = dict(host.checks)
    assert verdicts["chain"] == Failed("hostname-mismatch", cast(Any, verdicts["chain"]).reason)
    assert type(verdicts["pins"]).__name__ == "Passed"
    assert (host.status, host.matched, host.ok) == ("hostname-mismatch", None, False)


def test_verify_chain_false_skips_the_chain_check(pki: RootAndServed) -> None:
    """verify_chain = false: the chain check is skipped and the pins alone decide."""
    _, served = pki
    entry = HostEntry("api.test", verify_chain=False, pins=(pin(served[1]),))
    host, _ = run(entry, seen(served), ())
    assert dict(table(host))["chain"] == "Skipped"
    assert host.status == "pass"
    twin, _ = run(
        HostEntry("api.test", verify_chain=False, pins=(pin(served[0]),)), seen(served[1:]), ()
    )
    assert twin.status == "pin-mismatch"


def test_a_saved_chain_skips_connect_and_policy(pki: RootAndServed) -> None:
    """--chain: nothing was contacted and there is no session, so both say skipped, not pass."""
    root, served = pki
    host, _ = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served, tls=None), (root,))
    assert table(host)[:3] == [
        ("connect", "Skipped"),
        ("tls-policy", "Skipped"),
        ("chain", "Passed"),
    ]
    assert (host.status, host.tls) == ("pass", None)


def test_adding_a_check_is_one_entry(pki: RootAndServed) -> None:
    """A check added to the pipeline tuple runs in its place, and its failure fails the host."""
    root, served = pki

    def noncompliant(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
        return Failed("ct-noncompliant", "2 SCTs needed, 1 found"), evidence
        yield  # a generator, as every check is

    pipeline = (*PIPELINE[:-1], ("ct", noncompliant))
    host, _ = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (root,), pipeline)
    assert table(host)[-1] == ("ct", "Failed")
    assert (host.status, host.error, host.exit_code) == (
        "ct-noncompliant",
        "2 SCTs needed, 1 found",
        ExitCode.FAILED,
    )


def test_a_check_may_wait_on_the_network_after_the_compute_step(pki: RootAndServed) -> None:
    """A check after COMPUTE (a revocation fetch) yields its waits through the pipeline."""
    root, served = pki
    fetch = Wait(None, doing="while fetching the OCSP response", until=time.monotonic())

    def revocation(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
        yield fetch
        return Failed("revoked", "the leaf was revoked (keyCompromise)"), evidence

    pipeline = tuple(
        (name, revocation if name == "revocation" else check) for name, check in PIPELINE
    )
    host, waits = run(
        HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (root,), pipeline
    )
    assert waits == [COMPUTE, fetch]
    assert host.status == "revoked"


def test_a_network_failure_after_the_compute_step_is_could_not_check(pki: RootAndServed) -> None:
    """A later check whose own fetch times out makes the host could-not-check (exit 3), not a
    crash (exit 1) and never a pass; the checks after it still report."""
    root, served = pki

    def revocation(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
        yield Wait(None, doing="while fetching the CRL", until=time.monotonic())
        raise ConnectError("timed out after 10 s while fetching the CRL", "timeout")

    pipeline = tuple(
        (name, revocation if name == "revocation" else check) for name, check in PIPELINE
    )
    host, _ = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (root,), pipeline)
    assert (host.status, host.exit_code) == ("timeout", ExitCode.UNREACHABLE)
    assert ("revocation", "Unchecked") in table(host)
    assert ("pins", "Passed") in table(host)
    assert isinstance(host.outcome, Reached)


def test_a_failure_after_the_compute_step_still_fails_twin(pki: RootAndServed) -> None:
    """Failing twin: a later check that finds a real failure fails the host (exit 1)."""
    root, served = pki

    def revocation(subject: Subject, evidence: Evidence) -> Steps[tuple[Verdict, Evidence]]:
        return Failed("revoked", "the leaf was revoked"), evidence
        yield  # a generator, as every check is

    pipeline = tuple(
        (name, revocation if name == "revocation" else check) for name, check in PIPELINE
    )
    host, _ = run(HostEntry("api.test", pins=(pin(served[0]),)), seen(served), (root,), pipeline)
    assert (host.status, host.exit_code) == ("revoked", ExitCode.FAILED)
