"""Reading the pin file's text: only a regular file of sane size, and never a hang."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pinctl.errors import ExitCode, PinFileError
from pinctl.pinfile import nodes
from pinctl.pinfile.reader import load
from tests.support.pinfiles import COMMENTED

MiB = 1024 * 1024


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    os.mkfifo(path)
    return path


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.mkdir()
    return path


def _urandom(tmp_path: Path) -> Path:
    return Path("/dev/urandom")


NOT_FILES = {
    "fifo": (_fifo, "is a FIFO (named pipe), not a regular file"),
    "directory": (_directory, "is a directory, not a regular file"),
    "urandom": (_urandom, "is a character device, not a regular file"),
}


@pytest.mark.parametrize("name", list(NOT_FILES))
def test_a_pin_file_that_is_no_regular_file_is_refused(tmp_path: Path, name: str) -> None:
    """A FIFO with no writer, a directory or /dev/urandom is a clean error at once, no hang."""
    make, words = NOT_FILES[name]
    path = make(tmp_path)
    with pytest.raises(PinFileError) as caught:
        load(path)
    assert str(caught.value) == (
        f"pin file {path} {words}; point --pin-file (or $PINCTL_PIN_FILE) at a pins.toml file"
    )
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("command", [["list"], ["verify"], ["remove", "a.test"]])
@pytest.mark.parametrize("name", list(NOT_FILES))
def test_commands_refuse_it_with_one_line(
    run: Any, tmp_path: Path, name: str, command: list[str]
) -> None:
    """list, verify and remove on such a path exit 2 with one line, and contact nothing."""
    path = NOT_FILES[name][0](tmp_path)
    result = run([*command, "--pin-file", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: ")
    assert result.stderr.count("\n") == 1
    assert NOT_FILES[name][1].split(",")[0] in result.stderr


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    """Failing twin: the same path as a regular file loads."""
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    assert len(load(path).hosts) == 2


def test_a_pin_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    """A file larger than 8 MiB (a sparse one here) is refused without being read whole."""
    path = tmp_path / "pins.toml"
    with path.open("wb") as handle:
        handle.truncate(nodes.MAX_SIZE + 1)
    with pytest.raises(PinFileError) as caught:
        load(path)
    assert str(caught.value) == (
        f"pin file {path} is larger than 8 MiB, too large for a pin file; "
        "point --pin-file (or $PINCTL_PIN_FILE) at a pins.toml file"
    )
    assert 8 * MiB == nodes.MAX_SIZE


def test_a_pin_file_at_the_cap_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failing twin: a file of exactly the cap is read (a smaller cap keeps this quick)."""
    monkeypatch.setattr(nodes, "MAX_SIZE", len(COMMENTED))
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    assert len(load(path).hosts) == 2
    path.write_text(COMMENTED + "\n")
    with pytest.raises(PinFileError, match="too large for a pin file"):
        load(path)


def test_a_missing_pin_file_is_none_to_an_editor(tmp_path: Path) -> None:
    """read_bytes tells a missing file (which `add` creates) from a refused one."""
    assert nodes.read_bytes(tmp_path / "pins.toml") is None
    with pytest.raises(PinFileError, match="is a directory"):
        nodes.read_bytes(_directory(tmp_path))
