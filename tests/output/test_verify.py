"""verify's renderers: SPEC.md's JSON for every status, with the checks list of section 5."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509

from pinctl.output.terminal import Sink
from pinctl.output.verify import failure_details, render_json, report_lines
from pinctl.pinfile.model import HostEntry, PinEntry
from pinctl.pki.pins import Pin
from pinctl.verify.results import ChainCert, Crashed, HostResult, Reached, VerifyResult
from pinctl.verify.verdicts import PRECEDENCE, CheckName, Failed, Passed, Verdict
from tests.support.hosts import CHECK_OF, host_result

NOW = datetime.now(timezone.utc)
ENTRY = HostEntry("a.test", pins=(PinEntry(Pin("sha256", bytes(range(32)))),))


def as_json(*hosts: HostResult) -> dict[str, Any]:
    out = io.StringIO()
    render_json(VerifyResult(hosts, Path("pins.toml"), NOW), Sink(out, io.StringIO()))
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


@pytest.mark.parametrize("status", ["pass", *PRECEDENCE])
def test_every_status_in_json(status: str) -> None:
    """Each status shows as itself, with ok, the run's exit code and its check's verdict."""
    doc = as_json(host_result(ENTRY, status, f"because {status}"))
    [host] = doc["hosts"]
    assert host["status"] == status
    assert host["ok"] is (status == "pass")
    unchecked = status in PRECEDENCE[PRECEDENCE.index("unreachable") :]
    assert doc["exit_code"] == (0 if status == "pass" else 3 if unchecked else 1)
    assert host["error"] == (None if status == "pass" else f"because {status}")
    if status != "pass":
        word = "unchecked" if unchecked else "fail"
        assert {"check": CHECK_OF[status], "result": word, "reason": f"because {status}"} in host[
            "checks"
        ]


def test_checks_and_chain_fields() -> None:
    """checks list every verdict in order; chain lists the certificates judged, leaf first."""
    leaf = x509.load_pem_x509_certificate(
        trustme.CA().issue_cert("a.test").cert_chain_pems[0].bytes()
    )
    host = host_result(
        ENTRY, "pin-mismatch", "no pin matches the chain", chain=(ChainCert(leaf, True),)
    )
    [entry] = as_json(host)["hosts"]
    assert (
        entry["checks"]
        == [
            {"check": "connect", "result": "pass", "reason": None},
            {"check": "pins", "result": "fail", "reason": "no pin matches the chain"},
            {"check": "pins", "result": "pass", "reason": None},
        ][: len(entry["checks"])]
    )
    assert entry["chain"] == [
        {
            "position": 0,
            "subject": leaf.subject.rfc4514_string(),
            "spki": entry["chain_spki"][0],
            "served": True,
        }
    ]
    assert (entry["starttls"], entry["revocation"], entry["clients"], entry["ct"]) == (None,) * 4


def test_an_internal_error_is_a_failed_host_with_no_checks() -> None:
    """A crashed check shows as a failed host (exit 1) with its reason and no verdicts."""
    doc = as_json(HostResult(ENTRY, (), Crashed("internal error (RuntimeError: boom)")))
    [host] = doc["hosts"]
    assert (doc["ok"], doc["exit_code"], host["status"], host["ok"]) == (
        False,
        1,
        "tls-error",
        False,
    )
    assert (host["checks"], host["chain"], host["tls"]) == ([], [], None)
    assert host["error"] == "internal error (RuntimeError: boom)"


def test_the_table_names_a_failure_and_the_twin_pass() -> None:
    """The text report says FAIL with the reason, ERROR for could-not-check, ok for a pass."""
    lines = [
        line
        for line, _ in report_lines(
            VerifyResult(
                (
                    host_result(ENTRY, "untrusted", "unable to get local issuer"),
                    host_result(HostEntry("b.test"), "timeout", "timed out after 1 s"),
                    host_result(HostEntry("c.test"), "pass"),
                ),
                Path("pins.toml"),
                NOW,
            )
        )
    ]
    assert lines == [
        "FAIL  a.test:443  untrusted: unable to get local issuer",
        "ERROR b.test:443  timeout: timed out after 1 s",
        "ok    c.test:443",
        "3 hosts: 1 passed, 1 failed, 1 could not be checked",
    ]
    assert failure_details(host_result(ENTRY, "pass")) == []


def test_the_table_shows_every_finding_not_only_the_first() -> None:
    """A host failed by its TLS policy also shows, beneath, that its pins did not match."""
    checks: tuple[tuple[CheckName, Verdict], ...] = (
        ("connect", Passed()),
        ("tls-policy", Failed("tls-policy", "negotiated TLSv1.2, below min_tls = '1.3'")),
        ("chain", Passed()),
        ("pins", Failed("pin-mismatch", "no pin matches the chain")),
    )
    host = HostResult(ENTRY, checks, Reached((), None, None))
    lines = [line for line, _ in report_lines(VerifyResult((host,), Path("pins.toml"), NOW))]
    assert lines[:2] == [
        "FAIL  a.test:443  tls-policy: negotiated TLSv1.2, below min_tls = '1.3'",
        "      also pin-mismatch: no pin matches the chain",
    ]
    alone = HostResult(ENTRY, (*checks[:3], ("pins", Passed())), Reached((), None, None))
    assert failure_details(alone) == ["tls-policy: negotiated TLSv1.2, below min_tls = '1.3'"]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_written_host_by_host_is_one_document(count: int) -> None:
    """The JSON written a host at a time is byte for byte what one json.dumps would give."""
    from pinctl.output.verify import host_json

    hosts = tuple(
        host_result(HostEntry(f"h{i}.test"), status)
        for i, status in zip(range(count), ["pass", "untrusted", "timeout"], strict=False)
    )
    result = VerifyResult(hosts, Path("pins.toml"), NOW)
    out = io.StringIO()
    render_json(result, Sink(out, io.StringIO()))
    document = {
        "ok": result.ok,
        "exit_code": int(result.exit_code),
        "hosts": [host_json(h) for h in hosts],
    }
    assert out.getvalue() == json.dumps(document, indent=2) + "\n"
