"""What fetch and pin say about a certificate's validity, in the words a person reads."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.cli import Run
from tests.support.pty import run_on_pty
from tests.support.servers import server_context, tls_server


def _cert_file(tmp_path: Path, not_after: datetime.datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "days.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=90))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.parametrize(
    ("offset", "said"),
    [
        (datetime.timedelta(days=-3, hours=-12), "expired 3 days ago"),
        (datetime.timedelta(days=-1, hours=-2), "expired 1 day ago"),
        (datetime.timedelta(hours=-5), "expired less than a day ago"),
        (datetime.timedelta(days=3, hours=12), "3 days left"),
    ],
)
def test_days_are_whole_days_elapsed(
    run: Run, tmp_path: Path, offset: datetime.timedelta, said: str
) -> None:
    """A certificate that expired 3 days and 12 hours ago expired "3 days ago", not 4."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    result = run(["pin", str(_cert_file(tmp_path, now + offset))])
    assert result.exit_code == 0, result.stderr
    assert f"({said})" in result.stdout


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _screen(argv: list[str]) -> list[str]:
    """What `python -m pinctl ARGV` shows on a terminal, colours removed, one row per line."""
    raw = run_on_pty([sys.executable, "-m", "pinctl", *argv], [])
    return [_ANSI.sub("", line).rstrip() for line in raw.decode().replace("\r", "").splitlines()]


def _fields(screen: list[str]) -> dict[str, str]:
    """The indented field rows of a terminal table, by label."""
    rows = {}
    for line in screen:
        match = re.match(r"^ {2,}(\w[\w* ]*?) {2,}(\S.*)$", line)
        if match and line.startswith("    "):
            rows[match[1]] = match[2]
    return rows


def test_pin_on_a_terminal_shows_the_serial_indented(run: Run, tmp_path: Path) -> None:
    """On a terminal, `pin` shows every field the piped text shows (the serial included),
    indented under its entry's header line."""
    now = datetime.datetime.now(datetime.timezone.utc)
    path = _cert_file(tmp_path, now + datetime.timedelta(days=30))
    piped = run(["pin", str(path)]).stdout
    serial = re.search(r"serial +(\S+)", piped)
    assert serial is not None
    screen = _screen(["pin", str(path)])
    fields = _fields(screen)
    assert fields["serial"] == serial[1]
    assert {"issuer", "validity", "key", "signature", "spki", "cert"} <= set(fields)
    header = next(i for i, line in enumerate(screen) if "[0]" in line)
    assert all(line.startswith("    ") for line in screen[header + 1 : header + 4])
    assert screen[header].startswith("[0]")


def test_fetch_on_a_terminal_shows_the_serial_indented(ca: trustme.CA, tmp_path: Path) -> None:
    """The same for a live chain: each entry's serial, its fields indented under it."""
    leaf = ca.create_child_ca().issue_cert("127.0.0.1")
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with tls_server(server_context(leaf)) as srv:
        screen = _screen(["fetch", "--ca-file", str(ca_pem), srv.address])
    serials = [line for line in screen if re.match(r"^\s+serial\s", line)]
    assert len(serials) == 3
    assert all(line.startswith("    ") for line in serials)
