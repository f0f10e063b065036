"""backup-keygen and a weak passphrase: backup keys wait offline for years, so a passphrase
under 12 characters is refused when typed (unless --weak-passphrase) and warned of when it
comes from a file or the environment. Typed passphrases go through a real pty."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.cli import Run
from tests.support.pty import converse_on_pty

PROMPT = b"Passphrase for the new keys: "
AGAIN = b"Enter the same passphrase again: "
WORDS = "a passphrase of 6 characters is weak for keys kept for years; use 12 or more"


def _typed(tmp_path: Path, secret: bytes, *extra: str) -> tuple[str, int]:
    argv = [sys.executable, "-m", "pinctl", "backup-keygen", "--count", "1",
            "--out-dir", str(tmp_path / "keys"), *extra]  # fmt: skip
    screen, code = converse_on_pty(argv, [(PROMPT, secret + b"\n"), (AGAIN, secret + b"\n")])
    return screen.decode().replace("\r", ""), code


def test_a_short_typed_passphrase_is_refused(tmp_path: Path) -> None:
    """Six characters typed twice: exit 2, the reason and the way out, and no key file."""
    screen, code = _typed(tmp_path, b"hunter")
    assert code == 2
    assert f"pinctl: error: {WORDS} (a few random words), or accept it with --weak-passphrase" in (
        screen
    )
    keys = tmp_path / "keys"
    assert not keys.exists() or list(keys.iterdir()) == []


def test_weak_passphrase_accepts_it(tmp_path: Path) -> None:
    """The twin: with --weak-passphrase the same passphrase makes the keys."""
    screen, code = _typed(tmp_path, b"hunter", "--weak-passphrase")
    assert code == 0, screen
    assert (tmp_path / "keys" / "backup-1.key.pem").exists()
    assert "is weak for keys" not in screen


def test_a_long_typed_passphrase_is_taken(tmp_path: Path) -> None:
    """Twelve characters or more pass without a word."""
    screen, code = _typed(tmp_path, b"correct horse battery")
    assert code == 0, screen
    assert "is weak for keys" not in screen


@pytest.mark.parametrize(
    ("secret", "extra", "warned"),
    [("hunter", [], True), ("hunter", ["--weak-passphrase"], False), ("x" * 11, [], True),
     ("x" * 12, [], False)],
    ids=["6", "6-accepted", "11", "12"],
)  # fmt: skip
def test_a_short_passphrase_from_the_environment_is_warned_of(
    run: Run, tmp_path: Path, secret: str, extra: list[str], warned: bool
) -> None:
    """From a file or the environment (automation) it is a warning, not a refusal."""
    result = run(
        ["backup-keygen", "--count", "1", "--out-dir", str(tmp_path / "k"),
         "--passphrase-env", "PINCTL_TEST_PASS", "-o", "pins", *extra],
        env={**os.environ, "PINCTL_TEST_PASS": secret},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert ("is weak for keys" in result.stderr) is warned
    if warned:
        words = WORDS.replace("6 characters", f"{len(secret)} characters")
        assert (
            f"pinctl: warning: {words} (a few random words); --weak-passphrase silences this\n"
            in (result.stderr)
        )
    assert secret not in result.stderr
