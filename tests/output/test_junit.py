"""`pinctl verify --junit-xml`: a report that cannot be written never hides the checks.

The hosts are real TLS servers on loopback; the command runs through the real error
boundary, so stdout, stderr and the exit code are what a CI job sees.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from pinctl.output import junit
from pinctl.pinfile.model import HostEntry, PinEntry
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import Pin, compute
from pinctl.verify.results import VerifyResult
from tests.support.cli import Invocation, Run
from tests.support.hosts import NOW, certs, host_result, spki
from tests.support.servers import LoopbackServer, server_context, tls_server

ANOTHER_KEY = str(compute(b"a key no server in these tests has"))
TOO_LONG = "r" * 300 + ".xml"
"""A name no filesystem takes (NAME_MAX is 255), yet its directory exists: the write
itself fails, after the hosts were checked, whoever runs the tests (root included)."""


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1")


@pytest.fixture
def server(leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    with tls_server(server_context(leaf)) as running:
        yield running


def _pin_file(tmp_path: Path, server: LoopbackServer, ca_pem: Path, pin: str) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n'
        f'[[hosts]]\nhost = "127.0.0.1"\nport = {server.port}\n'
        f'pins = [{{ pin = "{pin}" }}, {{ pin = "{ANOTHER_KEY}" }}]\n'
    )
    return path


def _leaf_pin(leaf: trustme.LeafCert) -> str:
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return str(compute(spki_der(cert.public_key())))


def _verify(run: Run, pin_file: Path, report: Path, *args: str) -> Invocation:
    return run(
        ["verify", "--timeout", "5", "--pin-file", str(pin_file), "--junit-xml", str(report), *args]
    )


def test_a_report_that_cannot_be_written_still_shows_the_failure(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path
) -> None:
    """A failing run whose report cannot be written prints the mismatch report, says on
    stderr in one line that the report was lost, and exits 1."""
    pin_file = _pin_file(tmp_path, server, ca_pem, str(compute(b"not this server")))
    result = _verify(run, pin_file, tmp_path / TOO_LONG)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"FAIL  127.0.0.1:{server.port}  pin-mismatch")
    assert "Peer certificate chain:" in result.stdout
    assert result.stderr.startswith(f"pinctl: error: cannot write {tmp_path / TOO_LONG}: ")
    assert result.stderr.endswith("the hosts were checked, but no JUnit report was written\n")
    assert result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.pem", "pins.toml"]


def test_a_lost_report_fails_a_passing_run(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """Hosts that all pass still exit 1 when the report CI asked for was not written."""
    pin_file = _pin_file(tmp_path, server, ca_pem, _leaf_pin(leaf))
    result = _verify(run, pin_file, tmp_path / TOO_LONG)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"ok    127.0.0.1:{server.port}  ")
    assert result.stderr.startswith("pinctl: error: cannot write ")
    as_json = _verify(run, pin_file, tmp_path / TOO_LONG, "-o", "json")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["hosts"][0]["status"] == "pass"
    assert (document["ok"], document["exit_code"]) == (False, 1)


def test_a_written_report_keeps_the_runs_exit_code(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """Twin of the lost report: a writable path gets the report, and a pass exits 0."""
    pin_file = _pin_file(tmp_path, server, ca_pem, _leaf_pin(leaf))
    report = tmp_path / "report.xml"
    result = _verify(run, pin_file, report)
    assert (result.exit_code, result.stderr) == (0, "")
    root = ET.parse(report).getroot()  # noqa: S314 — pinctl's own report
    case = root.find("testsuite/testcase")
    assert case is not None
    # A real handshake and validation take some milliseconds: the host's own time, not
    # its turn in the batch subtracted twice (which the report would clamp to 0.000).
    assert float(case.get("time", "0")) > 0


def test_a_report_under_a_regular_file_is_refused_before_any_host(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """A report path whose directory is a file exits 2, and no host is contacted."""
    pin_file = _pin_file(tmp_path, server, ca_pem, _leaf_pin(leaf))
    (tmp_path / "f").write_text("a file, not a directory")
    result = _verify(run, pin_file, tmp_path / "f" / "r.xml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"pinctl: error: --junit-xml {tmp_path / 'f' / 'r.xml'}: its directory does not exist; "
        "create it first\n"
    )
    assert server.connections == 0


def test_a_report_path_in_a_symlink_loop_is_refused_before_any_host(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """A report path that is a loop of symbolic links exits 2 up front, not an internal error."""
    pin_file = _pin_file(tmp_path, server, ca_pem, _leaf_pin(leaf))
    loop = tmp_path / "loop.xml"
    os.symlink(loop.name, loop)
    result = _verify(run, pin_file, loop)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"pinctl: error: --junit-xml {loop}: a loop of symbolic links; fix the link\n"
    )
    assert server.connections == 0


def test_a_report_through_a_symlink_replaces_its_target(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path, leaf: trustme.LeafCert
) -> None:
    """A report path that is a symbolic link stays one; the file it points to gets the report."""
    pin_file = _pin_file(tmp_path, server, ca_pem, _leaf_pin(leaf))
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "junit.xml"
    target.write_text("old")
    link = tmp_path / "junit.xml"
    os.symlink(os.path.join("reports", "junit.xml"), link)
    result = _verify(run, pin_file, link)
    assert (result.exit_code, result.stderr) == (0, "")
    assert os.readlink(link) == os.path.join("reports", "junit.xml")
    assert ET.parse(target).getroot().tag == "testsuites"  # noqa: S314 — pinctl's own report


def _host_entry(name: str) -> HostEntry:
    return HostEntry(name, pins=(PinEntry(Pin("sha256", bytes(range(32)))),))


class TestJUnit:
    def test_attacker_text_cannot_break_the_report(self) -> None:
        """Control characters in an error are replaced, so the XML always parses."""
        bad = host_result(_host_entry("a.test"), "pin-mismatch", "subject CN=\x00\x1b<&>\"'")
        good = host_result(_host_entry("b.test"), "pass", elapsed=0.25)
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


def test_unreachable_hosts_are_errors_and_mismatches_failures(
    run: Run, tmp_path: Path, server: LoopbackServer, ca_pem: Path
) -> None:
    """A host that refused the connection is an <error> (could not check); a pin mismatch
    on a live host is a <failure>; the suite counts each apart."""
    from tests.support.servers import closed_port

    pin_file = tmp_path / "pins.toml"
    pin_file.write_text(
        f'version = 1\n[defaults]\nca_file = "{ca_pem}"\n'
        f'[[hosts]]\nhost = "127.0.0.1"\nport = {server.port}\n'
        f'pins = [{{ pin = "{ANOTHER_KEY}" }}]\n'
        f'[[hosts]]\nhost = "127.0.0.1"\nport = {closed_port()}\n'
        f'pins = [{{ pin = "{ANOTHER_KEY}" }}]\n'
    )
    report = tmp_path / "report.xml"
    result = _verify(run, pin_file, report, "--retries", "0")
    assert result.exit_code == 1
    suite = ET.parse(report).getroot().find("testsuite")  # noqa: S314 — pinctl's own report
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "1")
    mismatch, refused = suite.findall("testcase")
    failure = mismatch.find("failure")
    assert failure is not None
    assert failure.get("type") == "pin-mismatch"
    assert mismatch.find("error") is None
    error = refused.find("error")
    assert error is not None
    assert error.get("type") == "unreachable"
    assert refused.find("failure") is None
