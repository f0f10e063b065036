"""The CLI's one error boundary: what a user sees when a run goes wrong, and its exit code.

Bounded options, unexpected exceptions, Ctrl-C and SIGTERM, broken pipes, --debug, and
files that cannot be written: each is one ``pinctl: error:`` line and SPEC's exit code,
never a traceback and never a hang.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pinctl.cli
from pinctl.errors import InputError
from pinctl.pki.pins import compute
from tests.support.pinfiles import COMMENTED
from tests.support.servers import closed_port, hostile_server, wait_for

PIN = compute(b"api leaf key")
BACKUP = compute(b"backup key")


def _pins(path: Path, port: int) -> Path:
    path.write_text(
        f'version = 1\n\n[[hosts]]\nhost = "127.0.0.1"\nport = {port}\n'
        f'pins = [{{ pin = "{PIN}" }}, {{ pin = "{BACKUP}", backup = true }}]\n'
    )
    return path


# --- every duration is bounded ---------------------------------------------------------------

TIMEOUT_COMMANDS = ["fetch", "add", "verify"]
BAD_SECONDS = ["inf", "-inf", "nan", "-1", "0", "86401", "1e400", "ten"]


def _timeout_args(command: str, pins: Path, port: int, value: str) -> list[str]:
    """`command` with `--timeout value`, aimed at 127.0.0.1:port (through the pin file)."""
    args = [command, "--timeout", value]
    if command != "fetch":
        args += ["--pin-file", str(pins)]
    return args + ([] if command == "verify" else [f"127.0.0.1:{port}"])


@pytest.mark.parametrize("command", TIMEOUT_COMMANDS)
@pytest.mark.parametrize("value", BAD_SECONDS)
def test_a_timeout_out_of_range_is_a_usage_error(
    run: Any, tmp_path: Path, command: str, value: str
) -> None:
    """`--timeout` inf, nan, negative, zero or above a day is refused with the range, exit 2."""
    port = closed_port()
    pins = _pins(tmp_path / "pins.toml", port)
    result = run(_timeout_args(command, pins, port, value))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"pinctl: error: Invalid value for '--timeout': '{value}' is ")
    assert "give seconds above 0, at most 86400 (1 day)" in lines[0]
    assert pins.read_text().count("pin =") == 2  # add changed nothing


@pytest.mark.parametrize("command", TIMEOUT_COMMANDS)
@pytest.mark.parametrize("value", ["0.5", "86400"])
def test_a_timeout_in_range_is_taken(run: Any, tmp_path: Path, command: str, value: str) -> None:
    """The same commands take a timeout within the range, and get as far as the network."""
    port = closed_port()
    pins = _pins(tmp_path / "pins.toml", port)
    result = run(_timeout_args(command, pins, port, value))
    assert result.exit_code == 3
    assert "--timeout" not in result.stderr


def test_the_hpkp_max_age_is_bounded(run: Any, tmp_path: Path) -> None:
    """`--max-age` is whole seconds from 0 (forget the pins) to a year; more is refused."""
    pins = _pins(tmp_path / "pins.toml", 443)
    base = ["export", "--format", "hpkp", "--pin-file", str(pins)]
    for value in ["-1", "31536001", "inf", "1.5"]:
        result = run([*base, "--max-age", value])
        assert result.exit_code == 2, value
        assert result.stderr.startswith("pinctl: error: Invalid value for '--max-age'"), value
    for value in ["0", "31536000"]:
        result = run([*base, "--max-age", value])
        assert result.exit_code == 0, value
        assert "pinctl: error" not in result.stderr
        assert f"max-age={value}" in result.stdout


# --- unexpected exceptions, interrupts and --debug -------------------------------------------


def _raise(error: BaseException) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


@pytest.fixture
def list_args(tmp_path: Path) -> list[str]:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    return ["list", "--pin-file", str(path)]


def test_an_unexpected_exception_is_one_line_and_exit_1(
    run: Any, list_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug is one line that says how to report it, exit 1, and no traceback."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(RuntimeError("boom\n  at line 2")))
    result = run(list_args)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "pinctl: error: internal error (RuntimeError: boom at line 2); "
        "re-run with --debug and report the traceback\n"
    )


def test_a_user_error_is_its_message_and_exit_2(
    run: Any, list_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PinctlError is the user's to fix: its own message and its exit code, no 'internal'."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(InputError("pins.toml: bad; fix it")))
    result = run(list_args)
    assert (result.exit_code, result.stderr) == (2, "pinctl: error: pins.toml: bad; fix it\n")


@pytest.mark.parametrize("error", [RuntimeError("boom"), InputError("bad")])
def test_debug_reraises(
    run: Any, list_args: list[str], monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """`--debug` lets the exception through, so its traceback is shown."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(error))
    with pytest.raises(type(error)):
        run(["--debug", *list_args])


@pytest.mark.parametrize("where", ["after the command", "at the end"])
def test_debug_is_accepted_after_the_command(
    run: Any, list_args: list[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """`pinctl list --debug` (or at the end of the line) does what `pinctl --debug list` does;
    without it the same error is one line."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(RuntimeError("boom")))
    args = [list_args[0], "--debug", *list_args[1:]] if where != "at the end" else []
    with pytest.raises(RuntimeError, match="boom"):
        run(args or [*list_args, "--debug"])
    plain = run(list_args)
    assert (plain.exit_code, plain.stderr.count("\n")) == (1, 1)


@pytest.fixture
def keep_sigterm() -> Iterator[None]:
    """`main` installs pinctl's SIGTERM handler; the test session gets its own back."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def test_pinctl_debug_in_the_environment_reraises(
    list_args: list[str], monkeypatch: pytest.MonkeyPatch, keep_sigterm: None
) -> None:
    """PINCTL_DEBUG set does what --debug does, through the real entry point."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(RuntimeError("boom")))
    monkeypatch.setenv("PINCTL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        pinctl.cli.main(list_args)


def test_without_pinctl_debug_the_entry_point_exits_1(
    list_args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keep_sigterm: None,
) -> None:
    """The entry point turns the same bug into exit 1 and one line when PINCTL_DEBUG is unset."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(RuntimeError("boom")))
    monkeypatch.delenv("PINCTL_DEBUG", raising=False)
    with pytest.raises(SystemExit) as caught:
        pinctl.cli.main(list_args)
    assert caught.value.code == 1
    assert capsys.readouterr().err.startswith("pinctl: error: internal error (RuntimeError")


@pytest.mark.parametrize(
    ("interrupt", "code", "word"),
    [(KeyboardInterrupt(), 130, "interrupted"), (pinctl.cli.Terminated(), 143, "terminated")],
)
def test_an_interrupt_is_one_line_with_its_exit_code(
    run: Any,
    list_args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    interrupt: BaseException,
    code: int,
    word: str,
) -> None:
    """Ctrl-C exits 130 and SIGTERM 143, each with one line and no blank line before it."""
    monkeypatch.setattr("pinctl.pinfile.reader.load", _raise(interrupt))
    result = run(list_args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        code,
        "",
        f"pinctl: error: {word}\n",
    )


def test_an_interrupt_while_writing_the_result_is_reported(
    run: Any, list_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the command, while its output is written, is still exit 130."""
    monkeypatch.setattr("pinctl.cli.common.Outcome.write", _raise(KeyboardInterrupt()))
    result = run(list_args)
    assert (result.exit_code, result.stderr) == (130, "pinctl: error: interrupted\n")


def test_an_ignored_sigterm_stays_ignored(keep_sigterm: None) -> None:
    """A parent that chose to ignore SIGTERM (as nohup does SIGHUP) is not overruled."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pinctl.cli._handle_sigterm()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pinctl.cli._handle_sigterm()
    assert signal.getsignal(signal.SIGTERM) is pinctl.cli._terminate


# --- real signals and pipes on a real process ------------------------------------------------


def _pinctl(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pinctl", *args],
        stdin=subprocess.DEVNULL,
        text=True,
        **kwargs,
    )


# A real SIGINT, sent by the process to itself the moment `import click` begins: Ctrl-C
# while pinctl is still starting up.
_CTRL_C_WHILE_IMPORTING = """
import os, signal, sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv[0] = "pinctl"
{entry}
"""


@pytest.mark.parametrize(
    ("entry", "guarded"),
    [
        ("from pinctl.__main__ import main; main()", True),
        ("from pinctl.cli import main; main()", False),
    ],
    ids=["the-entry-point", "the-click-layer-alone"],
)
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(entry: str, guarded: bool) -> None:
    """Ctrl-C before pinctl's boundary exists (while click loads) still ends as Ctrl-C does
    anywhere: one line, exit 130. Importing the click layer first, as an entry point, would
    end it in a traceback and death by the signal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored in this session, so in pinctl")
    code = _CTRL_C_WHILE_IMPORTING.format(entry=entry)
    proc = subprocess.run(
        [sys.executable, "-c", code, "list"], capture_output=True, text=True, timeout=60
    )
    if guarded:
        interrupted = (130, "pinctl: error: interrupted\n", "")
        assert (proc.returncode, proc.stderr, proc.stdout) == interrupted
    else:
        assert proc.returncode == -signal.SIGINT
        assert "Traceback" in proc.stderr


@pytest.mark.parametrize(
    ("interrupt", "code", "word"),
    [(KeyboardInterrupt(), 130, "interrupted"), (pinctl.cli.Terminated(), 143, "terminated")],
)
def test_an_interrupt_outside_the_boundary_keeps_its_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    interrupt: KeyboardInterrupt,
    code: int,
    word: str,
) -> None:
    """Ctrl-C or SIGTERM in the instants before `pinctl.cli.main` reaches its boundary (or
    after it) is caught by the entry point, with the same line and code as inside it."""
    import pinctl.__main__

    monkeypatch.setattr("pinctl.cli.main", _raise(interrupt))
    with pytest.raises(SystemExit) as caught:
        pinctl.__main__.main()
    assert (caught.value.code, capsys.readouterr().err) == (code, f"pinctl: error: {word}\n")


def test_the_installed_command_starts_at_the_guarded_entry_point() -> None:
    """The `pinctl` script that pip installs enters through `pinctl.__main__`, not the click
    layer, so Ctrl-C at start-up is caught there too."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="pinctl")
    assert script.value == "pinctl.__main__:main"


def _holds_a_socket(pid: int) -> bool:
    """Whether process `pid` has a socket open: the connection a server counted is its own,
    not a stray one from elsewhere, and it is past start-up, in its network phase."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd).startswith("socket:") for fd in fds.iterdir())
    except OSError:  # it exited, or a descriptor closed while we looked
        return False


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_stops_a_hung_verify_cleanly(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    """What a CI timeout sends stops a verify hung on a silent server: its exit code, one
    line, and no report or temporary file left beside the JUnit path."""
    if signal.getsignal(signum) is signal.SIG_IGN:
        pytest.skip(f"{signal.Signals(signum).name} is ignored in this session, so in pinctl")
    with hostile_server("silent") as server:
        pins = _pins(tmp_path / "pins.toml", server.port)
        report = tmp_path / "report.xml"
        proc = _pinctl(
            "verify", "--pin-file", str(pins), "--timeout", "600", "--junit-xml", str(report),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            connected = wait_for(lambda: server.connections >= 1 and _holds_a_socket(proc.pid), 60)
            assert connected, "pinctl never connected"
            proc.send_signal(signum)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
    assert (proc.returncode, stderr, stdout) == (code, f"pinctl: error: {word}\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pins.toml"]


# Ctrl-C that arrives while a finalizer runs: Python prints "Exception ignored" and drops
# the KeyboardInterrupt.
_DROPPED = """
import os, select, signal, sys

class Dropped:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(3):  # the handler runs here, inside the finalizer
            pass
"""

# The finalizer runs at pinctl's first wait on the network, as importlib's module-lock
# callbacks do when an import happens there.
_CTRL_C_DROPPED_IN_A_FINALIZER = (
    _DROPPED
    + """
real_poll = select.poll

class Poll:
    def __init__(self):
        self.inner = real_poll()
        self.armed = True

    def register(self, *args):
        self.inner.register(*args)

    def unregister(self, *args):
        self.inner.unregister(*args)

    def poll(self, timeout):
        if self.armed and timeout:
            self.armed = False
            Dropped()
        return self.inner.poll(timeout)

select.poll = Poll
{disable}
sys.argv[0] = "pinctl"
from pinctl.__main__ import main
main()
"""
)


@pytest.mark.parametrize("found_again", [True, False], ids=["pinctl", "python-alone"])
def test_a_ctrl_c_python_drops_still_stops_a_hung_verify(tmp_path: Path, found_again: bool) -> None:
    """A Ctrl-C whose KeyboardInterrupt Python drops in a finalizer stops a verify hung on a
    silent server at once, with exit 130 and pinctl's one line alone. Python by itself would
    print a traceback for it, then wait out the timeout and report the host as failed."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored in this session, so in pinctl")
    disable = "" if found_again else _PYTHON_ALONE
    code = _CTRL_C_DROPPED_IN_A_FINALIZER.format(disable=disable)
    with hostile_server("silent") as server:
        pins = _pins(tmp_path / "pins.toml", server.port)
        args = ["verify", "--pin-file", str(pins), "--timeout", "5"]
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
        )
    if found_again:
        assert (proc.returncode, proc.stderr, proc.stdout) == (
            130,
            "pinctl: error: interrupted\n",
            "",
        )
    else:
        assert "Exception ignored" in proc.stderr  # Python did drop it
        assert proc.returncode == 3  # the host unreachable, after its whole timeout
        assert "timed out" in proc.stdout


# pinctl without what finds a dropped Ctrl-C again: the pool's wakeup descriptor and the
# unraisable hook that keeps the exception.
_PYTHON_ALONE = (
    "import pinctl.net.interrupts as i; "
    "i.Wakeup.__enter__ = lambda self: self; i.keep_dropped = lambda: None"
)

# The same dropped Ctrl-C, in a finalizer that runs while a command's module is imported,
# as importlib's module-lock callbacks do: far from any pool.
_CTRL_C_DROPPED_WHILE_A_COMMAND_LOADS = (
    _DROPPED
    + """
class Loading:
    def find_spec(self, name, path=None, target=None):
        if name == "pinctl.cli.pin":
            Dropped()
        return None

sys.meta_path.insert(0, Loading())
{disable}
sys.argv[0] = "pinctl"
from pinctl.__main__ import main
main()
"""
)


@pytest.mark.parametrize("kept", [True, False], ids=["pinctl", "python-alone"])
def test_a_ctrl_c_python_drops_outside_the_pool_still_stops_the_command(
    ca_pem: Path, kept: bool
) -> None:
    """A Ctrl-C that Python drops while `pinctl pin` loads ends the command as a Ctrl-C
    does: exit 130, pinctl's one line and no pins. Python by itself prints a traceback for
    it and goes on as if no one had pressed a key."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored in this session, so in pinctl")
    code = _CTRL_C_DROPPED_WHILE_A_COMMAND_LOADS.format(disable="" if kept else _PYTHON_ALONE)
    proc = subprocess.run(
        [sys.executable, "-c", code, "pin", "-o", "pins", str(ca_pem)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if kept:
        assert (proc.returncode, proc.stderr, proc.stdout) == (
            130,
            "pinctl: error: interrupted\n",
            "",
        )
    else:
        assert "Exception ignored" in proc.stderr
        assert "KeyboardInterrupt" in proc.stderr
        assert (proc.returncode, proc.stdout.count("sha256/")) == (0, 1)


def test_a_broken_pipe_is_silent(ca_pem: Path) -> None:
    """`pinctl pin ... | head` whose reader has gone exits 1 with nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before pinctl writes a byte
    try:
        proc = _pinctl("pin", "-o", "pins", str(ca_pem), stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr) == (1, "")


def test_an_open_pipe_gets_the_output(ca_pem: Path) -> None:
    """The same command into a pipe that is read writes its pin and exits 0."""
    proc = _pinctl("pin", "-o", "pins", str(ca_pem), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr) == (0, "")
    assert stdout.startswith("sha256/")


# --- files that cannot be written, through the commands --------------------------------------


@pytest.mark.parametrize("call", ["write", "fsync"])
def test_a_full_disk_while_editing_is_exit_2_and_keeps_the_file(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """ENOSPC while `remove` rewrites pins.toml: "cannot write pins.toml: No space left on
    device", exit 2, the file as it was and no temporary file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pins.toml").write_text(COMMENTED)
    real = getattr(os, call)

    def full(fd: int, *args: Any) -> Any:
        if stat.S_ISREG(os.fstat(fd).st_mode) and ".tmp" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, *args)

    monkeypatch.setattr(os, call, full)
    result = run(["remove", "pay.example.com"])
    assert result.exit_code == 2
    assert result.stderr == "pinctl: error: cannot write pins.toml: No space left on device\n"
    assert (tmp_path / "pins.toml").read_text() == COMMENTED
    # the lock file stays by design (a lock must outlive the rename); no temporary file does
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pins.toml.lock", "pins.toml"]


def test_the_same_edit_with_room_on_the_disk_succeeds(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the full disk, the same `remove` rewrites the file and exits 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pins.toml").write_text(COMMENTED)
    result = run(["remove", "pay.example.com"])
    assert result.exit_code == 0
    assert "pay.example.com" not in (tmp_path / "pins.toml").read_text()


def test_an_interrupted_key_write_leaves_no_key(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while backup-keygen writes a key exits 130 and leaves no key behind."""
    real = os.fsync

    def interrupted(fd: int) -> None:
        if ".key.pem" in os.readlink(f"/proc/self/fd/{fd}"):
            raise KeyboardInterrupt
        real(fd)

    monkeypatch.setattr(os, "fsync", interrupted)
    result = run(["backup-keygen", "--no-encrypt", "--count", "1", "--out-dir", str(tmp_path)])
    assert (result.exit_code, result.stdout) == (130, "")
    assert result.stderr == "pinctl: error: interrupted\n"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def export_args(tmp_path: Path) -> list[str]:
    pins = _pins(tmp_path / "pins.toml", 443)
    return ["export", "--format", "json", "--pin-file", str(pins), "--output-file"]


def test_export_to_a_fifo_without_a_reader_is_exit_2(
    run: Any, tmp_path: Path, export_args: list[str]
) -> None:
    """`--output-file` naming a FIFO nobody reads fails at once, and the FIFO stays."""
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    result = run([*export_args, str(fifo)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: cannot write {fifo}: it is a FIFO that no process is reading; "
        "start its reader first\n"
    )
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_to_a_fifo_with_a_reader_delivers(
    run: Any, tmp_path: Path, export_args: list[str]
) -> None:
    """The same FIFO with a reader gets the export, and stays a FIFO."""
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = run([*export_args, str(fifo)])
        received = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert (result.exit_code, result.stderr) == (0, "")
    assert str(PIN).split("/", 1)[1].encode() in received
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_export_refuses_a_directory(run: Any, tmp_path: Path, export_args: list[str]) -> None:
    """`--output-file` naming a directory is a usage error from click, and the directory stays."""
    result = run([*export_args, str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
    assert tmp_path.is_dir()


def test_export_under_umask_000_is_not_world_writable(
    run: Any, tmp_path: Path, export_args: list[str]
) -> None:
    """A new --output-file is 0644 under umask 000: nobody else may rewrite the pins."""
    old = os.umask(0)
    try:
        result = run([*export_args, str(tmp_path / "pins.json")])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "pins.json").stat().st_mode) == 0o644


def test_a_junit_report_into_a_fifo_without_a_reader_fails_closed(run: Any, tmp_path: Path) -> None:
    """verify whose JUnit FIFO has no reader still reports the hosts, but never exits 0."""
    pins = _pins(tmp_path / "pins.toml", closed_port())
    fifo = tmp_path / "report.xml"
    os.mkfifo(fifo)
    result = run(["verify", "--pin-file", str(pins), "--junit-xml", str(fifo)])
    assert result.exit_code != 0
    assert "it is a FIFO that no process is reading" in result.stderr
    assert "no JUnit report was written" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_pin_file_and_report_under_umask_000_are_0644(
    run: Any, tmp_path: Path, umask_zero: None
) -> None:
    """The pin file `backup-keygen --host` creates and a JUnit report are 0644 under umask 000."""
    pins = tmp_path / "pins.toml"
    keygen = ["backup-keygen", "--no-encrypt", "--count", "1", "--host", "127.0.0.1"]
    made = run([*keygen, "--pin-file", str(pins), "--out-dir", str(tmp_path / "keys")])
    assert made.exit_code == 0
    assert stat.S_IMODE(pins.stat().st_mode) == 0o644
    report = tmp_path / "report.xml"
    checked = run(
        ["verify", "--pin-file", str(_pins(pins, closed_port())), "--junit-xml", str(report)]
    )
    assert checked.exit_code == 3
    assert stat.S_IMODE(report.stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_an_edit_by_root_keeps_the_pin_files_owner(run: Any, tmp_path: Path) -> None:
    """`remove` run as root on a user's pin file leaves it that user's, with its mode."""
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    os.chown(path, 65534, 65534)
    path.chmod(0o664)
    result = run(["remove", "--pin-file", str(path), "pay.example.com"])
    assert result.exit_code == 0
    after = path.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (65534, 65534, 0o664)
    assert "pay.example.com" not in path.read_text()
