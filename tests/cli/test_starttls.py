"""STARTTLS through the commands users run: fetch, add, verify and the pin file's keys,
against scripted loopback servers that speak each dialogue and then real TLS."""

from __future__ import annotations

import contextlib
import functools
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pinctl.net.starttls import PROTOCOLS
from pinctl.pinfile.model import STARTTLS_PROTOCOLS
from pinctl.pki.pins import compute
from tests.support import starttls as scripts
from tests.support.cli import Run
from tests.support.servers import LoopbackServer, server_context, tls_server


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "mail.test")


@pytest.fixture(scope="module")
def context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    return server_context(leaf)


@pytest.fixture
def pin(leaf: trustme.LeafCert) -> str:
    from cryptography import x509

    from pinctl.pki.entries import spki_der

    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return str(compute(spki_der(cert.public_key())))


def test_the_pin_file_knows_every_protocol() -> None:
    """The pin file accepts exactly the protocols the network layer speaks."""
    assert STARTTLS_PROTOCOLS == PROTOCOLS


def test_fetch_names_the_protocol_and_reports_the_dialogue(
    run: Run, context: ssl.SSLContext, ca_pem: Path
) -> None:
    """fetch smtp:// shows the protocol in the table and the starttls object in JSON."""
    with scripts.scripted(scripts.smtp, context) as server:
        url = f"smtp://localhost:{server.port}"
        table = run(["fetch", "--ca-file", str(ca_pem), url])
        document = run(["fetch", "-o", "json", "--ca-file", str(ca_pem), url])
    assert table.exit_code == 0, table.stderr
    assert f"localhost:{server.port}  STARTTLS smtp  TLSv1." in table.stdout
    assert "trusted, hostname matches" in table.stdout
    (source,) = json.loads(document.stdout)["sources"]
    assert source["starttls"] == {
        "protocol": "smtp",
        "name": "localhost",
        "greeting": "220-mail.test ESMTP scripted",
    }


def test_fetch_of_a_refusal_exits_3_naming_the_answer(run: Run, context: ssl.SSLContext) -> None:
    """A 454 to STARTTLS is a failed target (exit 3) whose message quotes the server."""
    script = functools.partial(scripts.smtp, answer=b"454 4.7.0 TLS not available")
    with scripts.scripted(script, context) as server:
        result = run(["fetch", "--starttls", "smtp", f"localhost:{server.port}"])
    assert result.exit_code == 3
    assert "pinctl: error: " in result.stderr
    assert "refused STARTTLS: '454 4.7.0 TLS not available'" in result.stderr
    assert "Traceback" not in result.stderr


def test_direct_tls_json_has_null_starttls(run: Run, context: ssl.SSLContext, ca_pem: Path) -> None:
    """The twin: a TLS-first server's source has starttls null."""
    with tls_server(context) as server:
        result = run(["fetch", "-o", "json", "--ca-file", str(ca_pem), f"localhost:{server.port}"])
    assert json.loads(result.stdout)["sources"][0]["starttls"] is None


def test_add_records_starttls_and_verify_speaks_it(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """add imap:// writes starttls = "imap"; verify then passes through the same dialogue."""
    pins = tmp_path / "pins.toml"
    with scripts.scripted(scripts.imap, context) as server:
        added = run(
            ["add", "--pin-file", str(pins), "--ca-file", str(ca_pem), "--level", "leaf",
             f"imap://localhost:{server.port}"]
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
        assert 'starttls = "imap"' in pins.read_text()
        assert pin in pins.read_text()
        checked = run(["verify", "--pin-file", str(pins), "-o", "json"])
    assert checked.exit_code == 0, checked.stdout
    (host,) = json.loads(checked.stdout)["hosts"]
    assert host["status"] == "pass"
    assert host["starttls"]["protocol"] == "imap"
    assert host["starttls"]["greeting"] == "* OK IMAP4rev1 scripted ready"


def _pin_file(tmp_path: Path, ca_pem: Path, hosts: list[tuple[int, str | None]], pin: str) -> Path:
    path = tmp_path / "pins.toml"
    text = f'version = 1\n\n[defaults]\nca_file = "{ca_pem}"\n'
    for port, protocol in hosts:
        text += f'\n[[hosts]]\nhost = "localhost"\nport = {port}\n'
        if protocol is not None:
            text += f'starttls = "{protocol}"\n'
        text += f'pins = [{{ pin = "{pin}" }}, {{ pin = "{compute(b"backup")}", backup = true }}]\n'
    path.write_text(text)
    return path


def test_verify_fails_a_host_that_stopped_offering_starttls(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """A pinned SMTP host without STARTTLS is a downgrade: starttls-unsupported, exit 1."""
    script = functools.partial(scripts.smtp, offer=False)
    with scripts.scripted(script, context) as server:
        pins = _pin_file(tmp_path, ca_pem, [(server.port, "smtp")], pin)
        result = run(["verify", "--pin-file", str(pins), "-o", "json"])
    assert result.exit_code == 1
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["status"] == "starttls-unsupported"
    assert "does not offer STARTTLS" in host["error"]
    assert host["checks"][0] == {
        "check": "connect",
        "result": "fail",
        "reason": host["error"],
    }
    assert host["starttls"] == {"protocol": "smtp", "name": "localhost", "greeting": None}


def test_verify_starttls_option_overrides_the_pin_file(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """--starttls pop3 speaks POP3 to a host the pin file lists without a dialogue; without
    the option the same host is spoken TLS to, and fails."""
    with scripts.scripted(scripts.pop3, context) as server:
        pins = _pin_file(tmp_path, ca_pem, [(server.port, None)], pin)
        spoken = run(["verify", "--pin-file", str(pins), "--starttls", "pop3"])
        direct = run(["verify", "--pin-file", str(pins), "--timeout", "1"])
    assert spoken.exit_code == 0, spoken.stdout
    assert "STARTTLS pop3" in spoken.stdout
    assert direct.exit_code == 3


def test_a_bad_starttls_value_names_the_line(run: Run, tmp_path: Path) -> None:
    """starttls = "smtps" is a pin-file error on its line, exit 2, nothing contacted."""
    pins = tmp_path / "pins.toml"
    pins.write_text(
        f'version = 1\n[[hosts]]\nhost = "mail.test"\nstarttls = "smtps"\n'
        f'pins = [{{ pin = "{compute(b"k")}" }}]\n'
    )
    result = run(["verify", "--pin-file", str(pins)])
    assert result.exit_code == 2
    assert ":4:" in result.stderr
    assert "starttls must be one of" in result.stderr


@contextlib.contextmanager
def _together(
    script: scripts.Script, context: ssl.SSLContext, barrier: threading.Barrier
) -> Iterator[LoopbackServer]:
    """A server that says nothing until every host of the run has connected."""

    def waiting(peer: scripts.Peer) -> None:
        barrier.wait(timeout=10)
        script(peer)

    with scripts.scripted(waiting, context) as server:
        yield server


def test_verify_checks_mixed_hosts_concurrently(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """HTTPS, SMTP, IMAP and PostgreSQL hosts in one pin file pass together; each server
    answers only once all four are connected, so checking them one by one would time out."""
    barrier = threading.Barrier(4)

    def https(peer: scripts.Peer) -> None:
        peer.go_ahead()

    with (
        _together(https, context, barrier) as web,
        _together(scripts.smtp, context, barrier) as mail,
        _together(scripts.imap, context, barrier) as imap,
        _together(scripts.postgres, context, barrier) as db,
    ):
        hosts = [(web.port, None), (mail.port, "smtp"), (imap.port, "imap"), (db.port, "postgres")]
        pins = _pin_file(tmp_path, ca_pem, hosts, pin)
        result = run(["verify", "--pin-file", str(pins), "-o", "json", "--timeout", "5"])
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert [h["status"] for h in document["hosts"]] == ["pass"] * 4
    assert [h["starttls"] and h["starttls"]["protocol"] for h in document["hosts"]] == [
        None, "smtp", "imap", "postgres"
    ]  # fmt: skip


def test_add_sets_starttls_on_a_host_already_pinned(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """A host first pinned without a dialogue gains starttls when added again through one,
    its comments and other keys kept."""
    with scripts.scripted(scripts.smtp, context) as server:
        pins = tmp_path / "pins.toml"
        pins.write_text(
            f'version = 1\n\n[[hosts]]\nhost = "localhost"  # relay\nport = {server.port}\n'
            f'pins = [{{ pin = "{compute(b"old")}" }}]\n'
        )
        added = run(
            ["add", "--pin-file", str(pins), "--ca-file", str(ca_pem), "--level", "leaf",
             "--starttls-name", "client.example.org", f"smtp://localhost:{server.port}"]
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
        checked = run(["verify", "--pin-file", str(pins), "-o", "json"])
    text = pins.read_text()
    assert 'host = "localhost"  # relay' in text
    assert 'starttls = "smtp"' in text
    assert 'starttls_name = "client.example.org"' in text
    assert pin in text
    assert checked.exit_code == 0, checked.stdout
    (host,) = json.loads(checked.stdout)["hosts"]
    assert host["starttls"]["name"] == "client.example.org"


def test_a_bad_starttls_name_names_the_line(run: Run, tmp_path: Path) -> None:
    """starttls_name must be a host name; anything else is exit 2 naming its line."""
    pins = tmp_path / "pins.toml"
    pins.write_text(
        f'version = 1\n[[hosts]]\nhost = "mail.test"\nstarttls = "smtp"\n'
        f'starttls_name = "not a name"\npins = [{{ pin = "{compute(b"k")}" }}]\n'
    )
    result = run(["verify", "--pin-file", str(pins)])
    assert result.exit_code == 2
    assert ":5:" in result.stderr
    assert "starttls_name must be" in result.stderr


def test_unknown_starttls_option_is_a_usage_error(run: Run) -> None:
    """--starttls smtps lists the protocols pinctl speaks."""
    result = run(["fetch", "--starttls", "smtps", "mail.test"])
    assert result.exit_code == 2
    assert "smtp" in result.stderr
    assert "postgres" in result.stderr


def test_plan_speaks_the_dialogue(
    run: Run, context: ssl.SSLContext, ca_pem: Path, tmp_path: Path, pin: str
) -> None:
    """plan --starttls smtp reaches a host the pin file lists without a dialogue; plan
    without it cannot (exit 3), as verify."""
    with scripts.scripted(scripts.smtp, context) as server:
        pins = _pin_file(tmp_path, ca_pem, [(server.port, None)], pin)
        spoken = run(["plan", "--pin-file", str(pins), "--starttls", "smtp", "-o", "json"])
        direct = run(["plan", "--pin-file", str(pins), "-o", "json", "--timeout", "1"])
    assert spoken.exit_code in (0, 1), spoken.stderr
    (host,) = json.loads(spoken.stdout)["hosts"]
    assert host["status"] == "pass"
    assert direct.exit_code == 3
    assert json.loads(direct.stdout)["hosts"][0]["status"] == "tls-error"
