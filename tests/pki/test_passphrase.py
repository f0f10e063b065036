"""Passphrases from a file, an environment variable or a no-echo terminal prompt."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinctl.errors import PassphraseError, UsageError
from pinctl.pki import passphrase
from pinctl.pki.passphrase import read_passphrase
from tests.support.pty import run_on_pty

SECRET = "tr0ub4dor&3 horse"


def _read(
    file: str | None = None, env: str | None = None, *, confirm: bool = False, required: bool = True
) -> bytes | None:
    return read_passphrase(file, env, prompt="Passphrase: ", confirm=confirm, required=required)


class _FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _closed() -> io.StringIO:
    stream = io.StringIO("")
    stream.close()  # isatty() now raises ValueError
    return stream


@pytest.fixture(params=["pipe", "closed", "none"])
def no_terminal(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """stdin a pipe, a closed stream, or none at all (pythonw, a daemon): none can be asked."""
    stdin = {"pipe": io.StringIO(""), "closed": _closed(), "none": None}[request.param]
    monkeypatch.setattr(sys, "stdin", stdin)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Scripted replies to getpass on a pretend terminal; the real prompt has a pty test."""
    import getpass

    replies: list[str] = []
    asked: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
        asked.append(prompt)
        if not replies:
            raise EOFError
        return replies.pop(0)

    monkeypatch.setattr(sys, "stdin", _FakeTty())
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    yield replies
    replies.clear()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"s3cret\n", b"s3cret"),
        (b"s3cret", b"s3cret"),
        (b"s3cret\nsecond line\n", b"s3cret"),
        (b"with trailing space \n", b"with trailing space "),
        (b"crlf\r\n", b"crlf\r"),
        ("caf\u00e9\n".encode(), "caf\u00e9".encode()),
    ],
)
def test_a_file_gives_its_first_line_as_openssl_reads_it(
    tmp_path: Path, content: bytes, expected: bytes
) -> None:
    """The first line without its newline, like `openssl -passin file:`, so one file serves both."""
    path = tmp_path / "pass.txt"
    path.write_bytes(content)
    assert _read(str(path)) == expected


def test_openssl_reads_the_same_passphrase_from_the_same_file(tmp_path: Path) -> None:
    """A key encrypted with openssl and a multi-line file opens with what pinctl reads from it."""
    path = tmp_path / "pass.txt"
    path.write_bytes(b"first line\nsecond line\n")
    key = tmp_path / "k.pem"
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "ed25519",
            "-aes-256-cbc",
            "-pass",
            f"file:{path}",
            "-out",
            str(key),
        ],
        check=True,
        capture_output=True,
    )
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    secret = _read(str(path))
    assert secret is not None
    load_pem_private_key(key.read_bytes(), secret)
    with pytest.raises(ValueError, match="Incorrect password"):
        load_pem_private_key(key.read_bytes(), b"first line\nsecond line")


@pytest.mark.parametrize("content", [b"", b"\n", b"\nsecret on line two\n"])
def test_an_empty_passphrase_file_is_refused(tmp_path: Path, content: bytes) -> None:
    """An empty first line would protect nothing; the error names the file."""
    path = tmp_path / "pass.txt"
    path.write_bytes(content)
    with pytest.raises(PassphraseError, match=rf"from passphrase file {path} is empty"):
        _read(str(path))


def test_an_oversized_passphrase_file_is_refused_not_cut(tmp_path: Path) -> None:
    """A file over 64 KiB is refused with its name, never silently cut to another secret."""
    path = tmp_path / "pass.txt"
    path.write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(PassphraseError, match=rf"passphrase file {path} is larger than 64 KiB"):
        _read(str(path))


def test_a_passphrase_file_of_exactly_64_kib_is_read_whole(tmp_path: Path) -> None:
    """The twin: at the limit the first line is read, all of it."""
    path = tmp_path / "pass.txt"
    path.write_bytes(b"y" * (64 * 1024))
    assert _read(str(path)) == b"y" * (64 * 1024)


def test_a_missing_passphrase_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """A file that cannot be read is a clean error with the path and the reason."""
    path = tmp_path / "nope.txt"
    with pytest.raises(PassphraseError, match=rf"cannot read passphrase file {path}: No such"):
        _read(str(path))


def test_an_environment_variable_gives_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable's value is the passphrase, byte for byte, newline-free or not."""
    monkeypatch.setenv("PINCTL_TEST_PASS", SECRET)
    assert _read(env="PINCTL_TEST_PASS") == SECRET.encode()


def test_an_unset_environment_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt variable name is an error naming it, never an unencrypted key."""
    monkeypatch.delenv("PINCTL_TEST_PASS", raising=False)
    with pytest.raises(PassphraseError, match="environment variable PINCTL_TEST_PASS is not set"):
        _read(env="PINCTL_TEST_PASS")


def test_an_empty_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exported but empty variable is refused like an empty file."""
    monkeypatch.setenv("PINCTL_TEST_PASS", "")
    with pytest.raises(PassphraseError, match="PINCTL_TEST_PASS is empty"):
        _read(env="PINCTL_TEST_PASS")


def test_two_sources_at_once_are_a_usage_error(tmp_path: Path) -> None:
    """A file and a variable together are ambiguous, so neither is used."""
    with pytest.raises(UsageError, match="not both"):
        _read(str(tmp_path / "f"), "VAR")


@pytest.mark.usefixtures("no_terminal")
def test_no_source_on_a_non_terminal_is_an_error_when_required() -> None:
    """Without a terminal to ask on, a required passphrase is an error naming the options."""
    with pytest.raises(PassphraseError, match="--passphrase-file FILE or --passphrase-env VAR"):
        _read()


@pytest.mark.usefixtures("no_terminal")
def test_no_source_on_a_non_terminal_returns_none_when_optional() -> None:
    """A caller that can do without gets None, not an error and not a prompt."""
    assert _read(required=False) is None


@pytest.mark.usefixtures("no_terminal")
def test_the_error_names_the_callers_alternative() -> None:
    """backup-keygen's way out, --no-encrypt, is named in the message."""
    with pytest.raises(PassphraseError, match=r"or --no-encrypt$"):
        read_passphrase(
            None, None, prompt="p", confirm=True, required=True, alternative="--no-encrypt"
        )


def test_a_terminal_is_asked_once_without_confirm(answers: list[str]) -> None:
    """Reading an existing key's passphrase needs one answer."""
    answers.extend([SECRET])
    assert _read() == SECRET.encode()


def test_a_terminal_is_asked_twice_with_confirm(answers: list[str]) -> None:
    """A new passphrase is typed twice and accepted when both agree."""
    answers.extend([SECRET, SECRET])
    assert _read(confirm=True) == SECRET.encode()
    assert answers == []


def test_a_mismatch_asks_again(answers: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in the confirmation asks again rather than keeping either spelling."""
    answers.extend([SECRET, SECRET + "x", SECRET, SECRET])
    assert _read(confirm=True) == SECRET.encode()
    assert "do not match" in capsys.readouterr().err


def test_three_mismatches_give_up(answers: list[str]) -> None:
    """After three failed confirmations pinctl stops instead of looping forever."""
    answers.extend(["a1", "b1", "a2", "b2", "a3", "b3", "never", "never"])
    with pytest.raises(PassphraseError, match="after 3 tries"):
        _read(confirm=True)
    assert answers == ["never", "never"]


def test_an_empty_answer_is_refused_and_asked_again(
    answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Pressing Enter is not a passphrase; the user is asked again."""
    answers.extend(["", SECRET, SECRET])
    assert _read(confirm=True) == SECRET.encode()
    assert "empty passphrase" in capsys.readouterr().err


def test_end_of_input_at_the_prompt_is_an_error(answers: list[str]) -> None:
    """Ctrl-D at the prompt stops cleanly with a one-line error."""
    with pytest.raises(PassphraseError, match="no passphrase was entered"):
        _read()


def test_a_terminal_that_cannot_hide_input_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """When getpass would fall back to echoing, pinctl refuses rather than show the passphrase."""
    import getpass
    import warnings

    def echoing(prompt: str = "", stream: object = None) -> str:
        warnings.warn("Can not control echo on the terminal.", getpass.GetPassWarning, 2)
        return SECRET

    monkeypatch.setattr(sys, "stdin", _FakeTty())
    monkeypatch.setattr(getpass, "getpass", echoing)
    # Python's own filters, not the suite's (which make every warning an error): pinctl
    # must refuse by itself, where a user's warning would only be printed.
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        with pytest.raises(PassphraseError, match="cannot turn off echo"):
            _read()


# A real pseudo-terminal: what a person sees, and that the passphrase is never echoed.

_CHILD = """
import sys
from pinctl.pki.passphrase import read_passphrase
secret = read_passphrase(None, None, prompt="Passphrase: ", confirm=True, required=True)
open(sys.argv[1], "wb").write(secret)
"""


def test_the_prompt_runs_on_the_terminal_without_echo(tmp_path: Path) -> None:
    """On a real terminal the passphrase is asked twice, re-asked on mismatch, never echoed."""
    out = tmp_path / "secret"
    screen = run_on_pty(
        [sys.executable, "-c", _CHILD, str(out)],
        [
            (b"Passphrase:", b"first-try\n"),
            (b"again:", b"typo\n"),
            (b"Passphrase:", SECRET.encode() + b"\n"),
            (b"again:", SECRET.encode() + b"\n"),
        ],
    )
    assert out.read_bytes() == SECRET.encode()
    assert b"do not match" in screen
    assert SECRET.encode() not in screen
    assert b"first-try" not in screen
    assert b"typo" not in screen


def test_the_pty_harness_sees_echoed_input(tmp_path: Path) -> None:
    """The harness would catch an echo: plain input() on the same pty shows what was typed."""
    child = "import sys; open(sys.argv[1], 'w').write(input('Passphrase: '))"
    out = tmp_path / "typed"
    screen = run_on_pty([sys.executable, "-c", child, str(out)], [(b"Passphrase:", b"visible\n")])
    assert out.read_text() == "visible"
    assert b"visible" in screen


def test_max_tries_is_three() -> None:
    """The retry bound in the brief; a larger one would keep a script stuck on a prompt."""
    assert passphrase.MAX_TRIES == 3
