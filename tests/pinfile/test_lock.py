"""One writer at a time: concurrent edits of one pin file queue, and none is ever lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pinctl.errors import ExitCode, InputError, PinFileError
from pinctl.pinfile import lock
from pinctl.pinfile.edit import transaction
from pinctl.pinfile.model import PinEntry
from pinctl.pinfile.reader import load
from tests.support.pinfiles import COMMENTED, LEAF, NEW
from tests.support.privileges import unprivileged

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    """This checkout first on the path, and the test session's own settings (its resolver
    guard among them), read when the child starts, not when this module was imported."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


HOLDER = """\
import sys
from pathlib import Path
from pinctl.pinfile.lock import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def commented(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    return path


@pytest.fixture
def holder(commented: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the pin file's lock until its stdin is closed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(commented)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"
    yield process
    release(process)


def release(process: subprocess.Popen[str]) -> None:
    process.communicate(timeout=30)


def test_a_held_lock_makes_a_writer_wait_then_fail_naming_the_holder(
    commented: Path, holder: subprocess.Popen[str]
) -> None:
    """While another process edits, a writer waits its bounded time, then exits 2 naming it."""
    with pytest.raises(PinFileError) as caught, transaction(commented, lock_wait=0.2):
        pass
    message = str(caught.value)
    assert f"{commented} is being edited by another pinctl run (pid {holder.pid})" in message
    assert "waited 0.2 s for it: let it finish, then run the command again" in message
    assert caught.value.exit_code == ExitCode.USAGE
    assert commented.read_text() == COMMENTED


def test_a_released_lock_lets_the_writer_in(commented: Path, holder: subprocess.Popen[str]) -> None:
    """Failing twin: once the holder is done, the same edit goes through."""
    release(holder)
    with transaction(commented, lock_wait=0.2) as edit:
        edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
    assert NEW in [p.pin for p in load(commented).hosts[0].pins]


def test_the_cli_refuses_with_one_line_and_a_dry_run_needs_no_lock(
    run: Any, commented: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`remove` behind a held lock exits 2 with one line naming the holder; --dry-run works."""
    monkeypatch.setattr(lock, "WAIT", 0.2)
    args = ["remove", "api.example.com", "--pin", LEAF, "--pin-file", str(commented)]
    result = run(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: ")
    assert f"(pid {holder.pid})" in result.stderr
    assert result.stderr.count("\n") == 1
    dry = run([*args, "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith(f"- api.example.com:443 {LEAF}")
    assert commented.read_text() == COMMENTED


def test_backup_keygen_behind_a_held_lock_leaves_no_keys(
    run: Any,
    tmp_path: Path,
    commented: Path,
    holder: subprocess.Popen[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """backup-keygen --host that cannot record its pins removes its keys and exits 2."""
    monkeypatch.setattr(lock, "WAIT", 0.2)
    keys = tmp_path / "keys"
    result = run([
        "backup-keygen", "--no-encrypt", "--count", "1", "--out-dir", str(keys),
        "--host", "api.example.com", "--pin-file", str(commented),
    ])  # fmt: skip
    assert result.exit_code == 2
    assert f"(pid {holder.pid})" in result.stderr
    assert "removed the 2 files this run had written" in result.stderr
    assert not keys.exists()  # the directory it made is gone too
    assert commented.read_text() == COMMENTED


def test_the_lock_file_stays_with_mode_0644(commented: Path) -> None:
    """The sidecar lock is created 0644 beside the pin file and survives the edit's rename."""
    old = os.umask(0o077)
    try:
        with transaction(commented) as edit:
            edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
    finally:
        os.umask(old)
    sidecar = commented.parent / ".pins.toml.lock"
    assert oct(sidecar.stat().st_mode & 0o777) == "0o644"
    assert sidecar.read_text() == ""  # a finished run is no holder
    assert lock.lock_path(commented) == sidecar


def test_stale_temporary_files_of_this_pin_file_are_removed(commented: Path) -> None:
    """Temporary files a killed run left beside the pin file go; anything else stays, a
    symbolic link with their name too."""
    directory = commented.parent
    stale = directory / ".pins.toml.a1b2_c3d.tmp"
    others = [
        directory / ".other.toml.a1b2c3d4.tmp",
        directory / ".pins.toml.short.tmp",
        directory / "pins.toml.a1b2c3d4.tmp",
        directory / ".pins.toml.a1b2c3d4.tmp.keep",
    ]
    for path in (stale, *others):
        path.write_text("half a pin file")
    link = directory / ".pins.toml.b1b2c3d4.tmp"  # the pattern, but pinctl never made a link
    link.symlink_to(others[0])
    with transaction(commented, dry_run=True):
        pass
    assert stale.exists()  # a dry run takes no lock, so it cannot know nobody is writing
    with transaction(commented):
        pass
    assert not stale.exists()
    assert all(path.exists() for path in others)
    assert link.is_symlink()


def test_stale_temporaries_of_a_long_file_name_are_found_by_its_cut_name(tmp_path: Path) -> None:
    """A pin file name of 240 characters: write_atomic names its temporary after the first
    200 (so the name stays legal), and that is the name the cleanup looks for."""
    from pinctl.files import write_atomic

    path = tmp_path / ("p" * 235 + ".toml")
    write_atomic(path, COMMENTED.encode())
    stale = tmp_path / f".{path.name[:200]}.a1b2c3d4.tmp"
    other = tmp_path / f".{path.name[:201]}.a1b2c3d4.tmp"
    for left in (stale, other):
        left.write_text("half a pin file")
    with transaction(path):
        pass
    assert not stale.exists()
    assert other.exists(), "not a name write_atomic makes"


WRITER = """\
import json, os, sys
from pathlib import Path
from pinctl.cli import _run
from pinctl.pinfile.edit import transaction
from pinctl.pinfile.model import PinEntry
from pinctl.pki.pins import compute

pin_file, kind, worker, rounds, out = sys.argv[1:]
pin_file, out = Path(pin_file), Path(out)
print("ready", flush=True)
sys.stdin.readline()
sys.stdout = open(os.devnull, "w")
present, absent, codes = [], [], []
for n in range(int(rounds)):
    pin = compute(f"{worker}-{n}".encode())
    if kind == "add":
        with transaction(pin_file) as edit:
            edit.add_pins("shared.test", 443, [PinEntry(pin, note=f"w{worker}")])
        present.append(str(pin))
    elif kind == "remove":
        with transaction(pin_file) as edit:
            edit.add_pins("shared.test", 443, [PinEntry(pin)])
        args = ["remove", "shared.test", "--pin", str(pin), "--pin-file", str(pin_file)]
        codes.append(_run(args, False))
        absent.append(str(pin))
    else:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        from pinctl.pki.entries import spki_der

        keys = out.parent / f"keys-{worker}"
        codes.append(_run([
            "backup-keygen", "--no-encrypt", "--count", "1", "--prefix", f"r{n}",
            "--out-dir", str(keys), "--host", "shared.test", "--pin-file", str(pin_file),
        ], False))
        key = load_pem_public_key((keys / f"r{n}-1.pub.pem").read_bytes())
        present.append(str(compute(spki_der(key))))
out.write_text(json.dumps({"present": present, "absent": absent, "codes": codes}))
"""
KINDS = ["add", "remove", "keygen", "add", "remove", "keygen", "add", "remove"]
ROUNDS = 50


def test_eight_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    """8 processes adding, removing and recording backup pins on one new pin file, 50 rounds
    in all: every run exits 0 and every change is in the file."""
    path = tmp_path / "pins.toml"
    writers = []
    for worker, kind in enumerate(KINDS):
        rounds = ROUNDS // len(KINDS) + (worker < ROUNDS % len(KINDS))
        out = tmp_path / f"result-{worker}.json"
        argv = [sys.executable, "-c", WRITER, str(path), kind, str(worker), str(rounds), str(out)]
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        writers.append((process, out))
    for process, _ in writers:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process, _ in writers:  # all start editing together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process, _ in writers:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors
    results = [json.loads(out.read_text()) for _, out in writers]
    assert sum(len(r["present"]) + len(r["absent"]) for r in results) == ROUNDS
    assert [code for r in results for code in r["codes"]] == [0] * sum(
        len(r["codes"]) for r in results
    )
    (host,) = load(path).hosts
    pinned = sorted(str(p.pin) for p in host.pins)
    assert pinned == sorted(pin for r in results for pin in r["present"])
    assert not {pin for r in results for pin in r["absent"]} & set(pinned)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [
        ".pins.toml.lock"
    ]


def test_a_pin_file_in_a_missing_directory_is_named_not_the_lock(tmp_path: Path) -> None:
    """Without its directory, remove and amend (promote's edit) say there is no pin file,
    and add cannot write it."""
    path = tmp_path / "nope" / "pins.toml"
    with pytest.raises(PinFileError, match="no pin file at"), transaction(path) as edit:
        edit.remove("a.test")
    with pytest.raises(PinFileError, match="no pin file at"), transaction(path) as edit:
        edit.amend_pins("a.test", 443, {NEW: {"backup": False}})
    with (
        pytest.raises(InputError, match=r"cannot write .*: No such file or directory"),
        transaction(path) as edit,
    ):
        edit.add_pins("a.test", 443, [PinEntry(NEW)])
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("kind", ["directory", "dangling symlink"])
def test_a_lock_file_that_cannot_be_opened_is_a_clean_refusal(commented: Path, kind: str) -> None:
    """Something else sits where the lock file goes: the edit is refused naming the lock
    file and the reason, exit 2, and the pin file is unchanged (the twin above edits)."""
    sidecar = commented.parent / ".pins.toml.lock"
    if kind == "directory":
        sidecar.mkdir()
    else:
        sidecar.symlink_to(commented.parent / "elsewhere")
    with pytest.raises(PinFileError) as refused, transaction(commented) as edit:
        edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
    assert str(refused.value).startswith(f"cannot lock {commented} for editing: {sidecar}: ")
    assert "beside the pin file" in str(refused.value)
    assert refused.value.exit_code == ExitCode.USAGE
    assert commented.read_text() == COMMENTED


def test_a_directory_where_the_lock_file_cannot_be_created_is_a_clean_refusal(
    commented: Path,
) -> None:
    """A pin file in a directory this user may read but not write (and no lock file there
    yet): the lock file cannot be created, so the edit is refused naming it and the reason,
    exit 2, before any other work; the pin file is unchanged."""
    sidecar = commented.parent / ".pins.toml.lock"
    argv = [sys.executable, "-m", "pinctl", "remove", "pay.example.com", "--port", "8443"]
    commented.parent.chmod(0o555)
    try:
        done = subprocess.run(
            unprivileged([*argv, "--pin-file", str(commented)]),
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=60,
            env=child_env(),
        )  # fmt: skip
    finally:
        commented.parent.chmod(0o755)
    assert (done.returncode, done.stderr) == (
        2,
        f"pinctl: error: cannot lock {commented} for editing: {sidecar}: Permission denied; "
        "pinctl needs to create that file beside the pin file\n",
    )
    assert commented.read_text() == COMMENTED
    assert not sidecar.exists()


@pytest.mark.parametrize(("mode", "refused"), [(0o444, False), (0o000, True)])
def test_another_users_lock_file_locks_read_only_or_is_refused(
    commented: Path, mode: int, refused: bool
) -> None:
    """A lock file this user may only read (another user's, mode 0444) still locks, through
    a read-only descriptor, and the edit is made; one it may not even read (0000) is
    refused naming the lock file, exit 2, with the pin file unchanged."""
    sidecar = commented.parent / ".pins.toml.lock"
    sidecar.touch()
    sidecar.chmod(mode)
    argv = [sys.executable, "-m", "pinctl", "remove", "pay.example.com", "--port", "8443"]
    done = subprocess.run(
        unprivileged([*argv, "--pin-file", str(commented)]),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env=child_env(),
    )
    if refused:
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            f"pinctl: error: cannot lock {commented} for editing: {sidecar}: Permission denied; "
            "pinctl needs to create that file beside the pin file\n"
        )
        assert commented.read_text() == COMMENTED
    else:
        assert done.returncode == 0, done.stderr
        assert "pay.example.com" not in commented.read_text()
