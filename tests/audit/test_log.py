"""The audit log (SPEC.md section 11): one chained line per change, never a line without
its change nor a change without its line, whichever write fails or is cut short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pinctl.audit import log
from pinctl.errors import InputError
from tests.support.cli import Run

PIN_FILE = (
    'version = 1\n\n[defaults]\naudit_log = "audit.jsonl"\n\n'
    '# the API\n[[hosts]]\nhost = "api.example.com"\npins = []\n'
)


def public_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(PIN_FILE)
    return path


def add(run: Run, pins: Path, key: Path, *extra: str) -> Any:
    return run(["add", "api.example.com", "--from", str(key), "--pin-file", str(pins), *extra])


def lines(pins: Path) -> list[dict[str, Any]]:
    audit = pins.parent / "audit.jsonl"
    if not audit.exists():
        return []
    return [json.loads(raw) for raw in audit.read_text().splitlines()]


class TestLines:
    def test_each_change_is_one_chained_line(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """Two adds: two lines, hashes of the file before and after, chained by prev."""
        before = pins.read_bytes()
        assert add(run, pins, public_key(tmp_path / "a.pem")).exit_code == 0
        middle = pins.read_bytes()
        assert add(run, pins, public_key(tmp_path / "b.pem"), "--backup").exit_code == 0
        first, second = lines(pins)
        assert first["before_sha256"] == log.sha256(before)
        assert first["after_sha256"] == second["before_sha256"] == log.sha256(middle)
        assert second["after_sha256"] == log.sha256(pins.read_bytes())
        assert first["prev"] is None
        raw = (tmp_path / "audit.jsonl").read_bytes().split(b"\n")[0] + b"\n"
        assert second["prev"] == log.sha256(raw)
        assert [c["action"] for c in second["changes"]] == ["add-pin"]
        assert second["changes"][0]["fields"]["backup"] is True
        assert first["command"][:2] == ["pinctl", "add"]
        assert first["pin_file"] == "pins.toml"
        done = run(["audit", "--verify", "--pin-file", str(pins)])
        assert done.exit_code == 0, done.stderr

    def test_no_op_and_dry_run_write_no_line(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """Adding a pin already there, or a dry run, records nothing; the twin records one."""
        key = public_key(tmp_path / "a.pem")
        assert add(run, pins, key, "--dry-run").exit_code == 0
        assert lines(pins) == []
        assert add(run, pins, key).exit_code == 0
        assert add(run, pins, key).exit_code == 0
        assert len(lines(pins)) == 1

    def test_no_passphrase_is_recorded(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """backup-keygen's passphrase options and values never reach the log."""
        secret = tmp_path / "pass.txt"
        secret.write_text("correct horse battery staple\n")
        done = run(
            [
                "backup-keygen", "--host", "api.example.com", "--pin-file", str(pins),
                "--out-dir", str(tmp_path / "keys"), "--passphrase-file", str(secret),
                "--count", "1",
            ]
        )  # fmt: skip
        assert done.exit_code == 0, done.stderr
        [line] = lines(pins)
        text = (tmp_path / "audit.jsonl").read_text()
        assert "--passphrase-file" not in text
        assert str(secret) not in text
        assert "correct horse" not in text
        assert line["command"][:2] == ["pinctl", "backup-keygen"]
        assert line["changes"][0]["fields"]["note"] == "keys/backup-1.key.pem"

    def test_audit_log_option_and_env(self, run: Run, tmp_path: Path) -> None:
        """--audit-log and $PINCTL_AUDIT_LOG choose the log when the pin file names none."""
        pins = tmp_path / "pins.toml"
        chosen = tmp_path / "elsewhere.jsonl"
        key = public_key(tmp_path / "a.pem")
        done = run(
            ["add", "api.example.com", "--from", str(key), "--pin-file", str(pins)],
            env={"PINCTL_AUDIT_LOG": str(chosen)},
        )
        assert done.exit_code == 0, done.stderr
        [line] = [json.loads(x) for x in chosen.read_text().splitlines()]
        assert line["before_sha256"] is None  # the pin file did not exist
        assert [c["action"] for c in line["changes"]] == ["add-host", "add-pin"]
        shown = run(["audit", "--audit-log", str(chosen)])
        assert "add-host api.example.com:443" in shown.stdout


class TestFailures:
    """A failure injected at each write leaves the file and the log agreeing."""

    @pytest.mark.parametrize("where", ["marker", "append", "rename"])
    def test_a_failed_write_leaves_neither(
        self, run: Run, tmp_path: Path, pins: Path, monkeypatch: pytest.MonkeyPatch, where: str
    ) -> None:
        """Whichever write fails, the pin file is unchanged and no line describes it."""
        assert add(run, pins, public_key(tmp_path / "a.pem")).exit_code == 0
        before, logged = pins.read_bytes(), (tmp_path / "audit.jsonl").read_bytes()

        def fail(*args: object, **kwargs: object) -> None:
            raise InputError(f"injected failure at the {where} write")

        target = {
            "marker": ("pinctl.audit.log.write_atomic", fail),
            "append": (
                "pinctl.audit.log.os.write",
                lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")),
            ),
            "rename": ("pinctl.pinfile.edit.write_atomic", fail),
        }[where]
        monkeypatch.setattr(*target)
        done = add(run, pins, public_key(tmp_path / "b.pem"))
        monkeypatch.undo()
        assert done.exit_code == 2
        assert done.stderr.startswith("pinctl: error: ")
        assert pins.read_bytes() == before
        assert (tmp_path / "audit.jsonl").read_bytes() == logged
        assert not log.pending_path(tmp_path / "audit.jsonl").exists()
        assert run(["audit", "--verify", "--pin-file", str(pins)]).exit_code == 0

    @pytest.mark.parametrize(
        ("hook", "kept"),
        [("pinctl.pinfile.edit.write_atomic", False), ("pinctl.audit.log._clear", True)],
    )
    def test_a_killed_run_is_settled_by_the_next(
        self, run: Run, tmp_path: Path, pins: Path, hook: str, kept: bool
    ) -> None:
        """A run killed between its line and its rename leaves a line the next run cuts
        off; killed after the rename, its line stays. Either way the log then verifies."""
        key = public_key(tmp_path / "a.pem")
        before = pins.read_bytes()
        module, name = hook.rsplit(".", 1)
        code = (
            "import importlib, os, sys\n"
            f"m = importlib.import_module({module!r})\n"
            "def killed(*a, **k):\n"
            "    os._exit(9)\n"
            f"m.{name} = killed\n"
            "from pinctl.cli import main\n"
            f"main(['add', 'api.example.com', '--from', {str(key)!r},"
            f" '--pin-file', {str(pins)!r}])\n"
        )
        dead = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
        assert dead.returncode == 9, dead.stderr
        audit = tmp_path / "audit.jsonl"
        assert len(audit.read_text().splitlines()) == 1  # the line went first
        assert log.pending_path(audit).exists()
        assert (pins.read_bytes() != before) == kept
        checked = run(["audit", "--verify", "--pin-file", str(pins)])
        assert checked.exit_code == 0, checked.stderr
        assert not log.pending_path(audit).exists()
        assert len(lines(pins)) == (1 if kept else 0)
        again = add(run, pins, key)
        assert again.exit_code == 0
        assert len(lines(pins)) == 1
        assert run(["audit", "--verify", "--pin-file", str(pins)]).exit_code == 0


class TestDamage:
    def _two_lines(self, run: Run, tmp_path: Path, pins: Path) -> Path:
        assert add(run, pins, public_key(tmp_path / "a.pem")).exit_code == 0
        assert add(run, pins, public_key(tmp_path / "b.pem")).exit_code == 0
        return tmp_path / "audit.jsonl"

    def test_truncated_line(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """A log cut short: edits refuse with exit 2 (file untouched), --verify exits 1."""
        audit = self._two_lines(run, tmp_path, pins)
        audit.write_bytes(audit.read_bytes()[:-20])
        before = pins.read_bytes()
        done = add(run, pins, public_key(tmp_path / "c.pem"))
        assert done.exit_code == 2
        assert "audit.jsonl:2: the last line is cut short" in done.stderr
        assert pins.read_bytes() == before
        checked = run(["audit", "--verify", "--pin-file", str(pins)])
        assert checked.exit_code == 1
        assert "cut short" in checked.stderr
        assert run(["audit", "--pin-file", str(pins)]).exit_code == 2

    def test_broken_chain(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """A line edited by hand breaks the chain at the next line: --verify exits 1 naming
        it; an edit refuses (exit 2) and leaves the pin file as it was."""
        audit = self._two_lines(run, tmp_path, pins)
        first, second = audit.read_text().splitlines()
        audit.write_text(first.replace('"user":"', '"user":"mallory') + "\n" + second + "\n")
        checked = run(["audit", "--verify", "--pin-file", str(pins)])
        assert checked.exit_code == 1
        assert "audit.jsonl:2: the chain is broken" in checked.stderr
        before = pins.read_bytes()
        done = add(run, pins, public_key(tmp_path / "c.pem"))
        assert (done.exit_code, pins.read_bytes()) == (2, before)
        assert "chain is broken" in done.stderr

    def test_edited_outside_pinctl(self, run: Run, tmp_path: Path, pins: Path) -> None:
        """A pin file changed by hand after its last line: --verify says since when."""
        self._two_lines(run, tmp_path, pins)
        assert run(["audit", "--verify", "--pin-file", str(pins)]).exit_code == 0
        pins.write_text(pins.read_text() + "# a hand edit\n")
        checked = run(["audit", "--verify", "--pin-file", str(pins)])
        assert checked.exit_code == 1
        assert "edited outside pinctl since" in checked.stderr

    def test_no_audit_log_configured(self, run: Run, tmp_path: Path) -> None:
        """`audit` without a log to read: one line saying how to name one, exit 2."""
        pins = tmp_path / "pins.toml"
        pins.write_text("version = 1\n")
        done = run(["audit", "--pin-file", str(pins)])
        assert done.exit_code == 2
        assert "--audit-log FILE" in done.stderr


def test_pending_marker_names_the_pin_file(tmp_path: Path) -> None:
    """The marker beside the log is where a killed run is found (a plain file, 0644)."""
    assert log.pending_path(tmp_path / "a.jsonl").name == ".a.jsonl.pending"
    assert os.sep not in log.pending_path(tmp_path / "a.jsonl").name
