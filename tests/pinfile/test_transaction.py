"""Edits as one transaction: one read, one atomic write, a Change per mutation, or nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pinctl import files
from pinctl.errors import InputError, PinFileError, UsageError
from pinctl.pinfile import nodes
from pinctl.pinfile.edit import add_pins, remove, transaction
from pinctl.pinfile.model import PinEntry, PinFile
from pinctl.pinfile.reader import load
from pinctl.pki.pins import Pin, compute
from tests.support.pinfiles import BACKUP, COMMENTED, INTER, LEAF, NEW


def _commented(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    return path


class Calls:
    """Counts the calls of a function it stands in for, and passes them on."""

    def __init__(self, real: Any) -> None:
        self.real, self.count = real, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def io_calls(monkeypatch: pytest.MonkeyPatch) -> tuple[Calls, Calls]:
    """(reads, writes) of the pin file by the transaction."""
    reads, writes = Calls(nodes.read_file), Calls(files.write_atomic)
    monkeypatch.setattr("pinctl.pinfile.edit.read_file", reads)
    monkeypatch.setattr("pinctl.pinfile.edit.write_atomic", writes)
    return reads, writes


def test_many_mutations_read_once_and_write_once(
    tmp_path: Path, io_calls: tuple[Calls, Calls]
) -> None:
    """Several adds and a remove in one transaction read the file once and replace it once."""
    path = _commented(tmp_path)
    before = load(path)
    with transaction(path) as edit:
        first = edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
        second = edit.add_pins("new.example.com", 8443, [PinEntry(BACKUP, backup=True)])
        third = edit.remove("pay.example.com")
        assert edit.changes == [first, second, third]
        assert edit.pin_file == before  # the model as read, not as edited
    assert io_calls[0].count == 1
    assert io_calls[1].count == 1
    after = load(path)
    assert [h.label for h in after.hosts] == ["api.example.com:443", "new.example.com:8443"]
    assert [p.pin for p in after.hosts[0].pins][-1] == NEW
    assert third.removed_host
    assert edit.before_text == COMMENTED
    assert edit.after_text == path.read_text()


def test_an_error_in_the_block_writes_nothing(
    tmp_path: Path, io_calls: tuple[Calls, Calls]
) -> None:
    """Failing twin: when a later mutation fails, the earlier ones are not written either."""
    path = _commented(tmp_path)

    def add_then_fail() -> None:
        with transaction(path) as edit:
            edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
            edit.remove("nope.example")

    with pytest.raises(UsageError, match=r"host 'nope\.example' is not in"):
        add_then_fail()
    assert io_calls[1].count == 0
    assert path.read_text() == COMMENTED


def test_a_missing_file_is_an_empty_model_and_is_created_once(tmp_path: Path) -> None:
    """With no file yet, `.pin_file` is `PinFile(path)`; two new hosts create it in one write."""
    path = tmp_path / "pins.toml"
    with transaction(path) as edit:
        assert edit.pin_file == PinFile(path)
        assert edit.before_bytes is None
        a = edit.add_pins("a.test", 443, [PinEntry(NEW)])
        b = edit.add_pins("b.test", 443, [PinEntry(NEW)])
    assert a.created_file
    assert a.added_host
    assert b.added_host
    assert [h.host for h in load(path).hosts] == ["a.test", "b.test"]


def test_nothing_to_change_writes_nothing(tmp_path: Path, io_calls: tuple[Calls, Calls]) -> None:
    """Adding pins already there leaves the file (and its inode) alone."""
    path = _commented(tmp_path)
    inode = path.stat().st_ino
    with transaction(path) as edit:
        change = edit.add_pins("api.example.com", 443, [PinEntry(Pin.parse(LEAF))])
    assert not change.changed
    assert io_calls[1].count == 0
    assert path.stat().st_ino == inode


def test_several_pins_are_removed_in_one_call(tmp_path: Path) -> None:
    """`remove(host, pins=...)` takes several pins at once and reports them all."""
    path = _commented(tmp_path)
    with transaction(path) as edit:
        change = edit.remove("api.example.com", pins=(Pin.parse(LEAF), Pin.parse(INTER)))
    assert {str(p.pin) for p in change.removed} == {LEAF, INTER}
    assert change.pins_left == 0
    assert load(path).hosts[0].pins == ()


def test_removing_a_pin_the_host_lacks_names_it(tmp_path: Path) -> None:
    """Failing twin: one unknown pin among several refuses the whole removal, naming it."""
    path = _commented(tmp_path)
    with pytest.raises(UsageError, match=f"pin {NEW} is not pinned for api.example.com:443"):
        remove(path, "api.example.com", pins=(Pin.parse(LEAF), NEW))
    assert path.read_text() == COMMENTED


def test_a_dry_run_checks_everything_and_writes_nothing(
    tmp_path: Path, io_calls: tuple[Calls, Calls]
) -> None:
    """A dry-run transaction returns the changes, marked as dry runs, and writes nothing."""
    path = _commented(tmp_path)
    with transaction(path, dry_run=True) as edit:
        change = edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
    assert change.dry_run
    assert change.added == (PinEntry(NEW),)
    assert io_calls[1].count == 0
    assert path.read_text() == COMMENTED


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_before_the_rename_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    """A death between write and rename leaves the old file intact and no temporary file."""
    path = _commented(tmp_path)

    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr("pinctl.files.os.replace", fail)
    expected = InputError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        add_pins(path, "api.example.com", 443, [PinEntry(NEW)])
    assert path.read_text() == COMMENTED
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pins.toml.lock", "pins.toml"]


def test_rewrite_keeps_the_file_mode(tmp_path: Path) -> None:
    """An edited pin file keeps its permission bits."""
    path = _commented(tmp_path)
    os.chmod(path, 0o640)
    add_pins(path, "api.example.com", 443, [PinEntry(NEW)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    remove(path, "pay.example.com")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_add_pins_refuses_unknown_fields(tmp_path: Path) -> None:
    """host_fields cannot change a host's identity or invent keys."""
    with pytest.raises(ValueError, match="cannot set"):
        add_pins(tmp_path / "pins.toml", "a.test", 443, [PinEntry(NEW)], host_fields={"port": 1})


def test_a_change_by_a_writer_ignoring_the_lock_is_not_overwritten(tmp_path: Path) -> None:
    """If something that takes no lock (an editor) rewrites the file mid-edit, pinctl refuses."""
    path = _commented(tmp_path)

    def edit_while_someone_writes() -> None:
        with transaction(path) as edit:
            edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
            path.write_text(COMMENTED + "# edited meanwhile\n")

    with pytest.raises(PinFileError, match="changed while pinctl was editing it; run the command"):
        edit_while_someone_writes()
    assert path.read_text() == COMMENTED + "# edited meanwhile\n"


def test_a_pin_file_whose_directory_is_replaced_mid_edit_is_not_written(tmp_path: Path) -> None:
    """The pin file's directory moved away and a file put in its place while pinctl edits:
    the check before writing cannot stat the file, and says so and why, instead of writing
    or crashing; the moved file keeps its text."""
    home = tmp_path / "conf"
    home.mkdir()
    path = _commented(home)
    moved = tmp_path / "moved"

    def edit_while_the_directory_is_replaced() -> None:
        with transaction(path) as edit:
            edit.add_pins("api.example.com", 443, [PinEntry(NEW)])
            home.rename(moved)
            home.write_text("a file where the directory was\n")

    with pytest.raises(PinFileError) as refused:
        edit_while_the_directory_is_replaced()
    assert str(refused.value) == f"cannot read pin file {path}: Not a directory"
    assert (moved / "pins.toml").read_text() == COMMENTED


def test_an_unchanged_file_is_written(tmp_path: Path) -> None:
    """Failing twin of the guard above: with nobody else writing, the same edit lands."""
    path = _commented(tmp_path)
    with transaction(path) as edit:
        edit.add_pins("api.example.com", 443, [PinEntry(compute(b"other"))])
    assert str(compute(b"other")) in path.read_text()
