"""The reason a user reads for each kind of failure, in the terminal and in the JUnit report,
and a host's measured time, for one run with a silent, an alerting and a TLS 1.1 host."""

from __future__ import annotations

import ssl
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
import trustme

from tests.support.cli import Invocation
from tests.support.pinfiles import ANOTHER_KEY, host, spki_pin, write_pins
from tests.support.servers import hostile_server, legacy_tls_server

TIMEOUT = "0.6"


@dataclass
class Outcome:
    result: Invocation
    ports: dict[str, int]
    cases: dict[str, ET.Element]
    suite: ET.Element
    wall: float


@pytest.fixture(scope="module")
def outcome(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    from tests.support.cli import invoke

    tmp = tmp_path_factory.mktemp("reasons")
    ca_pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    leaf = ca.issue_cert("localhost")
    report = tmp / "junit.xml"
    with (
        hostile_server("silent") as silent,
        hostile_server("alert") as alert,
        legacy_tls_server(leaf, ssl.TLSVersion.TLSv1_1) as old,
    ):
        ports = {"timeout": silent.port, "tls-error": alert.port, "tls-policy": old.port}
        pins = write_pins(
            tmp / "pins.toml",
            host("127.0.0.1", silent.port, ANOTHER_KEY),
            host("127.0.0.1", alert.port, ANOTHER_KEY),
            host("localhost", old.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=ca_pem,
        )
        started = time.monotonic()
        result = invoke(
            ["verify", "--pin-file", str(pins), "--timeout", TIMEOUT, "--retries", "0",
             "--junit-xml", str(report)]
        )  # fmt: skip
        wall = time.monotonic() - started
    root = ET.parse(report).getroot()  # noqa: S314 - pinctl's own report
    suite = root.find("testsuite")
    assert suite is not None
    by_port = {case.get("name", "").rsplit(":", 1)[1]: case for case in suite.iter("testcase")}
    cases = {status: by_port[str(port)] for status, port in ports.items()}
    return Outcome(result, ports, cases, suite, wall)


PREFIX = {
    "timeout": "ERROR 127.0.0.1",
    "tls-error": "ERROR 127.0.0.1",
    "tls-policy": "FAIL  localhost",
}
"""A host that could not be checked is an ERROR line; one that failed a check, FAIL."""
REASONS = {
    "timeout": f"timeout: timed out after {TIMEOUT} s",
    "tls-error": "tls-error: TLS handshake failed: ",
    "tls-policy": "tls-policy: negotiated TLSv1.1, below min_tls = '1.2'",
}


@pytest.mark.parametrize("status", sorted(REASONS))
def test_the_terminal_line_names_the_status_and_its_reason(outcome: Outcome, status: str) -> None:
    """Each host's line says ERROR (not checked) or FAIL, names the host and gives the reason."""
    port = outcome.ports[status]
    [line] = [ln for ln in outcome.result.stdout.splitlines() if f":{port} " in ln + " "]
    assert line.startswith(f"{PREFIX[status]}:{port}  "), line
    assert REASONS[status] in line, line


@pytest.mark.parametrize("status", sorted(REASONS))
def test_the_junit_case_carries_the_same_reason(outcome: Outcome, status: str) -> None:
    """A CI dashboard shows the reason as the message: of a <failure> for a failed check,
    of an <error> for a host that could not be checked (exit 3)."""
    element = "failure" if status == "tls-policy" else "error"
    failure = outcome.cases[status].find(element)
    assert failure is not None
    assert outcome.cases[status].find({"failure": "error", "error": "failure"}[element]) is None
    assert (failure.get("message") or "").startswith(REASONS[status])


def test_the_run_fails_with_the_worst_exit_code(outcome: Outcome) -> None:
    """A failed check (tls-policy, exit 1) wins over unreached hosts (exit 3): SPEC section 5."""
    assert outcome.result.exit_code == 1
    assert outcome.suite.get("tests") == "3"


def test_each_host_time_is_within_the_run(outcome: Outcome) -> None:
    """A host's time is measured, never negative, and no longer than the whole run took."""
    times = [float(case.get("time", "-1")) for case in outcome.cases.values()]
    assert all(0 <= t <= outcome.wall for t in times), (times, outcome.wall)
    assert 0 <= float(outcome.suite.get("time", "-1")) <= outcome.wall
    # The silent host waited its timeout out: its time is at least that.
    assert float(outcome.cases["timeout"].get("time", "0")) >= float(TIMEOUT)
