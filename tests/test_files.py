"""Writing files: atomic replacement that follows links and replaces only regular files,
in-place writes of devices and FIFOs, and creation that never overwrites."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pinctl.cli import Terminated
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


# --- what is not a regular file is written in place, or refused ----------------------------


def _reader(fifo: Path) -> int:
    """The read end of `fifo`, opened without waiting for a writer."""
    return os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)


def _drain(fd: int, size: int) -> bytes:
    """Read `size` bytes from a FIFO whose writer may not have opened it yet."""
    os.set_blocking(fd, True)
    received = b""
    for _ in range(10_000):  # bounded: a writer that never comes fails the test, not the run
        chunk = os.read(fd, 65536)
        received += chunk
        if len(received) >= size:
            break
        if not chunk:
            threading.Event().wait(0.01)  # no writer yet: read() says EOF until one opens
    return received


def test_write_atomic_writes_a_fifo_in_place(tmp_path: Path) -> None:
    """A FIFO's reader gets the bytes, and the FIFO is still a FIFO afterwards."""
    fifo = tmp_path / "report.xml"
    os.mkfifo(fifo)
    reader = _reader(fifo)
    try:
        write_atomic(fifo, b"<testsuites/>")
        assert os.read(reader, 100) == b"<testsuites/>"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["report.xml"]


def test_write_atomic_to_a_fifo_waits_for_a_slow_reader(tmp_path: Path) -> None:
    """More than a pipe holds reaches the reader whole: the write blocks, it is not cut short."""
    fifo = tmp_path / "report.xml"
    os.mkfifo(fifo)
    data = os.urandom(1 << 20)
    reader = _reader(fifo)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_atomic(fifo, data)
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        received = _drain(reader, len(data))
    finally:
        writer.join(30)
        os.close(reader)
    assert errors == []
    assert received == data


def test_write_atomic_refuses_a_fifo_nobody_reads(tmp_path: Path) -> None:
    """A FIFO without a reader is an error at once, never a run blocked forever."""
    fifo = tmp_path / "report.xml"
    os.mkfifo(fifo)
    with pytest.raises(
        InputError,
        match=re.escape(f"cannot write {fifo}: it is a FIFO that no process is reading;"),
    ):
        write_atomic(fifo, b"<testsuites/>")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null that a failing test cannot take from the machine.

    As root, a fresh node in tmp_path (a rename over the real /dev/null would replace it
    for everyone); as any other user the real one, whose directory we cannot write into."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    node = tmp_path / "null"
    null = os.stat("/dev/null")
    os.mknod(node, stat.S_IFCHR | 0o666, null.st_rdev)
    try:
        os.close(os.open(node, os.O_WRONLY))
    except PermissionError:
        pytest.skip(f"{tmp_path} is mounted nodev: device nodes there cannot be opened")
    return node


def test_write_atomic_writes_a_character_device_in_place(null_device: Path) -> None:
    """`--junit-xml /dev/null` discards the report and leaves /dev/null a character device."""
    before = null_device.stat()
    write_atomic(null_device, b"<testsuites/>")
    after = null_device.lstat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_write_atomic_through_a_link_to_a_device_keeps_both(
    tmp_path: Path, null_device: Path
) -> None:
    """A link to a device stays a link, and the device stays a device."""
    link = tmp_path / "report.xml"
    os.symlink(null_device, link)
    write_atomic(link, b"<testsuites/>")
    assert link.is_symlink()
    assert stat.S_ISCHR(null_device.lstat().st_mode)


def test_write_atomic_refuses_a_directory(tmp_path: Path) -> None:
    """A directory is refused with a remedy; it is not replaced or written into."""
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "kept").write_text("x")
    with pytest.raises(
        InputError, match=re.escape(f"cannot write {directory}: it is a directory, not a file;")
    ):
        write_atomic(directory, b"data")
    assert [p.name for p in directory.iterdir()] == ["kept"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_write_atomic_refuses_a_socket(tmp_path: Path) -> None:
    """A Unix socket is refused, and its listener keeps it."""
    path = tmp_path / "s"
    if len(str(path)) > 100:
        pytest.skip(f"{tmp_path} is too long a path for a Unix socket")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        with pytest.raises(InputError, match=re.escape(f"cannot write {path}: it is a socket")):
            write_atomic(path, b"data")
        assert stat.S_ISSOCK(path.lstat().st_mode)


_STDOUT_WRITER = (
    "import sys; from pinctl.files import write_atomic; write_atomic(sys.argv[1], b'x\\n')"
)


def _write_to(name: str, stdout: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", _STDOUT_WRITER, name],
        stdout=stdout,
        stderr=subprocess.PIPE,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_write_atomic_writes_standard_output_to_a_pipe(name: str) -> None:
    """`--output-file /dev/stdout` in a pipeline reaches the pipe's reader."""
    done = _write_to(name, subprocess.PIPE)
    assert (done.returncode, done.stderr, done.stdout) == (0, b"", b"x\n")


def test_write_atomic_appends_to_a_redirected_standard_output(tmp_path: Path) -> None:
    """`>> log` with `--output-file /dev/stdout` appends to the log: it is not replaced."""
    log = tmp_path / "log"
    log.write_bytes(b"before\n")
    inode = log.stat().st_ino
    with open(log, "ab") as out:
        done = _write_to("/dev/stdout", out.fileno())
    assert (done.returncode, done.stderr) == (0, b"")
    assert log.read_bytes() == b"before\nx\n"
    assert log.stat().st_ino == inode


def test_write_atomic_to_a_closed_descriptor_is_an_error(tmp_path: Path) -> None:
    """A descriptor that is not open is a one-line error naming the path."""
    done = subprocess.run(
        [sys.executable, "-c", _STDOUT_WRITER + "\n", "/dev/fd/9"],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert b"InputError: cannot write /dev/fd/9: Bad file descriptor" in done.stderr


# --- owner, group and mode -----------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_write_atomic_keeps_the_owner_and_group(tmp_path: Path) -> None:
    """An edit by root keeps the pin file its user's, not root's."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    os.chown(path, 65534, 65534)
    write_atomic(path, b"new")
    after = path.stat()
    assert (after.st_uid, after.st_gid) == (65534, 65534)
    assert path.read_bytes() == b"new"


def test_write_atomic_gives_a_new_file_our_owner(tmp_path: Path) -> None:
    """A file that did not exist belongs to whoever ran pinctl."""
    write_atomic(tmp_path / "pins.toml", b"new")
    assert (tmp_path / "pins.toml").stat().st_uid == os.geteuid()


def test_write_atomic_never_creates_a_world_writable_file(tmp_path: Path, umask_zero: None) -> None:
    """Under umask 000 a new pin file, export or report is 0644, not 0666."""
    write_atomic(tmp_path / "pins.toml", b"new")
    assert _mode(tmp_path / "pins.toml") == 0o644


def test_write_atomic_keeps_a_loose_mode_it_was_given(tmp_path: Path, umask_zero: None) -> None:
    """An existing file's mode is the user's choice and is kept, even a loose one."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    os.chmod(path, 0o666)  # noqa: S103  the loose mode the user chose, which is kept
    write_atomic(path, b"new")
    assert _mode(path) == 0o666


# --- a full disk, a read-only place and an interrupt ----------------------------------------


def _inject(
    monkeypatch: pytest.MonkeyPatch, name: str, error: BaseException, after: int = 0
) -> None:
    """Make `os.<name>` work `after` times, then raise `error`. Writes pass on at most 4 KiB
    a call, as a pipe or a full disk may, so that "mid-write" is a real place."""
    real = getattr(os, name)
    calls: list[object] = []

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) > after:
            raise error
        if name == "write":
            fd, data = args
            return real(fd, memoryview(data)[:4096])
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, stand_in)


ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(("call", "after"), [("write", 0), ("write", 1), ("fsync", 0)])
def test_a_full_disk_while_rewriting_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, after: int
) -> None:
    """ENOSPC on write or fsync is a clean error; the old file and nothing else remains."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    _inject(monkeypatch, call, ENOSPC, after)
    with pytest.raises(InputError) as caught:
        write_atomic(path, b"x" * (1 << 20))
    assert str(caught.value) == f"cannot write {path}: No space left on device"
    assert caught.value.exit_code == ExitCode.USAGE
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["pins.toml"]


def test_a_failed_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename the filesystem refuses is a clean error, and the temporary file goes."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    _inject(monkeypatch, "replace", OSError(errno.EXDEV, os.strerror(errno.EXDEV)))
    with pytest.raises(InputError, match="Invalid cross-device link"):
        write_atomic(path, b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["pins.toml"]


def test_a_full_disk_while_creating_a_key_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while a key is written removes the partial key and names it."""
    path = tmp_path / "backup-1.key.pem"
    _inject(monkeypatch, "fsync", ENOSPC)
    with pytest.raises(InputError, match=re.escape(f"cannot write {path}: No space left")):
        create_exclusive(path, b"key", mode=0o600)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, Terminated])
def test_an_interrupt_mid_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    """Ctrl-C or SIGTERM between two writes propagates, and removes the temporary file."""
    path = tmp_path / "pins.toml"
    path.write_text("old")
    _inject(monkeypatch, "write", interrupt(), after=1)
    with pytest.raises(interrupt):
        write_atomic(path, b"x" * (1 << 20))
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["pins.toml"]


def test_an_interrupt_mid_write_of_a_key_leaves_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted key write is re-raised, never reported as a key that was made."""
    path = tmp_path / "backup-1.key.pem"
    _inject(monkeypatch, "fsync", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        create_exclusive(path, b"key", mode=0o600)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_filesystem_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EROFS when creating the temporary file or a key names the path and the reason."""
    _inject(monkeypatch, "open", OSError(errno.EROFS, os.strerror(errno.EROFS)))
    with pytest.raises(InputError, match=re.escape("cannot write ") + ".*Read-only file system"):
        write_atomic(tmp_path / "pins.toml", b"new")
    with pytest.raises(InputError, match=re.escape("cannot create ") + ".*Read-only file system"):
        create_exclusive(tmp_path / "backup-1.key.pem", b"key", mode=0o600)
    assert list(tmp_path.iterdir()) == []


def test_a_path_through_a_file_is_a_clean_error(tmp_path: Path) -> None:
    """ENOTDIR (a regular file used as a directory) names the path, for both kinds of write."""
    (tmp_path / "afile").write_text("")
    path = tmp_path / "afile" / "pins.toml"
    with pytest.raises(InputError, match=re.escape(f"cannot write {path}: Not a directory")):
        write_atomic(path, b"new")
    with pytest.raises(InputError, match=re.escape(f"cannot create {path}: Not a directory")):
        create_exclusive(path, b"key", mode=0o600)


@pytest.fixture
def read_only_dir() -> Iterator[Path]:
    """A directory nobody may write into, where an unprivileged user can reach it."""
    top = Path(tempfile.mkdtemp(prefix="pinctl-ro-"))
    try:
        top.chmod(0o755)
        locked = top / "locked"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        yield locked
    finally:
        (top / "locked").chmod(0o755)
        shutil.rmtree(top)


def _as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` as an unprivileged user (root writes anywhere), or as ourselves if we are one.

    The files module comes as source text on stdin: the checkout may sit where that user
    cannot read it."""
    import pinctl.errors
    import pinctl.files

    sources = {m.__name__: Path(str(m.__file__)).read_text() for m in (pinctl.errors, pinctl.files)}
    prelude = (
        "import json, sys, types\n"
        "package = types.ModuleType('pinctl')\n"
        "package.__path__ = []\n"
        "sys.modules['pinctl'] = package\n"
        "for name, source in json.loads(sys.stdin.read()).items():\n"
        "    sys.modules[name] = module = types.ModuleType(name)\n"
        "    exec(compile(source, name, 'exec'), module.__dict__)\n"
    )
    argv = [sys.executable, "-I", "-c", prelude + code, *args]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    done = subprocess.run(
        argv,
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd="/",
    )
    if done.returncode == 126 or "Permission denied" in done.stderr.partition("\n")[0]:
        pytest.skip(f"an unprivileged user cannot run {sys.executable}: {done.stderr.strip()}")
    return done


_BOTH_WRITES = """
from pathlib import Path
from pinctl.errors import InputError
from pinctl.files import create_exclusive, write_atomic
path = Path(sys.argv[1])
for write in (lambda: write_atomic(path, b"new"), lambda: create_exclusive(path, b"k", mode=0o600)):
    try:
        write()
    except InputError as exc:
        print(exc)
"""


def test_a_read_only_directory_is_a_clean_error(read_only_dir: Path) -> None:
    """EACCES where the file would go is a clean error for both kinds of write; nothing is made."""
    path = read_only_dir / "pins.toml"
    done = _as_nobody(_BOTH_WRITES, str(path))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"cannot write {path}: Permission denied",
        f"cannot create {path}: Permission denied",
    ]
    assert list(read_only_dir.iterdir()) == []


def test_a_writable_directory_takes_both_writes_from_that_user(tmp_path: Path) -> None:
    """The same user where it may write: the first write makes the file, the second refuses it."""
    top = Path(tempfile.mkdtemp(prefix="pinctl-rw-"))
    try:
        top.chmod(0o777)
        path = top / "pins.toml"
        done = _as_nobody(_BOTH_WRITES, str(path))
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.startswith(f"{path} already exists")
        assert path.read_bytes() == b"new"
    finally:
        shutil.rmtree(top)
