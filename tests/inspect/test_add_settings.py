"""`pinctl add` on a host already in the pin file reaches it as recorded, and refuses one
host's connection setting for many TARGETs. Real loopback TLS servers, real pin files."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from pinctl.pinfile.reader import load
from tests.support.cli import Run
from tests.support.hosts import certs, spki
from tests.support.servers import server_context, tls_server


def _pin_file(tmp_path: Path, ca: trustme.CA, leaf: trustme.LeafCert, extra: str) -> Path:
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    pin = spki(certs(leaf.cert_chain_pems)[0])
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n[defaults]\nca_file = "ca.pem"\n\n[[hosts]]\nhost = "api.test"\n'
        f'{extra}pins = [{{ pin = "{pin}", level = "leaf" }}]\n'
    )
    return path


def test_add_uses_the_recorded_connect_to_and_servername(
    run: Run, tmp_path: Path, ca: trustme.CA
) -> None:
    """A host recorded with connect_to and servername is dialled there with that SNI name:
    `pinctl add api.test --level root` adds the root pin (api.test itself does not resolve)."""
    leaf = ca.issue_cert("internal.test")
    with tls_server(server_context(leaf)) as server:
        extra = f'servername = "internal.test"\nconnect_to = "{server.address}"\n'
        path = _pin_file(tmp_path, ca, leaf, extra)
        result = run(
            ["add", "--timeout", "5", "--pin-file", str(path), "--level", "root", "api.test"]
        )
        assert result.exit_code == 0, result.stderr
    host = load(path).find_host("api.test", 443)
    assert host is not None
    assert [p.level for p in host.pins] == ["leaf", "root"]
    assert (host.servername, host.connect_to) == ("internal.test", server.address)


def test_the_command_line_overrides_a_recorded_setting(
    run: Run, tmp_path: Path, ca: trustme.CA
) -> None:
    """The twin: --servername on the command line wins over the recorded one, and a wrong
    name is refused as a name mismatch (so the recorded name was what made it pass)."""
    leaf = ca.issue_cert("internal.test")
    with tls_server(server_context(leaf)) as server:
        extra = f'servername = "internal.test"\nconnect_to = "{server.address}"\n'
        path = _pin_file(tmp_path, ca, leaf, extra)
        before = path.read_text()
        result = run(
            [
                "add",
                "--timeout",
                "5",
                "--pin-file",
                str(path),
                "--servername",
                "other.test",
                "api.test",
            ]
        )
    assert result.exit_code == 2
    assert "refusing to pin a chain that fails validation" in result.stderr
    assert path.read_text() == before


def test_one_connect_to_for_several_targets_is_refused(run: Run, tmp_path: Path) -> None:
    """--connect-to (or --servername) with two TARGETs is a usage error before any dial."""
    path = tmp_path / "pins.toml"
    for option in ("--connect-to", "--servername"):
        result = run(["add", "--pin-file", str(path), option, "127.0.0.1:1", "a.test", "b.test"])
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"pinctl: error: {option} names one host's setting and would be recorded for all "
            f"2 TARGETs; add them one at a time: pinctl add {option} VALUE TARGET\n"
        )
    assert not path.exists()


@pytest.mark.parametrize("others", ["", '[[hosts]]\nhost = "other.test"\npins = []\n'])
def test_add_names_a_bad_ca_file_of_the_pin_file_by_its_line(
    run: Run, tmp_path: Path, ca: trustme.CA, others: str
) -> None:
    """A [defaults] ca_file that does not exist is named as pins.toml:LINE: ca_file, exit 2,
    not as the --ca-file option the user never gave; other hosts in the file change nothing."""
    path = tmp_path / "pins.toml"
    path.write_text('version = 1\n[defaults]\nca_file = "gone.pem"\n' + others)
    with tls_server(server_context(ca.issue_cert("127.0.0.1"))) as server:
        result = run(["add", "--timeout", "5", "--pin-file", str(path), server.address])
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: {path}:3: cannot read ca_file {tmp_path / 'gone.pem'}: "
        "No such file or directory; fix the path or the file\n"
    )
