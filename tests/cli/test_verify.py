"""`pinctl verify` end to end on loopback: every status, exit code and failure path.

Each scenario is a real TLS server (or a hostile peer) and a real pin file; the command
runs through the real error boundary. Every passing case has a failing twin.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Run
from tests.support.pinfiles import ANOTHER_KEY, host, spki_pin, write_pins
from tests.support.pki import client_only_pki, issue
from tests.support.proxy import connect_proxy
from tests.support.servers import (
    LoopbackServer,
    closed_port,
    hostile_server,
    legacy_tls_server,
    pem_context,
    server_context,
    tls_handler,
    tls_server,
)
from tests.support.tools import needs

HOSTILE_TIMEOUT = "0.6"
HOST_KEYS = {
    "host",
    "port",
    "status",
    "ok",
    "matched_pin",
    "tls",
    "chain_spki",
    "warnings",
    "error",
}
PIPELINE_KEYS = ("checks", "chain", "starttls", "revocation", "clients", "ct")
"""SPEC.md section 5's fields, after Part I's."""


def verdicts(entry: dict[str, Any]) -> dict[str, str]:
    """The result of each check in the host's `checks` list, by check name."""
    return {c["check"]: c["result"] for c in entry["checks"]}


def hosts_json(stdout: str) -> list[dict[str, Any]]:
    doc = json.loads(stdout)
    hosts: list[dict[str, Any]] = doc["hosts"]
    return hosts


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
def good(leaf: trustme.LeafCert) -> Iterator[LoopbackServer]:
    with tls_server(server_context(leaf)) as server:
        yield server


@pytest.fixture
def pins_path(tmp_path: Path) -> Path:
    return tmp_path / "pins.toml"


class TestStatuses:
    def test_pass(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A host whose leaf key is pinned passes: exit 0, a one-line verdict, nothing on stderr."""
        write_pins(
            pins_path,
            host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=ca_pem,
        )
        result = run(["verify", "--pin-file", str(pins_path)])
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout.startswith(f"ok    localhost:{good.port}  TLSv1.3 ")
        matched = spki_pin(leaf.cert_chain_pems[0])
        assert result.stdout.splitlines()[0].endswith(f"  matched {matched} (leaf)")
        assert result.stdout.splitlines()[1:] == [
            "1 host: 1 passed, 0 failed, 0 could not be checked"
        ]

    def test_pin_mismatch_shows_chain_and_expected_pins(
        self,
        run: Run,
        good: LoopbackServer,
        leaf: trustme.LeafCert,
        pins_path: Path,
        ca_pem: Path,
        ca: trustme.CA,
    ) -> None:
        """A mismatch exits 1 and, like OkHttp, lists the chain's pins and the pins expected."""
        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path)])
        assert (result.exit_code, result.stderr) == (1, "")
        lines = result.stdout.splitlines()
        assert lines[0] == f"FAIL  localhost:{good.port}  pin-mismatch: no pin matches the chain"
        assert lines[1] == "      Peer certificate chain:"
        leaf_subject = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).subject
        assert lines[2] == f"        {spki_pin(leaf.cert_chain_pems[0])}: " + (
            leaf_subject.rfc4514_string()
        )
        assert lines[3].startswith(f"        {spki_pin(ca.cert_pem)}: ")
        assert lines[3].endswith("(trust anchor, not served)")
        assert lines[4] == f"      Pinned certificates for localhost:{good.port}:"
        assert lines[5] == f"        {ANOTHER_KEY} (spki, backup, line 10)"
        assert lines[6:] == ["1 host: 0 passed, 1 failed, 0 could not be checked"]

    def test_untrusted(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A server certificate from another CA is untrusted (exit 1) though its key is pinned."""
        stranger = trustme.CA().issue_cert("localhost")
        with tls_server(server_context(stranger)) as server:
            write_pins(
                pins_path,
                host("localhost", server.port, spki_pin(stranger.cert_chain_pems[0])),
                ca=ca_pem,
            )
            result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        assert result.exit_code == 1
        [entry] = hosts_json(result.stdout)
        assert (entry["status"], entry["ok"], entry["matched_pin"]) == ("untrusted", False, None)
        assert entry["error"]
        assert (verdicts(entry)["chain"], verdicts(entry)["pins"]) == ("fail", "skipped")

    def test_hostname_mismatch(
        self, run: Run, ca: trustme.CA, pins_path: Path, ca_pem: Path
    ) -> None:
        """A trusted certificate for another name is a hostname-mismatch (exit 1)."""
        other = ca.issue_cert("other.test")
        with tls_server(server_context(other)) as server:
            write_pins(
                pins_path,
                host("localhost", server.port, spki_pin(other.cert_chain_pems[0])),
                ca=ca_pem,
            )
            result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        assert result.exit_code == 1
        [entry] = hosts_json(result.stdout)
        assert entry["status"] == "hostname-mismatch"
        assert "localhost" in str(entry["error"])
        assert (verdicts(entry)["chain"], verdicts(entry)["pins"]) == ("fail", "pass")
        assert entry["matched_pin"] is None, "a host that failed matched no pin it passed by"

    def test_tls_policy_min_version(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A TLS 1.2-only server fails min_tls = "1.3"; the twin with "1.2" passes."""
        ctx = server_context(leaf)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        pin = spki_pin(leaf.cert_chain_pems[0])
        with tls_server(ctx) as server:
            codes = {}
            for version in ("1.3", "1.2"):
                write_pins(
                    pins_path,
                    host("localhost", server.port, pin, ANOTHER_KEY),
                    defaults=f'min_tls = "{version}"\n',
                    ca=ca_pem,
                )
                result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
                codes[version] = (result.exit_code, hosts_json(result.stdout)[0])
        assert codes["1.3"][0] == 1
        assert codes["1.3"][1]["status"] == "tls-policy"
        assert codes["1.3"][1]["tls"]["version"] == "TLSv1.2"
        assert "min_tls" in str(codes["1.3"][1]["error"])
        assert codes["1.2"][0] == 0

    def test_tls_policy_forward_secrecy(
        self, run: Run, ca: trustme.CA, pins_path: Path, ca_pem: Path
    ) -> None:
        """RSA key exchange (no ECDHE) fails forward secrecy; forward_secrecy = false allows it."""
        rsa_leaf = ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)
        ctx = server_context(rsa_leaf)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-GCM-SHA256")
        pin = spki_pin(rsa_leaf.cert_chain_pems[0])
        with tls_server(ctx) as server:
            outcomes = {}
            for fs in ("true", "false"):
                write_pins(
                    pins_path,
                    host("localhost", server.port, pin, ANOTHER_KEY),
                    defaults=f"forward_secrecy = {fs}\n",
                    ca=ca_pem,
                )
                result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
                outcomes[fs] = (result.exit_code, hosts_json(result.stdout)[0])
        assert outcomes["true"][0] == 1
        assert outcomes["true"][1]["status"] == "tls-policy"
        assert outcomes["true"][1]["tls"] == {"version": "TLSv1.2", "cipher": "AES128-GCM-SHA256"}
        assert "forward secrecy" in str(outcomes["true"][1]["error"])
        judged = verdicts(outcomes["true"][1])
        assert (judged["tls-policy"], judged["chain"], judged["pins"]) == ("fail", "pass", "pass")
        assert outcomes["false"][0] == 0

    def test_tls_policy_tls11(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A TLS 1.1-only server fails the default min_tls of 1.2 (every version and min_tls:
        test_verify_tls_versions.py); skipped only when openssl itself cannot serve TLS 1.1."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        with legacy_tls_server(leaf, ssl.TLSVersion.TLSv1_1) as server:
            write_pins(pins_path, host("localhost", server.port, pin, ANOTHER_KEY), ca=ca_pem)
            result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        entry = hosts_json(result.stdout)[0]
        assert (result.exit_code, entry["status"]) == (1, "tls-policy")
        assert entry["tls"]["version"] == "TLSv1.1"

    def test_unreachable_refused(self, run: Run, pins_path: Path, ca_pem: Path) -> None:
        """A closed port is unreachable: exit 3, not 0 and not 1."""
        write_pins(pins_path, host("127.0.0.1", closed_port(), ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "-o", "json", "--retries", "0"])
        assert result.exit_code == 3
        entry = hosts_json(result.stdout)[0]
        assert (entry["status"], entry["ok"]) == ("unreachable", False)
        assert "refused" in str(entry["error"])
        assert entry["checks"][0] == {
            "check": "connect",
            "result": "unchecked",
            "reason": entry["error"],
        }
        assert {c["result"] for c in entry["checks"][1:]} == {"skipped"}
        assert (entry["chain"], entry["chain_spki"], entry["tls"]) == ([], [], None)

    def test_unreachable_dns(self, run: Run, pins_path: Path, ca_pem: Path) -> None:
        """A name that never resolves (.invalid, RFC 6761) is unreachable, exit 3, quickly."""
        write_pins(pins_path, host("nonexistent.invalid", 443, ANOTHER_KEY), ca=ca_pem)
        started = time.monotonic()
        result = run(["verify", "--pin-file", str(pins_path), "-o", "json", "--timeout", "2"])
        assert time.monotonic() - started < 3
        assert result.exit_code == 3
        assert hosts_json(result.stdout)[0]["status"] in ("unreachable", "timeout")

    def test_timeout(self, run: Run, pins_path: Path, ca_pem: Path) -> None:
        """A server that accepts and never answers costs one timeout: status timeout, exit 3."""
        with hostile_server("silent") as server:
            write_pins(pins_path, host("127.0.0.1", server.port, ANOTHER_KEY), ca=ca_pem)
            started = time.monotonic()
            result = run(
                [
                    "verify",
                    "--pin-file",
                    str(pins_path),
                    "-o",
                    "json",
                    "--timeout",
                    HOSTILE_TIMEOUT,
                    "--retries",
                    "3",
                ]
            )
            elapsed = time.monotonic() - started
            connections = server.connections
        assert result.exit_code == 3
        assert hosts_json(result.stdout)[0]["status"] == "timeout"
        assert elapsed < float(HOSTILE_TIMEOUT) + 0.8
        assert connections == 1, "a timeout is never retried"

    @pytest.mark.parametrize("mode", ["garbage", "reset"])
    def test_tls_error(self, run: Run, pins_path: Path, ca_pem: Path, mode: str) -> None:
        """A peer that sends garbage or resets the handshake is a tls-error, exit 3."""
        with hostile_server(mode) as server:
            write_pins(pins_path, host("127.0.0.1", server.port, ANOTHER_KEY), ca=ca_pem)
            result = run(
                [
                    "verify",
                    "--pin-file",
                    str(pins_path),
                    "-o",
                    "json",
                    "--timeout",
                    "2",
                    "--retries",
                    "0",
                ]
            )
        assert result.exit_code == 3
        assert hosts_json(result.stdout)[0]["status"] == "tls-error"


class TestExitCodes:
    def test_one_wins_over_three(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A mismatch beside an unreachable host exits 1; a pass beside it exits 3."""
        closed = closed_port()
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(
            pins_path,
            host("localhost", good.port, ANOTHER_KEY),
            host("127.0.0.1", closed, ANOTHER_KEY),
            ca=ca_pem,
        )
        mixed = run(["verify", "--pin-file", str(pins_path), "--retries", "0", "-o", "json"])
        assert mixed.exit_code == 1
        assert json.loads(mixed.stdout)["exit_code"] == 1
        assert [h["status"] for h in hosts_json(mixed.stdout)] == ["pin-mismatch", "unreachable"]
        write_pins(
            pins_path,
            host("localhost", good.port, pin, ANOTHER_KEY),
            host("127.0.0.1", closed, ANOTHER_KEY),
            ca=ca_pem,
        )
        partial = run(["verify", "--pin-file", str(pins_path), "--retries", "0"])
        assert partial.exit_code == 3
        assert "1 passed, 0 failed, 1 could not be checked" in partial.stdout

    def test_bad_pin_file_exits_2_and_contacts_nothing(
        self, run: Run, good: LoopbackServer, pins_path: Path
    ) -> None:
        """An invalid pin file is exit 2 with one error line, and no host is contacted."""
        pins_path.write_text(
            f'version = 1\n[[hosts]]\nhost = "localhost"\nport = {good.port}\n'
            'pins = [{ pin = "sha256/abc" }]\n'
        )
        result = run(["verify", "--pin-file", str(pins_path)])
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr.startswith("pinctl: error: ")
        assert result.stderr.count("\n") == 1
        assert good.connections == 0

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "empty input"),
            ("sha256/" + "A" * 43 + "=", "placeholder"),
        ],
    )
    def test_known_non_pins_are_refused(
        self, run: Run, good: LoopbackServer, pins_path: Path, value: str, reason: str
    ) -> None:
        """The empty-input hash and AAAA placeholders in a pin file are refused, exit 2."""
        write_pins(pins_path, host("localhost", good.port, value))
        result = run(["verify", "--pin-file", str(pins_path)])
        assert result.exit_code == 2
        assert reason in result.stderr
        assert good.connections == 0

    def test_missing_pin_file(self, run: Run, tmp_path: Path) -> None:
        """No pin file is exit 2, naming it."""
        result = run(["verify", "--pin-file", str(tmp_path / "nope.toml")])
        assert result.exit_code == 2
        assert "nope.toml" in result.stderr

    def test_unknown_host_name(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """Naming a host that is not in the pin file is a usage error, exit 2."""
        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "elsewhere.test"])
        assert result.exit_code == 2
        assert "'elsewhere.test' is not in" in result.stderr
        assert good.connections == 0

    def test_select_hosts_by_name(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """Only the named hosts are contacted."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(
            pins_path,
            host("localhost", good.port, pin, ANOTHER_KEY),
            host("127.0.0.1", closed_port(), ANOTHER_KEY),
            ca=ca_pem,
        )
        result = run(["verify", "--pin-file", str(pins_path), f"localhost:{good.port}"])
        assert result.exit_code == 0
        assert "1 host: 1 passed" in result.stdout


def _reset_first(context: ssl.SSLContext) -> LoopbackServer:
    """A server that resets its first connection and then serves TLS."""
    serve = tls_handler(context)
    count = [0]
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        with lock:
            count[0] += 1
            first = count[0] == 1
        if first:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        serve(conn)

    return LoopbackServer(handle)


class TestRetries:
    @pytest.mark.parametrize(("retries", "code"), [("1", 0), ("0", 3)])
    def test_reset_then_serve(
        self,
        run: Run,
        leaf: trustme.LeafCert,
        pins_path: Path,
        ca_pem: Path,
        retries: str,
        code: int,
    ) -> None:
        """A reset first connection passes with --retries 1 and is exit 3 with --retries 0."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        with _reset_first(server_context(leaf)) as server:
            write_pins(pins_path, host("localhost", server.port, pin, ANOTHER_KEY), ca=ca_pem)
            result = run(
                ["verify", "--pin-file", str(pins_path), "--retries", retries, "--timeout", "3"]
            )
        assert result.exit_code == code, result.stdout

    def test_mismatch_is_not_retried(
        self, run: Run, good: LoopbackServer, pins_path: Path, ca_pem: Path
    ) -> None:
        """A pin mismatch is a verdict: one connection, no retry."""
        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "--retries", "3"])
        assert result.exit_code == 1
        assert good.connections == 1


class TestFailClosed:
    """Every error path exits non-zero; none may ever report success."""

    @pytest.mark.parametrize(
        "scenario",
        [
            "bad-pin-file",
            "dns",
            "refused",
            "reset",
            "timeout",
            "garbage",
            "handshake",
            "internal",
            "internal-tls",
            "empty-pin-file",
            "no-pins",
        ],
    )
    def test_no_error_path_exits_zero(
        self,
        run: Run,
        scenario: str,
        pins_path: Path,
        ca_pem: Path,
        leaf: trustme.LeafCert,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Each way a check can go wrong ends with a non-zero exit and a failed host."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        args = ["verify", "--pin-file", str(pins_path), "--timeout", HOSTILE_TIMEOUT, "-o", "json"]
        expected = {
            "bad-pin-file": 2,
            "empty-pin-file": 2,
            "internal": 1,
            "internal-tls": 1,
            "no-pins": 1,
        }.get(scenario, 3)
        with _scenario(scenario, leaf) as port:
            name = "nonexistent.invalid" if scenario == "dns" else "localhost"
            write_pins(pins_path, host(name, port, pin, ANOTHER_KEY), ca=ca_pem)
            if scenario == "bad-pin-file":
                pins_path.write_text("version = 1\n[[hosts]]\nhost = 'localhost'\nbogus = 1\n")
            if scenario == "empty-pin-file":
                pins_path.write_text("version = 1\n")
            if scenario == "no-pins":
                pins_path.write_text(
                    f"version = 1\n[[hosts]]\nhost = 'localhost'\nport = {port}\n"
                    f"ca_file = '{ca_pem}'\npins = []\n"
                )
            if scenario == "internal":
                monkeypatch.setattr("pinctl.pki.validation.validate", _explode)
            if scenario == "internal-tls":
                monkeypatch.setattr("pinctl.net.tls.handshake_steps", _explode)
            result = run(args)
        assert result.exit_code == expected, (result.stdout, result.stderr)
        if expected != 2:
            [entry] = hosts_json(result.stdout)
            assert entry["ok"] is False
            assert entry["status"] != "pass"
            assert json.loads(result.stdout)["ok"] is False
        if scenario.startswith("internal"):
            assert "internal error (RuntimeError: injected)" in str(entry["error"])

    def test_debug_reraises_an_internal_error(
        self,
        run: Run,
        good: LoopbackServer,
        leaf: trustme.LeafCert,
        pins_path: Path,
        ca_pem: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """With --debug an internal error in a check surfaces with its traceback."""
        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        monkeypatch.setattr("pinctl.pki.validation.validate", _explode)
        with pytest.raises(RuntimeError, match="injected"):
            run(["--debug", "verify", "--pin-file", str(pins_path)])


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected")


@contextlib.contextmanager
def _scenario(name: str, leaf: trustme.LeafCert) -> Iterator[int]:
    """The port of a peer that goes wrong in the way `name` says."""
    hostile = {"reset": "reset", "timeout": "silent", "garbage": "garbage"}
    if name in ("refused", "dns"):
        yield closed_port()
    elif name in hostile:
        with hostile_server(hostile[name]) as server:
            yield server.port
    else:
        ctx = server_context(leaf)
        if name == "handshake":
            ctx.set_servername_callback(lambda *_: ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE)
        with tls_server(ctx) as server:
            yield server.port


class TestWarnings:
    def test_no_backup_warns_and_strict_fails(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """Only the live key pinned: a warning with exit 0; with --strict, exit 1."""
        write_pins(
            pins_path, host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0])), ca=ca_pem
        )
        lax = run(["verify", "--pin-file", str(pins_path)])
        assert lax.exit_code == 0
        assert "      warning: no backup pin" in lax.stdout
        strict = run(["verify", "--pin-file", str(pins_path), "--strict", "-o", "json"])
        assert strict.exit_code == 1
        [entry] = hosts_json(strict.stdout)
        assert (entry["status"], entry["ok"]) == ("pass", False)
        assert entry["warnings"] == [
            "no backup pin (a backup = true pin that matches nothing in the current chain)"
        ]
        assert str(entry["error"]).startswith("--strict")

    def test_strict_passes_a_clean_host(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """The twin: with a backup pin and nothing expiring, --strict passes."""
        write_pins(
            pins_path,
            host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=ca_pem,
        )
        result = run(["verify", "--pin-file", str(pins_path), "--strict"])
        assert result.exit_code == 0

    def test_expiring_pin_warns(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """A pin expiring within warn_days is a warning naming its line."""
        import datetime

        soon = datetime.date.today() + datetime.timedelta(days=3)
        pin = spki_pin(leaf.cert_chain_pems[0])
        block = (
            f'[[hosts]]\nhost = "localhost"\nport = {good.port}\npins = [\n'
            f'  {{ pin = "{pin}", expires = {soon.isoformat()} }},\n'
            f'  {{ pin = "{ANOTHER_KEY}", backup = true }},\n]\n'
        )
        write_pins(pins_path, block, ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "-o", "json", "--strict"])
        assert result.exit_code == 1
        warnings = hosts_json(result.stdout)[0]["warnings"]
        assert warnings == [f"pin {pin} (line 10) expires in 3 days ({soon.isoformat()})"]


class TestOptions:
    def test_ca_file_overrides_the_pin_file(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """--ca-file replaces the pin file's ca_file: wrong roots fail, the right ones pass."""
        stranger = pins_path.parent / "stranger.pem"
        trustme.CA().cert_pem.write_to_path(str(stranger))
        write_pins(
            pins_path,
            host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=stranger,
        )
        assert run(["verify", "--pin-file", str(pins_path)]).exit_code == 1
        fixed = run(["verify", "--pin-file", str(pins_path), "--ca-file", str(ca_pem)])
        assert fixed.exit_code == 0

    def test_chain_file_offline(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path, tmp_path: Path
    ) -> None:
        """--chain judges a saved chain with no network; a wrong pin still fails."""
        saved = tmp_path / "chain.pem"
        saved.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        port = closed_port()  # nothing listens: a connection attempt would fail
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(pins_path, host("localhost", port, pin, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "--chain", str(saved), "-o", "json"])
        assert result.exit_code == 0
        [entry] = hosts_json(result.stdout)
        assert (entry["status"], entry["tls"], entry["matched_pin"]) == ("pass", None, pin)
        write_pins(pins_path, host("localhost", port, ANOTHER_KEY), ca=ca_pem)
        assert run(["verify", "--pin-file", str(pins_path), "--chain", str(saved)]).exit_code == 1

    def test_chain_file_needs_a_host_when_many(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path, tmp_path: Path
    ) -> None:
        """With several hosts, --chain must be told which host(s) the chain belongs to."""
        saved = tmp_path / "chain.pem"
        saved.write_bytes(leaf.cert_chain_pems[0].bytes())
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(pins_path, host("localhost", 1, pin), host("localhost", 2, pin), ca=ca_pem)
        refused = run(["verify", "--pin-file", str(pins_path), "--chain", str(saved)])
        assert refused.exit_code == 2
        assert "name the host(s)" in refused.stderr
        named = run(["verify", "--pin-file", str(pins_path), "--chain", str(saved), "localhost"])
        assert named.exit_code == 0
        assert "2 hosts: 2 passed" in named.stdout

    def test_hung_hosts_do_not_delay_the_others(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """Hung hosts cost one timeout in all, and the good hosts still pass."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        with hostile_server("silent") as hung, tls_server(server_context(leaf)) as ok:
            dial = f"connect_to = '127.0.0.1:{hung.port}'\n"
            blocks = [host(f"h{i}.test", hung.port, ANOTHER_KEY, extra=dial) for i in range(6)]
            blocks.append(host("localhost", ok.port, pin, ANOTHER_KEY))
            write_pins(pins_path, *blocks, ca=ca_pem)
            started = time.monotonic()
            result = run(
                [
                    "verify",
                    "--pin-file",
                    str(pins_path),
                    "-o",
                    "json",
                    "--timeout",
                    "1",
                    "--concurrency",
                    "8",
                ]
            )
            elapsed = time.monotonic() - started
        statuses = [h["status"] for h in hosts_json(result.stdout)]
        assert statuses == ["timeout"] * 6 + ["pass"]
        assert result.exit_code == 3
        assert elapsed < 1.9

    def test_junit_xml(
        self,
        run: Run,
        good: LoopbackServer,
        leaf: trustme.LeafCert,
        pins_path: Path,
        ca_pem: Path,
        tmp_path: Path,
    ) -> None:
        """--junit-xml writes one testcase per host, a failure with the reason for each bad one."""
        report = tmp_path / "out" / "junit.xml"
        report.parent.mkdir()
        write_pins(
            pins_path,
            host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            host("127.0.0.1", good.port, ANOTHER_KEY),
            ca=ca_pem,
        )
        result = run(["verify", "--pin-file", str(pins_path), "--junit-xml", str(report)])
        assert result.exit_code == 1
        root = ET.parse(report).getroot()  # noqa: S314 — pinctl's own report
        assert root.tag == "testsuites"
        suite = root.find("testsuite")
        assert suite is not None
        assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == [
            f"localhost:{good.port}",
            f"127.0.0.1:{good.port}",
        ]
        assert all(c.get("classname") == "pinctl.verify.run" for c in cases)
        assert cases[0].find("failure") is None
        failure = cases[1].find("failure")
        assert failure is not None
        assert failure.get("message") == "pin-mismatch: no pin matches the chain"
        assert "Peer certificate chain:" in (failure.text or "")
        assert list(tmp_path.glob("out/.*")) == [], "no temporary file left behind"

    def test_json_matches_spec(
        self,
        run: Run,
        good: LoopbackServer,
        leaf: trustme.LeafCert,
        pins_path: Path,
        ca_pem: Path,
        ca: trustme.CA,
    ) -> None:
        """-o json is one document with SPEC.md section 3's keys for every host."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(pins_path, host("localhost", good.port, pin, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        doc = json.loads(result.stdout)
        assert set(doc) == {"ok", "exit_code", "hosts"}
        assert (doc["ok"], doc["exit_code"]) == (True, 0)
        [entry] = doc["hosts"]
        assert set(entry) == HOST_KEYS | set(PIPELINE_KEYS)
        assert tuple(entry)[-len(PIPELINE_KEYS) :] == PIPELINE_KEYS, "Part I's fields come first"
        assert (entry["host"], entry["port"]) == ("localhost", good.port)
        assert (entry["status"], entry["ok"], entry["matched_pin"], entry["error"]) == (
            "pass",
            True,
            pin,
            None,
        )
        assert entry["tls"]["version"] == "TLSv1.3"
        assert entry["tls"]["cipher"].startswith("TLS_")
        assert entry["chain_spki"] == [pin, spki_pin(ca.cert_pem)]
        assert entry["warnings"] == []
        assert [(c["check"], c["result"]) for c in entry["checks"]] == [
            ("connect", "pass"),
            ("tls-policy", "pass"),
            ("chain", "pass"),
            ("revocation", "pass"),
            ("pins", "pass"),
            ("clients", "skipped"),
            ("ct", "skipped"),
        ]
        assert entry["checks"][4]["reason"] == f"matched {pin} (leaf)"
        subjects = [
            x509.load_pem_x509_certificate(pem.bytes()).subject.rfc4514_string()
            for pem in (leaf.cert_chain_pems[0], ca.cert_pem)
        ]
        assert entry["chain"] == [
            {"position": 0, "subject": subjects[0], "spki": pin, "served": True},
            {"position": 1, "subject": subjects[1], "spki": spki_pin(ca.cert_pem), "served": False},
        ]
        assert [entry[k] for k in ("starttls", "clients", "ct")] == [None, None, None]
        # trustme's leaf names no CRL or OCSP source: soft passes it silently as no-source
        assert entry["revocation"]["mode"] == "soft"
        assert entry["revocation"]["status"] == "good"
        assert [c["status"] for c in entry["revocation"]["certs"]] == ["no-source"]
        assert result.stderr == ""

    def test_no_progress_off_a_terminal(
        self, run: Run, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """Piped, verify writes no progress bar: stderr stays empty with many hosts."""
        port = closed_port()
        dial = f"connect_to = '127.0.0.1:{port}'\n"
        hosts = [host(f"s{i}.test", port, ANOTHER_KEY, extra=dial) for i in range(10)]
        write_pins(pins_path, *hosts, ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "--retries", "0"])
        assert result.exit_code == 3
        assert result.stderr == ""


@needs("curl")
class TestCurlCrossCheck:
    def test_reported_pins_are_what_curl_accepts(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """curl --pinnedpubkey accepts the leaf SPKI pin verify reports, and refuses another."""
        write_pins(
            pins_path,
            host("localhost", good.port, spki_pin(leaf.cert_chain_pems[0]), ANOTHER_KEY),
            ca=ca_pem,
        )
        doc = json.loads(run(["verify", "--pin-file", str(pins_path), "-o", "json"]).stdout)
        leaf_pin = doc["hosts"][0]["chain_spki"][0]
        assert leaf_pin.startswith("sha256/")
        url = f"https://localhost:{good.port}/"

        def curl(pinned: str) -> int:
            return subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "--noproxy",
                    "*",
                    "--max-time",
                    "5",
                    "--cacert",
                    str(ca_pem),
                    "--pinnedpubkey",
                    pinned,
                    url,
                ],
                check=False,
            ).returncode

        assert curl("sha256//" + leaf_pin.removeprefix("sha256/")) == 0
        assert curl("sha256//" + ANOTHER_KEY.removeprefix("sha256/")) == 90


NO_CHAIN_CHECK = "verify_chain = false\n"


@pytest.fixture(scope="module")
def genuine(ca: trustme.CA) -> trustme.LeafCert:
    """The real server's certificate: a leaf under an intermediate, served as leaf+intermediate."""
    return ca.create_child_ca().issue_cert("localhost")


@pytest.fixture(scope="module")
def attacker() -> trustme.LeafCert:
    """A man in the middle's own certificate for the same name, from a CA nobody trusts."""
    return trustme.CA().issue_cert("localhost")


def _mitm_chain(attacker: trustme.LeafCert, genuine: trustme.LeafCert, appended: str) -> bytes:
    """The attacker's leaf followed by copies of the genuine leaf and/or intermediate."""
    leaf, intermediate = genuine.cert_chain_pems
    copies = {"leaf": [leaf], "leaf+intermediate": [leaf, intermediate]}[appended]
    return b"".join(p.bytes() for p in [attacker.cert_chain_pems[0], *copies])


class TestUnvalidatedPins:
    """verify_chain = false: only the key the handshake proved, and the issuers that signed it."""

    @pytest.mark.parametrize(("appended", "pinned"), [("leaf", 0), ("leaf+intermediate", 1)])
    def test_appended_genuine_chain_is_a_mismatch(
        self,
        run: Run,
        pins_path: Path,
        genuine: trustme.LeafCert,
        attacker: trustme.LeafCert,
        appended: str,
        pinned: int,
    ) -> None:
        """A MITM leaf with the genuine leaf (and intermediate) appended fails the genuine pin."""
        chain = _mitm_chain(attacker, genuine, appended)
        ctx = pem_context(chain, attacker.private_key_pem.bytes())
        pinned_pin = spki_pin(genuine.cert_chain_pems[pinned])
        with tls_server(ctx) as server:
            write_pins(pins_path, host("localhost", server.port, pinned_pin, extra=NO_CHAIN_CHECK))
            result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        assert (result.exit_code, result.stderr) == (1, "")
        [entry] = hosts_json(result.stdout)
        assert (entry["status"], entry["ok"], entry["matched_pin"]) == ("pin-mismatch", False, None)
        assert entry["chain_spki"] == [spki_pin(attacker.cert_chain_pems[0])]

    def test_genuine_chain_passes_on_its_intermediate_pin(
        self, run: Run, pins_path: Path, genuine: trustme.LeafCert, tmp_path: Path
    ) -> None:
        """The twin: the genuine leaf+intermediate passes an intermediate pin, no CA needed."""
        stranger = tmp_path / "stranger.pem"
        trustme.CA().cert_pem.write_to_path(str(stranger))
        pinned_pin = spki_pin(genuine.cert_chain_pems[1])
        with tls_server(server_context(genuine)) as server:
            write_pins(
                pins_path,
                host("localhost", server.port, pinned_pin, ANOTHER_KEY, extra=NO_CHAIN_CHECK),
                ca=stranger,
            )
            result = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
        assert (result.exit_code, result.stderr) == (0, "")
        [entry] = hosts_json(result.stdout)
        assert (entry["status"], entry["matched_pin"]) == ("pass", pinned_pin)
        assert entry["chain_spki"] == [spki_pin(p) for p in genuine.cert_chain_pems]

    @pytest.mark.parametrize("appended", ["leaf", "leaf+intermediate"])
    def test_saved_chain_offline(
        self,
        run: Run,
        pins_path: Path,
        genuine: trustme.LeafCert,
        attacker: trustme.LeafCert,
        tmp_path: Path,
        appended: str,
    ) -> None:
        """--chain applies the same rule: the MITM chain fails, the genuine one passes."""
        saved = tmp_path / "chain.pem"
        port = closed_port()
        pins = [spki_pin(p) for p in genuine.cert_chain_pems]
        write_pins(pins_path, host("localhost", port, *pins, extra=NO_CHAIN_CHECK))
        saved.write_bytes(_mitm_chain(attacker, genuine, appended))
        mitm = run(["verify", "--pin-file", str(pins_path), "--chain", str(saved), "-o", "json"])
        assert (mitm.exit_code, hosts_json(mitm.stdout)[0]["status"]) == (1, "pin-mismatch")
        saved.write_bytes(b"".join(p.bytes() for p in genuine.cert_chain_pems))
        real = run(["verify", "--pin-file", str(pins_path), "--chain", str(saved), "-o", "json"])
        assert (real.exit_code, hosts_json(real.stdout)[0]["status"]) == (0, "pass")


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TestServerValidation:
    """verify and fetch judge a chain as a TLS client judges a server's, nothing looser."""

    @pytest.mark.parametrize(
        ("eku", "status", "code", "trusted"),
        [
            (ExtendedKeyUsageOID.CLIENT_AUTH, "untrusted", 1, False),
            (ExtendedKeyUsageOID.SERVER_AUTH, "pass", 0, True),
        ],
    )
    def test_intermediate_restricted_to_client_auth(
        self,
        run: Run,
        pins_path: Path,
        tmp_path: Path,
        eku: x509.ObjectIdentifier,
        status: str,
        code: int,
        trusted: bool,
    ) -> None:
        """An intermediate whose EKU allows only clientAuth is untrusted; serverAuth passes."""
        root, chain, key = client_only_pki([eku])
        ca_file = tmp_path / "root.pem"
        ca_file.write_bytes(_pem(root))
        leaf_pin = str(compute(spki_der(chain[0].public_key())))
        with tls_server(pem_context(_pem(*chain), _key_pem(key))) as server:
            dial = f"connect_to = '127.0.0.1:{server.port}'\n"
            write_pins(
                pins_path, host("example.test", 443, leaf_pin, ANOTHER_KEY, extra=dial), ca=ca_file
            )
            verified = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
            fetched = run(
                [
                    "fetch",
                    "example.test",
                    "--connect-to",
                    f"127.0.0.1:{server.port}",
                    "--ca-file",
                    str(ca_file),
                    "-o",
                    "json",
                ]
            )
        assert (verified.exit_code, verified.stderr) == (code, "")
        [entry] = hosts_json(verified.stdout)
        assert entry["status"] == status
        assert (fetched.exit_code, fetched.stderr) == (0, "")
        validation = json.loads(fetched.stdout)["sources"][0]["validation"]
        assert (validation["trusted"], validation["hostname_match"]) == (trusted, True)
        if not trusted:
            assert "does not allow TLS server authentication" in entry["error"]
            assert "CN=Intermediate" in validation["error"]

    def test_underscore_host_name_is_a_clean_failure(
        self, run: Run, pins_path: Path, tmp_path: Path
    ) -> None:
        """A name the verifier refuses (underscore) is a per-host failure, not an internal error."""
        root = issue("Root")
        leaf, key = issue("leaf", root, sans=["foo_bar.example.test"])
        ca_file = tmp_path / "root.pem"
        ca_file.write_bytes(_pem(root[0]))
        leaf_pin = str(compute(spki_der(leaf.public_key())))
        with tls_server(pem_context(_pem(leaf), _key_pem(key))) as server:
            dial = f"connect_to = '127.0.0.1:{server.port}'\n"
            write_pins(
                pins_path, host("foo_bar.example.test", 443, leaf_pin, extra=dial), ca=ca_file
            )
            verified = run(["verify", "--pin-file", str(pins_path), "-o", "json"])
            fetched = run(
                [
                    "fetch",
                    "foo_bar.example.test",
                    "ok.example.test",
                    "--connect-to",
                    f"127.0.0.1:{server.port}",
                    "--ca-file",
                    str(ca_file),
                    "-o",
                    "json",
                ]
            )
        assert (verified.exit_code, verified.stderr) == (1, "")
        [entry] = hosts_json(verified.stdout)
        assert entry["status"] == "untrusted"
        assert "name foo_bar.example.test is refused: not a valid DNS name" in entry["error"]
        assert "internal error" not in entry["error"]
        assert (fetched.exit_code, fetched.stderr) == (0, "")
        underscore, other = json.loads(fetched.stdout)["sources"]
        assert underscore["error"] is None
        assert underscore["validation"]["hostname_match"] is False
        assert "not a valid DNS name" in underscore["validation"]["error"]
        assert other["error"] is None, "the other target is still inspected"
        assert "name ok.example.test not in the certificate" in other["validation"]["error"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestOutput:
    def test_escape_sequences_in_subjects_are_neutralised(
        self, run: Run, ca: trustme.CA, pins_path: Path, ca_pem: Path
    ) -> None:
        """A subject carrying a terminal escape or a line break cannot forge log lines."""
        evil = ca.issue_cert("localhost", common_name="evil\x1b[2J\n::error::forged")
        with tls_server(server_context(evil)) as server:
            write_pins(pins_path, host("localhost", server.port, ANOTHER_KEY), ca=ca_pem)
            result = run(["verify", "--pin-file", str(pins_path)])
        assert result.exit_code == 1
        assert "\x1b" not in result.stdout
        assert not any(line.startswith("::") for line in result.stdout.splitlines())
        assert "CN=evil\\x1b[2J\\x0a::error::forged" in result.stdout

    def test_progress_only_on_a_terminal_and_for_many_hosts(self) -> None:
        """The bar is drawn on a terminal stderr for many hosts; never for a pipe or a few."""
        from pinctl.output.terminal import Sink
        from pinctl.output.verify import PROGRESS_MIN_HOSTS, progress
        from pinctl.pinfile.model import HostEntry
        from tests.support.hosts import host_result

        done = host_result(HostEntry("a.test"))

        def drawn(err: io.StringIO, total: int) -> str:
            with progress(Sink(io.StringIO(), err), total) as tick:
                for _ in range(total):
                    tick(done)
            return err.getvalue()

        assert drawn(_Terminal(), PROGRESS_MIN_HOSTS) != ""
        assert drawn(_Terminal(), PROGRESS_MIN_HOSTS - 1) == ""
        assert drawn(io.StringIO(), 100) == ""

    def test_terminal_table_shows_the_same_lines(
        self, run: Run, good: LoopbackServer, pins_path: Path, ca_pem: Path
    ) -> None:
        """On a terminal the report is the same text, coloured, and never wrapped."""
        from pinctl.output.terminal import Sink
        from pinctl.output.verify import render_table, report_lines
        from pinctl.pinfile import reader as pinfile
        from pinctl.pinfile.selection import select_hosts
        from pinctl.verify.run import VerifyOptions, verify

        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        pins = pinfile.load(pins_path)
        result = verify(pins, select_hosts(pins, []), VerifyOptions(), datetime.now(timezone.utc))
        out = _Terminal()
        render_table(result, Sink(out, io.StringIO()))
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
        assert plain.splitlines() == [line for line, _ in report_lines(result)]


class TestProxy:
    def test_verify_through_a_connect_proxy(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """--proxy tunnels each host through HTTP CONNECT, and HTTPS_PROXY does the same."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(pins_path, host("localhost", good.port, pin, ANOTHER_KEY), ca=ca_pem)
        with connect_proxy() as (url, log):
            flag = run(["verify", "--pin-file", str(pins_path), "--proxy", url])
            env = run(["verify", "--pin-file", str(pins_path)], env={"HTTPS_PROXY": url})
        assert (flag.exit_code, env.exit_code) == (0, 0)
        assert log.connects == [f"localhost:{good.port}"] * 2

    def test_refusing_proxy_is_not_a_pass(
        self, run: Run, good: LoopbackServer, leaf: trustme.LeafCert, pins_path: Path, ca_pem: Path
    ) -> None:
        """The twin: a proxy that refuses CONNECT leaves the host unchecked, exit 3."""
        pin = spki_pin(leaf.cert_chain_pems[0])
        write_pins(pins_path, host("localhost", good.port, pin, ANOTHER_KEY), ca=ca_pem)
        with connect_proxy(status=403) as (url, _):
            result = run(["verify", "--pin-file", str(pins_path), "--proxy", url, "-o", "json"])
        assert result.exit_code == 3
        assert "refused CONNECT" in str(hosts_json(result.stdout)[0]["error"])
        assert good.connections == 0

    def test_malformed_proxy_is_a_usage_error(
        self, run: Run, good: LoopbackServer, pins_path: Path, ca_pem: Path
    ) -> None:
        """A proxy URL that cannot work is exit 2 before any host is contacted."""
        write_pins(pins_path, host("localhost", good.port, ANOTHER_KEY), ca=ca_pem)
        result = run(["verify", "--pin-file", str(pins_path), "--proxy", "socks5://127.0.0.1:1"])
        assert result.exit_code == 2
        assert result.stderr.startswith("pinctl: error: --proxy")
        assert good.connections == 0
