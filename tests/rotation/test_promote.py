"""`pinctl promote`: the emergency switch, its refusals (file untouched) and its edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.pinfile.reader import load
from pinctl.pki.pins import compute
from tests.support.cli import Run
from tests.support.rotation import RotatingHost, pin_of
from tests.support.servers import LoopbackServer, closed_port

OLD = str(compute(b"the key before the incident"))


def pin_file(tmp_path: Path, port: int, root: Path, site: RotatingHost, **backup: bool) -> Path:
    """Leaf pin, an old pin, and the live leaf recorded as a backup when asked."""
    assert site.leaf is not None
    live = pin_of(site.leaf)
    flag = str(backup.get("live", True)).lower()
    text = (
        f'version = 1\n\n[defaults]\nca_file = "{root}"\n\n'
        f'[[hosts]]\nhost = "localhost"\nport = {port}\npins = [\n'
        f'  {{ pin = "{OLD}", note = "2025 key" }},  # the old key\n'
        f'  {{ pin = "{live}", backup = {flag}, note = "keys/b-1.key.pem" }},\n'
        "]\n"
    )
    path = tmp_path / "pins.toml"
    path.write_text(text)
    return path


def test_promote_and_retire(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """A backup the server presents becomes the live pin, dated; --retire retires the old;
    comments stay, and the next commands are printed."""
    assert site.leaf is not None
    live = pin_of(site.leaf)
    path = pin_file(tmp_path, server.port, root_pem, site)
    done = run(["promote", "localhost", "--pin", live, "--retire", OLD, "--pin-file", str(path)])
    assert done.exit_code == 0, done.stderr
    assert f"~ localhost:{server.port} {live} promoted" in done.stdout
    assert f"~ localhost:{server.port} {OLD} retired" in done.stdout
    assert f"pinctl backup-keygen --host localhost:{server.port}" in done.stdout
    assert "# the old key" in path.read_text()
    [host] = load(path).hosts
    old, new = host.pins
    assert (old.retired, new.backup) == (True, False)
    assert new.note is not None
    assert new.note.startswith("keys/b-1.key.pem promoted 20")
    verified = run(["verify", "--pin-file", str(path)])
    assert verified.exit_code == 0, verified.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nothere", "--pin", "{live}"], "host 'nothere' is not in"),
        (["localhost", "--pin", OLD], "is not a backup"),
        (["localhost", "--pin", str(compute(b"unknown"))], "is not pinned for"),
        (["localhost", "--pin", "{live}", "--retire", str(compute(b"x"))], "--retire"),
        (["localhost", "--pin", "sha256/short"], "pin"),
    ],
)
def test_refusals_leave_the_file(
    run: Run,
    tmp_path: Path,
    site: RotatingHost,
    server: LoopbackServer,
    root_pem: Path,
    args: list[str],
    words: str,
) -> None:
    """Unknown host or pin, a pin that is no backup: one error line, exit 2, file as it was."""
    assert site.leaf is not None
    path = pin_file(tmp_path, server.port, root_pem, site)
    before = path.read_bytes()
    given = [a.replace("{live}", pin_of(site.leaf)) for a in args]
    done = run(["promote", *given, "--pin-file", str(path)])
    assert done.exit_code == 2
    assert words in done.stderr
    assert done.stderr.count("\n") == 1
    assert path.read_bytes() == before


def test_a_backup_not_served_is_refused_unless_forced(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """Promoting a key the server does not present is refused (exit 2); --force does it."""
    path = pin_file(tmp_path, server.port, root_pem, site)
    spare = str(compute(b"spare key offline"))
    text = path.read_text().removesuffix("]\n")
    path.write_text(text + f'  {{ pin = "{spare}", backup = true }},\n]\n')
    before = path.read_bytes()
    done = run(["promote", "localhost", "--pin", spare, "--pin-file", str(path)])
    assert done.exit_code == 2
    assert "does not present" in done.stderr
    assert path.read_bytes() == before
    dry = run(
        ["promote", "localhost", "--pin", spare, "--force", "--dry-run", "--pin-file", str(path)]
    )
    assert dry.exit_code == 0
    assert path.read_bytes() == before
    forced = run(["promote", "localhost", "--pin", spare, "--force", "--pin-file", str(path)])
    assert forced.exit_code == 0
    assert path.read_bytes() != before


def test_unreachable_server_exits_3(
    run: Run, tmp_path: Path, site: RotatingHost, root_pem: Path
) -> None:
    """The server cannot be reached: exit 3, the file untouched."""
    assert site.leaf is not None
    path = pin_file(tmp_path, closed_port(), root_pem, site)
    before = path.read_bytes()
    done = run(["promote", "localhost", "--pin", pin_of(site.leaf), "--pin-file", str(path)])
    assert done.exit_code == 3
    assert path.read_bytes() == before


def test_offline_chain(run: Run, tmp_path: Path, site: RotatingHost, root_pem: Path) -> None:
    """--chain stands for the server: the saved chain must present the backup."""
    assert site.leaf is not None
    saved = site.save_chain(tmp_path / "chain.pem")
    path = pin_file(tmp_path, closed_port(), root_pem, site)
    done = run(
        [
            "promote",
            "localhost",
            "--pin",
            pin_of(site.leaf),
            "--chain",
            str(saved),
            "--pin-file",
            str(path),
        ]
    )
    assert done.exit_code == 0, done.stderr
