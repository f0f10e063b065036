"""Writing files: atomic replacement that follows links, and creation that never overwrites."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinctl.errors import ExitCode, FileExistsRefusal, InputError
from pinctl.files import create_exclusive, write_atomic


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The loosest umask a user can have: nothing narrows the mode pinctl asks for."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_replaces_a_file_by_rename(tmp_path: Path) -> None:
    """A regular file is replaced by a new one (a new inode), never rewritten in place."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    inode = path.stat().st_ino
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != inode
    assert [p.name for p in tmp_path.iterdir()] == ["pins.toml"]


def test_write_atomic_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """A pin file that is a symbolic link stays a link; the file it points to gets the data."""
    (tmp_path / "repo").mkdir()
    target = tmp_path / "repo" / "pins.toml"
    target.write_text("old")
    link = tmp_path / "pins.toml"
    os.symlink(os.path.join("repo", "pins.toml"), link)
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("repo", "pins.toml")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pins.toml", "repo"]
    assert [p.name for p in (tmp_path / "repo").iterdir()] == ["pins.toml"]


def test_write_atomic_follows_a_chain_of_links(tmp_path: Path) -> None:
    """Links to links are followed to the final file, and every link is left as it was."""
    target = tmp_path / "real.toml"
    target.write_text("old")
    os.symlink("real.toml", tmp_path / "middle.toml")
    os.symlink("middle.toml", tmp_path / "pins.toml")
    write_atomic(tmp_path / "pins.toml", b"new")
    assert (tmp_path / "pins.toml").is_symlink()
    assert (tmp_path / "middle.toml").is_symlink()
    assert target.read_bytes() == b"new"


def test_write_atomic_through_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    """A link to a file not yet there is kept, and the file is created where it points."""
    link = tmp_path / "pins.toml"
    os.symlink("real.toml", link)
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert (tmp_path / "real.toml").read_bytes() == b"new"


def test_write_atomic_refuses_a_loop_of_links(tmp_path: Path) -> None:
    """A link that leads back to itself is an error naming the path, and nothing is written."""
    loop = tmp_path / "pins.toml"
    os.symlink("pins.toml", loop)
    with pytest.raises(
        InputError, match=re.escape(f"cannot write {loop}: it is a loop of symbolic links")
    ):
        write_atomic(loop, b"new")
    assert loop.is_symlink()
    assert [p.name for p in tmp_path.iterdir()] == ["pins.toml"]


def test_write_atomic_keeps_the_mode_of_the_file_or_its_target(tmp_path: Path) -> None:
    """The replaced file keeps its permission bits, through a link too."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_atomic(path, b"new")
    assert _mode(path) == 0o640
    os.symlink("pins.toml", tmp_path / "link.toml")
    os.chmod(path, 0o604)
    write_atomic(tmp_path / "link.toml", b"newer")
    assert _mode(path) == 0o604
    assert path.read_bytes() == b"newer"


def test_write_atomic_gives_a_new_file_the_umask_mode(tmp_path: Path) -> None:
    """A new file gets 0666 less the umask, as any editor would create it."""
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "pins.toml", b"new")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "pins.toml") == 0o640


def test_write_atomic_takes_the_longest_legal_name(tmp_path: Path) -> None:
    """A 255-byte file name is written: the temporary name is cut to fit beside it."""
    path = tmp_path / ("p" * 250 + ".toml")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_write_atomic_failure_is_an_input_error_and_leaves_nothing(tmp_path: Path) -> None:
    """A name no filesystem takes fails as an InputError naming it; no temporary file stays."""
    path = tmp_path / ("p" * 300 + ".toml")
    with pytest.raises(InputError, match=r"cannot write .*: File name too long") as caught:
        write_atomic(path, b"new")
    assert caught.value.exit_code == ExitCode.USAGE
    assert list(tmp_path.iterdir()) == []


def test_create_exclusive_writes_0600_even_with_umask_zero(
    tmp_path: Path, umask_zero: None
) -> None:
    """A key file is 0600 from creation, whatever the umask would have allowed."""
    path = tmp_path / "backup-1.key.pem"
    create_exclusive(path, b"key", mode=0o600)
    assert path.read_bytes() == b"key"
    assert _mode(path) == 0o600


def test_create_exclusive_refuses_an_existing_file(tmp_path: Path) -> None:
    """An existing file is never overwritten; the refusal names it and says what to do."""
    path = tmp_path / "backup-1.key.pem"
    path.write_text("precious")
    with pytest.raises(
        FileExistsRefusal, match=re.escape(f"{path} already exists; pinctl never overwrites")
    ):
        create_exclusive(path, b"key", mode=0o600)
    assert path.read_text() == "precious"


def test_create_exclusive_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    """A link to nowhere is refused, so a key cannot be planted where the link points."""
    link = tmp_path / "backup-1.key.pem"
    os.symlink(str(tmp_path / "elsewhere.pem"), link)
    with pytest.raises(FileExistsRefusal):
        create_exclusive(link, b"key", mode=0o600)
    assert not (tmp_path / "elsewhere.pem").exists()
    assert link.is_symlink()


def test_create_exclusive_refuses_a_link_to_an_existing_file(tmp_path: Path) -> None:
    """A link to an existing file is refused, and that file keeps its content."""
    target = tmp_path / "other.pem"
    target.write_text("precious")
    link = tmp_path / "backup-1.key.pem"
    os.symlink(str(target), link)
    with pytest.raises(FileExistsRefusal):
        create_exclusive(link, b"key", mode=0o600)
    assert target.read_text() == "precious"
