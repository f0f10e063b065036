"""The same miss is said the same way by every command (issue 13, item 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tests.support.cli import Run
from tests.support.servers import closed_port, server_context, tls_server

PIN = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="


@pytest.fixture
def many_hosts(tmp_path: Path) -> Path:
    """A pin file of twelve hosts, more than any message lists."""
    path = tmp_path / "pins.toml"
    body = "".join(
        f'[[hosts]]\nhost = "h{i}.test"\npins = [{{ pin = "{PIN}" }}]\n' for i in range(12)
    )
    path.write_text(f"version = 1\n{body}")
    return path


def test_an_unknown_host_is_worded_alike_by_verify_and_export(run: Run, many_hosts: Path) -> None:
    """verify and export name an unknown host with the same sentence and the same list."""
    verify = run(["verify", "--pin-file", str(many_hosts), "nope.test"])
    export = run(["export", "--format", "curl", "--pin-file", str(many_hosts), "nope.test"])
    assert (verify.exit_code, export.exit_code) == (2, 2)
    assert verify.stderr == export.stderr
    assert "h0.test:443" in verify.stderr
    assert "and 2 more" in verify.stderr


def test_a_missing_output_directory_is_worded_once(
    run: Run, many_hosts: Path, tmp_path: Path
) -> None:
    """--output-file, --save and --junit-xml in a missing directory: one wording, exit 2,
    before anything is contacted."""
    missing = tmp_path / "nodir"
    results = {
        "--output-file": run(
            ["export", "--format", "curl", "--pin-file", str(many_hosts), "h1.test",
             "--output-file", str(missing / "f")]
        ),
        "--save": run(["fetch", f"127.0.0.1:{closed_port()}", "--save", str(missing / "f")]),
        "--junit-xml": run(
            ["verify", "--pin-file", str(many_hosts), "--junit-xml", str(missing / "f")]
        ),
    }  # fmt: skip
    for option, result in results.items():
        assert (result.exit_code, result.stdout) == (2, ""), option
        assert result.stderr == (
            f"pinctl: error: {option} {missing / 'f'}: its directory does not exist; "
            "create it first\n"
        )


def test_add_to_an_existing_file_ends_with_what_it_did(
    run: Run, tmp_path: Path, ca: trustme.CA
) -> None:
    """The first add says it created the file; a later one says it updated it, and how."""
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    path = tmp_path / "pins.toml"
    with tls_server(server_context(ca.issue_cert("127.0.0.1"))) as server:
        args = ["add", "--pin-file", str(path), "--ca-file", str(ca_pem), server.address]
        first = run([*args, "--level", "leaf"])
        second = run([*args, "--level", "root"])
        third = run([*args, "--level", "root"])
    assert first.stderr == f"created {path}\n"
    assert second.stderr == f"updated {path}: 1 pin added\n"
    assert third.stderr == f"{path} is unchanged: every pin was already there\n"


def _on_terminal(argv: list[str]) -> str:
    import os
    import sys

    from tests.support.pty import converse_on_pty

    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    screen, code = converse_on_pty([sys.executable, "-m", "pinctl", *argv], [], env=env)
    assert code == 0, screen
    return screen.decode()


def test_every_terminal_table_has_the_same_style(tmp_path: Path, many_hosts: Path) -> None:
    """list and backup-keygen draw their tables alike on a terminal: column names over one
    rule, no frame or column bars to be copied along with a pin."""
    keys = tmp_path / "keys"
    shown = {
        "list": _on_terminal(["list", "--pin-file", str(many_hosts)]),
        "backup-keygen": _on_terminal(
            ["backup-keygen", "--no-encrypt", "--count", "1", "--out-dir", str(keys)]
        ),
    }
    for name, screen in shown.items():
        assert "─" in screen, name
        for frame in "│┃╭┏┌└╰":
            assert frame not in screen, (name, frame)
