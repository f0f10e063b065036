"""`pinctl backup-keygen`: keys openssl can open, pins openssl agrees with, files that are safe."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import InputError, PassphraseError, UsageError
from pinctl.pinfile.backups import BackupRecorder
from pinctl.pinfile.model import Change
from pinctl.pki import csr, keygen
from pinctl.pki.keygen import KEY_TYPES
from tests.support.judges import openssl, openssl_fails, openssl_pin
from tests.support.privileges import unprivileged
from tests.support.pty import run_on_pty

PASSPHRASE = "correct horse battery staple 4"
SUBJECT = "emailAddress=ops@example.com,CN=api.example.com,O=Example\\, Inc.,C=DE"
SANS = ("DNS:api.example.com", "DNS:*.api.example.com", "IP:192.0.2.7", "IP:2001:db8::7")


@dataclass
class Batch:
    key_type: str
    out_dir: Path
    passfile: Path
    proc: subprocess.CompletedProcess[str]

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.proc.stdout)
        return document

    @property
    def keys(self) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = self.document["keys"]
        return keys


@pytest.fixture(scope="module")
def passfile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "pass.txt"
    path.write_text(PASSPHRASE + "\n")
    return path


@pytest.fixture(scope="module", params=KEY_TYPES)
def batch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, passfile: Path
) -> Batch:
    """One run per key type through the real entry point; RSA-4096 is made once, here."""
    key_type = request.param
    out_dir = tmp_path_factory.mktemp(key_type) / "keys"
    count = "1" if key_type.startswith("rsa") else "2"
    argv = [sys.executable, "-m", "pinctl", "backup-keygen", "--type", key_type]
    argv += ["--count", count, "--out-dir", str(out_dir), "--passphrase-file", str(passfile)]
    argv += ["--csr", "--subject", SUBJECT, *(f"--san={san}" for san in SANS), "-o", "json"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    return Batch(key_type, out_dir, passfile, proc)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text(PASSPHRASE + "\n")
    return path


def kg(run: Any, *args: str | Path, env: dict[str, str] | None = None) -> Any:
    """`pinctl backup-keygen ARGS...` in-process, through the real error boundary."""
    return run(["backup-keygen", *map(str, args)], env=env)


def _listing(directory: Path) -> dict[str, bytes]:
    return (
        {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}
    )


# Every key type, cross-checked with the openssl CLI --------------------------------------


def test_a_batch_succeeds_quietly_and_says_nothing_secret(batch: Batch) -> None:
    """Exit 0, JSON on stdout, nothing on a non-terminal stderr, the passphrase nowhere."""
    assert batch.proc.returncode == 0, batch.proc.stderr
    assert batch.proc.stderr == ""
    assert batch.document["type"] == batch.key_type
    assert batch.document["encrypted"] is True
    assert PASSPHRASE not in batch.proc.stdout
    assert "PRIVATE KEY" not in batch.proc.stdout
    expected = 1 if batch.key_type.startswith("rsa") else 2
    assert [key["number"] for key in batch.keys] == list(range(1, expected + 1))


def test_openssl_decrypts_every_key_with_the_passphrase(batch: Batch) -> None:
    """`openssl pkey -passin file:` opens each key; the wrong passphrase does not."""
    wrong = batch.passfile.with_name("wrong.txt")
    wrong.write_text(PASSPHRASE + "!\n")
    for key in batch.keys:
        text = Path(key["key_file"]).read_text()
        assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
        openssl("pkey", "-in", key["key_file"], "-passin", f"file:{batch.passfile}", "-noout")
        assert openssl_fails("pkey", "-in", key["key_file"], "-passin", f"file:{wrong}", "-noout")


def test_printed_pins_equal_openssl_on_the_public_key(batch: Batch) -> None:
    """The pin printed for each key is openssl's pipeline run on the .pub.pem."""
    for key in batch.keys:
        der = openssl("pkey", "-pubin", "-in", key["public_key_file"], "-outform", "der")
        assert key["spki"]["sha256"] == openssl_pin(der)


def test_printed_pins_equal_openssl_on_the_decrypted_private_key(batch: Batch) -> None:
    """The pin is of the private key's own public half, derived by openssl after decryption."""
    pins = []
    for key in batch.keys:
        der = openssl(
            "pkey",
            "-in",
            key["key_file"],
            "-passin",
            f"file:{batch.passfile}",
            "-pubout",
            "-outform",
            "der",
        )
        assert key["spki"]["sha256"] == openssl_pin(der)
        pins.append(key["spki"]["sha256"])
    assert len(set(pins)) == len(pins)


def test_the_key_has_the_requested_type_and_size(batch: Batch) -> None:
    """openssl sees the algorithm, curve or modulus size that --type asked for."""
    expected = {
        "ec-p256": "prime256v1",
        "ec-p384": "secp384r1",
        "rsa-2048": "(2048 bit)",
        "rsa-3072": "(3072 bit)",
        "rsa-4096": "(4096 bit)",
        "ed25519": "ED25519 Public-Key",
    }[batch.key_type]
    for key in batch.keys:
        text = openssl("pkey", "-pubin", "-in", key["public_key_file"], "-text", "-noout")
        assert expected in text.decode()


def test_pinctl_pin_reads_the_encrypted_key(batch: Batch) -> None:
    """`pinctl pin KEY --passphrase-file F` gives the pin backup-keygen printed."""
    for key in batch.keys:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pinctl",
                "pin",
                "-o",
                "pins",
                key["key_file"],
                "--passphrase-file",
                str(batch.passfile),
            ],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert (proc.returncode, proc.stderr) == (0, "")
        assert proc.stdout == key["spki"]["sha256"] + "\n"


def test_file_modes_are_0600_for_keys_0644_for_the_rest_0700_for_the_dir(batch: Batch) -> None:
    """Private keys are owner-only; public keys and CSRs are world-readable; the new dir is 0700."""
    assert stat.S_IMODE(batch.out_dir.stat().st_mode) == 0o700
    for key in batch.keys:
        assert stat.S_IMODE(os.stat(key["key_file"]).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(key["public_key_file"]).st_mode) == 0o644
        assert stat.S_IMODE(os.stat(key["csr_file"]).st_mode) == 0o644
    names = sorted(p.name for p in batch.out_dir.iterdir())
    numbers = [key["number"] for key in batch.keys]
    assert names == sorted(
        f"backup-{n}.{ext}.pem" for n in numbers for ext in ("key", "pub", "csr")
    )


def test_openssl_verifies_the_csr_and_shows_subject_and_sans(batch: Batch) -> None:
    """`openssl req -verify` accepts each CSR, whose subject and SANs (not critical) are the
    ones asked for."""
    for key in batch.keys:
        proc = subprocess.run(
            ["openssl", "req", "-in", key["csr_file"], "-verify", "-noout", "-text"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "verify OK" in proc.stdout + proc.stderr
        assert (
            'Subject: C = DE, O = "Example, Inc.", CN = api.example.com, '
            "emailAddress = ops@example.com\n"
        ) in proc.stdout
        assert (
            "DNS:api.example.com, DNS:*.api.example.com, IP Address:192.0.2.7, "
            "IP Address:2001:DB8:0:0:0:0:0:7"
        ) in proc.stdout
        # Not critical: the subject names the host too (RFC 5280 4.2.1.6).
        assert "X509v3 Subject Alternative Name: \n" in proc.stdout
        signed = {"ec-p256": "ecdsa-with-SHA256", "ec-p384": "ecdsa-with-SHA384",
                  "ed25519": "ED25519"}.get(batch.key_type, "sha256WithRSAEncryption")  # fmt: skip
        assert f"Signature Algorithm: {signed}\n" in proc.stdout  # each curve's own hash
        der = openssl("req", "-in", key["csr_file"], "-pubkey", "-noout")
        spki = openssl("pkey", "-pubin", "-outform", "der", data=der)
        assert openssl_pin(spki) == key["spki"]["sha256"]


def test_openssl_rejects_a_tampered_csr(batch: Batch, tmp_path: Path) -> None:
    """The failing twin: one changed letter in the subject and `openssl req -verify` refuses it."""
    der = openssl("req", "-in", batch.keys[0]["csr_file"], "-outform", "der")
    assert der.count(b"api.example.com") >= 1
    der = der.replace(b"api.example.com", b"apj.example.com", 1)
    bad = tmp_path / "bad.csr"
    bad.write_bytes(der)
    # openssl 3.0 exits 0 on a bad CSR signature; only its message tells
    proc = subprocess.run(
        ["openssl", "req", "-inform", "der", "-in", str(bad), "-verify", "-noout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "verify OK" not in proc.stdout + proc.stderr
    assert proc.returncode != 0 or "verify failure" in proc.stderr


# The encryption -------------------------------------------------------------------------


def test_keys_use_pbes2_with_a_strong_kdf(tmp_path: Path, secret_file: Path, run: Any) -> None:
    """PBKDF2-HMAC-SHA256 with 600000 rounds and AES-256-CBC, not the 2048 rounds of the default."""
    result = kg(
        run,
        "--count",
        "1",
        "--out-dir",
        tmp_path / "k",
        "--passphrase-file",
        secret_file,
        "-o",
        "pins",
    )
    assert result.exit_code == 0, result.stderr
    parsed = openssl("asn1parse", "-in", str(tmp_path / "k" / "backup-1.key.pem")).decode()
    assert ":PBES2" in parsed
    assert ":PBKDF2" in parsed
    assert ":hmacWithSHA256" in parsed
    assert ":aes-256-cbc" in parsed
    rounds = re.search(r"prim: INTEGER\s+:([0-9A-F]+)", parsed)
    assert rounds is not None
    assert int(rounds.group(1), 16) == keygen.PBKDF2_ITERATIONS >= 600_000
    # A 16-byte random salt (as NIST SP 800-132 asks) and AES's 16-byte IV, in that order.
    assert [int(n) for n in re.findall(r"hl=2 l= *(\d+) prim: OCTET STRING", parsed)][:2] == [
        16,
        16,
    ]


def test_two_keys_never_share_salt_or_iv(tmp_path: Path, secret_file: Path, run: Any) -> None:
    """Each key file gets its own random salt and IV, so equal passphrases leak nothing."""
    result = kg(run, "--out-dir", tmp_path, "--passphrase-file", secret_file)
    assert result.exit_code == 0, result.stderr
    dumps = [
        re.findall(
            r"OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)", openssl("asn1parse", "-in", str(p)).decode()
        )
        for p in sorted(tmp_path.glob("*.key.pem"))
    ]
    assert len(dumps) == 2
    assert not set(dumps[0]) & set(dumps[1])


def test_no_encrypt_writes_a_plain_pkcs8_key(tmp_path: Path, run: Any) -> None:
    """--no-encrypt, said explicitly, writes an unencrypted PKCS#8 key openssl reads as is."""
    result = kg(run, "--count", "1", "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    key = tmp_path / "backup-1.key.pem"
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    der = openssl("pkey", "-in", str(key), "-pubout", "-outform", "der")
    assert result.stdout.splitlines()[1].endswith(openssl_pin(der))


def test_no_passphrase_source_off_a_terminal_is_an_error(tmp_path: Path, run: Any) -> None:
    """Without a source and without a terminal, pinctl refuses rather than write a plain key."""
    result = kg(run, "--out-dir", tmp_path / "k")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "pinctl: error: a passphrase is needed and stdin is not a terminal to ask on; "
        "give --passphrase-file FILE or --passphrase-env VAR, or --no-encrypt\n"
    )
    assert not (tmp_path / "k").exists()


def test_an_empty_passphrase_is_refused(tmp_path: Path, run: Any) -> None:
    """An empty passphrase file writes nothing."""
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    result = kg(run, "--out-dir", tmp_path / "k", "--passphrase-file", empty)
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: the passphrase from passphrase file {empty} is empty; "
        "an empty passphrase protects nothing\n"
    )
    assert not (tmp_path / "k").exists()


def test_the_passphrase_can_come_from_the_environment(tmp_path: Path, run: Any) -> None:
    """--passphrase-env VAR encrypts with the variable's value, which openssl reads as env:VAR."""
    env = {"BACKUP_PASS": PASSPHRASE}
    result = kg(
        run,
        "--count",
        "1",
        "--out-dir",
        tmp_path,
        "--passphrase-env",
        "BACKUP_PASS",
        "-o",
        "pins",
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    os.environ["PINCTL_TEST_BACKUP_PASS"] = PASSPHRASE
    try:
        der = openssl(
            "pkey",
            "-in",
            str(tmp_path / "backup-1.key.pem"),
            "-pubout",
            "-outform",
            "der",
            "-passin",
            "env:PINCTL_TEST_BACKUP_PASS",
        )
    finally:
        del os.environ["PINCTL_TEST_BACKUP_PASS"]
    assert result.stdout == openssl_pin(der) + "\n"
    assert PASSPHRASE not in result.stdout + result.stderr


def test_no_encrypt_with_a_passphrase_is_a_contradiction(
    tmp_path: Path, secret_file: Path, run: Any
) -> None:
    """Asking for both is a usage error, not a guess."""
    result = kg(run, "--no-encrypt", "--passphrase-file", secret_file, "--out-dir", tmp_path / "k")
    assert result.exit_code == 2
    assert "contradict" in result.stderr
    assert not (tmp_path / "k").exists()


def test_no_subprocess_is_started(
    tmp_path: Path, secret_file: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pinctl runs no helper program, so the passphrase cannot reach any process's argv."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"backup-keygen started a process: {args!r}")

    for name in ("Popen", "run", "call", "check_output"):
        monkeypatch.setattr(subprocess, name, forbidden)
    for name in ("system", "posix_spawn", "posix_spawnp", "fork", "execv", "execve"):
        monkeypatch.setattr(os, name, forbidden)
    result = kg(
        run, "--csr", "--subject", "CN=x", "--out-dir", tmp_path, "--passphrase-file", secret_file
    )
    assert result.exit_code == 0, result.stderr


# Never overwrite, all or nothing ---------------------------------------------------------


def test_an_existing_file_is_never_overwritten(tmp_path: Path, secret_file: Path, run: Any) -> None:
    """If any target exists nothing is written, the error names it, old files stay identical."""
    first = kg(run, "--out-dir", tmp_path, "--passphrase-file", secret_file)
    assert first.exit_code == 0, first.stderr
    (tmp_path / "backup-1.key.pem").unlink()
    (tmp_path / "backup-1.pub.pem").unlink()
    before = _listing(tmp_path)
    again = kg(run, "--out-dir", tmp_path, "--passphrase-file", secret_file)
    assert again.exit_code == 2
    assert again.stdout == ""
    assert again.stderr.startswith(
        f"pinctl: error: {tmp_path / 'backup-2.key.pem'} already exists (and 1 more); "
        "pinctl never overwrites"
    )
    assert _listing(tmp_path) == before


def test_another_prefix_in_the_same_directory_works(
    tmp_path: Path, secret_file: Path, run: Any
) -> None:
    """The twin of the refusal: a free name in the same directory is written."""
    (tmp_path / "backup-1.key.pem").write_text("keep me")
    result = kg(
        run,
        "--prefix",
        "spare",
        "--out-dir",
        tmp_path,
        "--passphrase-file",
        secret_file,
        "-o",
        "pins",
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "backup-1.key.pem").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.glob("spare-*")) == [
        "spare-1.key.pem",
        "spare-1.pub.pem",
        "spare-2.key.pem",
        "spare-2.pub.pem",
    ]


def test_a_dangling_symlink_counts_as_taken(tmp_path: Path, run: Any) -> None:
    """A symlink where a key would go is refused, never followed."""
    (tmp_path / "backup-1.key.pem").symlink_to(tmp_path / "elsewhere.pem")
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"pinctl: error: {tmp_path / 'backup-1.key.pem'} already exists; pinctl never overwrites"
    ), "one taken name is named alone, with no '(and 0 more)'"
    assert not (tmp_path / "elsewhere.pem").exists()


def test_a_full_disk_midway_leaves_no_files(
    tmp_path: Path, secret_file: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on the second key removes the first key's files and the directory it made."""
    real_fsync = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:  # backup-1.key.pem, backup-1.pub.pem, then backup-2.key.pem
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out_dir = tmp_path / "new" / "keys"
    result = kg(run, "--out-dir", out_dir, "--passphrase-file", secret_file)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"pinctl: error: cannot write {out_dir / 'backup-2.key.pem'}: No space left on device; "
        "removed the 2 files this run had written\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["pass.txt"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device"),
     (OSError(), "Input/output error")],
    ids=["enospc", "no-errno"],
)  # fmt: skip
def test_a_failure_in_an_existing_directory_keeps_the_directory(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str
) -> None:
    """An OSError from the file layer on file 2 removes file 1 and leaves other files alone;
    one that names no error (raised by a layer, not the OS) is reported as an I/O error."""
    from pinctl import files

    (tmp_path / "unrelated.txt").write_text("mine")
    real = files.create_exclusive
    calls: list[Path] = []

    def create_exclusive(path: Path, data: bytes, *, mode: int) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise error
        real(path, data, mode=mode)

    monkeypatch.setattr(files, "create_exclusive", create_exclusive)
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert f"{reason}; removed the 1 file this run had written" in result.stderr
    assert _listing(tmp_path) == {"unrelated.txt": b"mine"}


def test_an_uncreatable_directory_is_a_clean_error(tmp_path: Path, run: Any) -> None:
    """mkdir refused by the OS is one line naming the directory, exit 2, nothing written."""
    (tmp_path / "f").write_text("a file where a directory should go\n")
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path / "f" / "k")
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: cannot write keys into {tmp_path / 'f' / 'k'}: {tmp_path / 'f'} "
        "is not a writable directory\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_mkdir_refused_by_the_os_is_a_clean_error(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mkdir the OS refuses after the checks passed is one line, exit 2, nothing written."""

    def refuse(self: Path, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)  # Path.mkdir on every Python, unlike os.mkdir
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path / "k")
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: cannot create directory {tmp_path / 'k'}: Permission denied\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling-link", "directory"])
def test_a_parent_that_appears_as_it_is_made_is_stepped_over(
    tmp_path: Path, run: Any, dangling: bool
) -> None:
    """A parent that exists once mkdir runs (made meanwhile, or a dangling symbolic link,
    which `exists()` calls absent) is stepped over, and the directories below it are still
    made or refused by name: the link's child cannot be made, one line, exit 2, nothing
    written; with a real directory there, the keys are written below it."""
    parent = tmp_path / "a"
    if dangling:
        parent.symlink_to(tmp_path / "nowhere")
    else:
        parent.mkdir()
    result = kg(run, "--no-encrypt", "--out-dir", parent / "b")
    if dangling:
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"pinctl: error: cannot create directory {parent / 'b'}: No such file or directory\n"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    else:
        assert result.exit_code == 0, result.stderr
        assert sorted(p.name for p in (parent / "b").iterdir())[0].startswith("backup-")


def test_a_read_only_directory_is_refused_before_generating(tmp_path: Path) -> None:
    """Without write permission the run stops at once, before any key is made (as root too:
    the child runs without root's permission override, tests/support/privileges.py)."""
    tmp_path.chmod(0o500)
    argv = [sys.executable, "-m", "pinctl", "backup-keygen", "--no-encrypt", "--out-dir"]
    try:
        done = subprocess.run(
            unprivileged([*argv, str(tmp_path)]),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    finally:
        tmp_path.chmod(0o700)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pinctl: error: ")
    assert "is not a writable directory" in done.stderr
    assert done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_writable_twin_of_the_read_only_directory(tmp_path: Path) -> None:
    """The same unprivileged child writes its key into a directory it may write to."""
    argv = [sys.executable, "-m", "pinctl", "backup-keygen", "--no-encrypt", "--count", "1"]
    done = subprocess.run(
        unprivileged([*argv, "--type", "ec-p256", "--out-dir", str(tmp_path)]),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir())


def test_an_out_dir_below_a_file_is_refused(tmp_path: Path, run: Any) -> None:
    """A path through a regular file cannot hold keys; the error says which part is wrong."""
    (tmp_path / "afile").write_text("")
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path / "afile" / "k")
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: cannot write keys into {tmp_path / 'afile' / 'k'}: "
        f"{tmp_path / 'afile'} is not a writable directory\n"
    )


def test_an_existing_out_dir_keeps_its_mode(tmp_path: Path, run: Any) -> None:
    """pinctl tightens only what it creates; an existing directory's mode is the user's."""
    tmp_path.chmod(0o755)
    result = kg(run, "--count", "1", "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


# Options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["rsa-1024", "RSA-1024", "ec-p224", "dsa"])
def test_a_weak_type_is_refused_as_weak(tmp_path: Path, run: Any, weak: str) -> None:
    """Asking for a weak key is told why, not just that the name is unknown."""
    result = kg(run, "--type", weak, "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert "is too weak for a key that must stay safe for years" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_type_is_refused(tmp_path: Path, run: Any) -> None:
    """A type pinctl does not know lists the ones it does."""
    result = kg(run, "--type", "ec-p999", "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert "'ec-p999' is not one of 'ec-p256'" in result.stderr


def test_the_type_is_case_insensitive(tmp_path: Path, run: Any) -> None:
    """--type ED25519 is ed25519."""
    result = kg(
        run,
        "--type",
        "ED25519",
        "--count",
        "1",
        "--no-encrypt",
        "--out-dir",
        tmp_path,
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "ed25519"


@pytest.mark.parametrize("count", ["0", "-1", "101", "many"])
def test_count_must_be_from_1_to_100(tmp_path: Path, run: Any, count: str) -> None:
    """--count outside 1..100 is a usage error."""
    result = kg(run, "--count", count, "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert "--count" in result.stderr


@pytest.mark.parametrize("prefix", ["", "a/b", "..", "."])
def test_a_prefix_cannot_be_a_path(tmp_path: Path, run: Any, prefix: str) -> None:
    """--prefix names files; directories belong in --out-dir."""
    result = kg(run, "--prefix", prefix, "--no-encrypt", "--out-dir", tmp_path)
    assert result.exit_code == 2
    assert "put directories in --out-dir" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [["--csr"], ["--subject", "CN=x"], ["--san", "DNS:x"], ["--san", "DNS:x", "--subject", "CN=x"]],
)
def test_csr_options_come_together(tmp_path: Path, run: Any, args: list[str]) -> None:
    """--csr needs --subject, and --subject or --san alone is not silently ignored."""
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path, *args)
    assert result.exit_code == 2
    assert "--csr needs --subject" in result.stderr


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("CN", "'CN' is not KEY=VALUE"),
        ("X=1", "'X=1' is not KEY=VALUE"),
        ("CN=a,,O=b", "'' is not KEY=VALUE"),
        ("C=USA", "C='USA'"),
        ("CN=", "CN=''"),
        ("1.2.3=foo", "'1.2.3=foo' is not KEY=VALUE"),
        ("CN=a\\", "ends in a '\\' that escapes nothing"),
        ("/O=b/CN=a\\\\\\", "ends in a '\\' that escapes nothing"),
    ],
)
def test_a_bad_subject_is_refused_before_any_key(
    tmp_path: Path, run: Any, subject: str, message: str
) -> None:
    """A subject typo is caught before generation, with the part at fault named."""
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path, "--csr", "--subject", subject)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: --subject {subject!r}:")
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("subject", ["", "  ", "/"])
def test_an_empty_subject_is_refused_as_such(tmp_path: Path, run: Any, subject: str) -> None:
    """An empty --subject (a shell variable that was not set) is named as empty, with an
    example, before any key is made."""
    result = kg(run, "--no-encrypt", "--out-dir", tmp_path, "--csr", "--subject", subject)
    assert result.exit_code == 2
    assert result.stderr == (
        'pinctl: error: --subject is empty; write e.g. "CN=api.example.com,O=Example"\n'
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("san", "why"),
    [("URI:https://x", ""), ("DNS:", ""), ("DNS:bad_name", ""), ("DNS:-x.example", ""),
     ("IP:300.1.1.1", " '300.1.1.1' is not an IP address\n"), ("api.example", "")],
)  # fmt: skip
def test_a_bad_san_is_refused(tmp_path: Path, run: Any, san: str, why: str) -> None:
    """SANs are DNS:name or IP:address; anything else is named in the error, and an IP
    that is none says so."""
    result = kg(
        run, "--no-encrypt", "--out-dir", tmp_path, "--csr", "--subject", "CN=x", "--san", san
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: --san {san!r}:{why}")
    assert list(tmp_path.iterdir()) == []


def test_subjects_parse_in_both_spellings() -> None:
    """RFC 4514 (most specific first) and openssl's /C=../CN=.. give the same DER order."""
    rfc = csr.parse_subject("CN=a.example,O=Ex\\, Inc,C=DE")
    slash = csr.parse_subject("/C=DE/O=Ex, Inc/CN=a.example")
    assert rfc == slash
    assert [attr.value for attr in rfc] == ["DE", "Ex, Inc", "a.example"]
    assert rfc.rfc4514_string() == "CN=a.example,O=Ex\\, Inc,C=DE"
    escaped = csr.parse_subject("/O=b/CN=a\\\\")  # an escaped backslash ends a value well
    assert [attr.value for attr in escaped] == ["b", "a\\"]


def test_san_spellings() -> None:
    """Prefixes are case-insensitive, names lower-cased, IDNs turned into A-labels."""
    from cryptography import x509

    assert csr.parse_san("dns:API.Example.com") == x509.DNSName("api.example.com")
    assert csr.parse_san("DNS:bücher.example") == x509.DNSName("xn--bcher-kva.example")
    assert csr.parse_san("DNS:*.example.com") == x509.DNSName("*.example.com")
    assert isinstance(csr.parse_san("ip:::1"), x509.IPAddress)


@pytest.mark.parametrize(
    "value",
    [
        "bad_label.example.com",
        "-x.example.com",
        "*.com",
        "a.*.example.com",
        "*.bad_label.example.com",  # the label right after the wildcard counts too
        "*x.example",
        "bü..example",  # an IDN with an empty label: no A-label form at all
    ],
)
def test_san_names_no_client_accepts_are_refused(value: str) -> None:
    """An invalid label anywhere (also in a name of three labels or more), a wildcard over a
    single label, or one that is not the whole leftmost label: refused, naming the value."""
    with pytest.raises(UsageError) as refused:
        csr.parse_san(f"DNS:{value}")
    assert str(refused.value) == f"--san 'DNS:{value}': {value!r} is not a valid host name"


@pytest.mark.parametrize("value", ["email:a@example.com", "URI:https://a.example", "DNS"])
def test_san_kinds_other_than_dns_and_ip_are_refused(value: str) -> None:
    """Only DNS:name and IP:address go into a CSR; another kind (or no value) is refused, not
    written as a DNS name."""
    with pytest.raises(UsageError) as refused:
        csr.parse_san(value)
    assert str(refused.value).endswith("write DNS:name or IP:address, e.g. DNS:api.example.com")


@given(st.text(max_size=60))
def test_any_subject_text_parses_or_raises_the_clean_error(text: str) -> None:
    """Whatever is typed, parse_subject returns a Name or raises UsageError, nothing else."""
    with contextlib.suppress(UsageError):
        csr.parse_subject(text)


@given(st.text(max_size=60))
def test_any_san_text_parses_or_raises_the_clean_error(text: str) -> None:
    """Whatever is typed, parse_san returns a GeneralName or raises UsageError, nothing else."""
    with contextlib.suppress(UsageError):
        csr.parse_san(text)


# Output ----------------------------------------------------------------------------------


def test_pins_output_is_one_pin_per_line(tmp_path: Path, run: Any) -> None:
    """-o pins prints exactly the pins of the .pub.pem files, in key order."""
    result = kg(run, "--count", "3", "--no-encrypt", "--out-dir", tmp_path, "-o", "pins")
    assert result.exit_code == 0, result.stderr
    expected = [
        openssl_pin(
            openssl(
                "pkey", "-pubin", "-in", str(tmp_path / f"backup-{n}.pub.pem"), "-outform", "der"
            )
        )
        for n in (1, 2, 3)
    ]
    assert result.stdout.splitlines() == expected
    assert result.stderr == ""


def test_table_output_off_a_terminal_is_plain_columns(tmp_path: Path, run: Any) -> None:
    """Piped, the table is aligned plain text with a header row and no colour codes."""
    result = kg(
        run, "--count", "1", "--no-encrypt", "--out-dir", tmp_path, "--csr", "--subject", "CN=x"
    )
    assert result.exit_code == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split("  ")[0] == "private key"
    assert re.fullmatch(
        rf"{re.escape(str(tmp_path))}/backup-1\.key\.pem +\S+/backup-1\.pub\.pem +"
        r"\S+/backup-1\.csr\.pem +ec-p256 +sha256/[A-Za-z0-9+/]{43}=",
        row,
    )
    assert "\x1b" not in result.stdout


def test_json_output_documents_the_files(tmp_path: Path, run: Any) -> None:
    """-o json names every file and the key, and says whether the keys are encrypted."""
    result = kg(run, "--count", "1", "--no-encrypt", "--out-dir", tmp_path, "-o", "json")
    document = json.loads(result.stdout)
    assert document == {
        "type": "ec-p256",
        "encrypted": False,
        "out_dir": str(tmp_path),
        "subject": None,
        "host": None,
        "pin_file": None,
        "keys": [
            {
                "number": 1,
                "key_file": str(tmp_path / "backup-1.key.pem"),
                "public_key_file": str(tmp_path / "backup-1.pub.pem"),
                "csr_file": None,
                "key": {"type": "ec", "bits": 256},
                "spki": {"sha256": document["keys"][0]["spki"]["sha256"]},
            }
        ],
    }


# On a real terminal ----------------------------------------------------------------------


def test_on_a_terminal_it_asks_twice_spins_for_rsa_and_reminds(tmp_path: Path) -> None:
    """At a terminal: two prompts with no echo, an RSA spinner, and the offline-storage reminder."""
    secret = PASSPHRASE.encode()
    screen = run_on_pty(
        [
            sys.executable,
            "-m",
            "pinctl",
            "backup-keygen",
            "--type",
            "rsa-2048",
            "--count",
            "1",
            "--out-dir",
            str(tmp_path / "k"),
        ],
        [(b"new keys:", secret + b"\n"), (b"again:", secret + b"\n")],
    )
    assert secret not in screen
    assert b"generating rsa-2048 key 1 of 1" in screen
    assert b"offline or HSM-backed storage" in screen
    assert (tmp_path / "k" / "backup-1.key.pem").exists()
    openssl(
        "pkey",
        "-in",
        str(tmp_path / "k" / "backup-1.key.pem"),
        "-passin",
        f"pass:{PASSPHRASE}",
        "-noout",
    )


# --host: the pins go into the pin file as backups ---------------------------------------

PIN_FILE = """\
# reviewed by the platform team
version = 1

[[hosts]]
host = "api.example.com"  # production API
pins = [
  { pin = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=", level = "leaf" },
]
"""


def test_host_adds_the_pins_as_backups_naming_the_key_files(
    tmp_path: Path, secret_file: Path, run: Any
) -> None:
    """Each pin lands on the host as backup = true with the key file as its note; comments stay."""
    from pinctl.pinfile import reader as pinfile

    pins_toml = tmp_path / "pins.toml"
    pins_toml.write_text(PIN_FILE)
    out_dir = tmp_path / "keys"
    result = kg(
        run,
        "--host",
        "api.example.com",
        "--pin-file",
        pins_toml,
        "--out-dir",
        out_dir,
        "--passphrase-file",
        secret_file,
        "-o",
        "pins",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"added 2 backup pins for api.example.com:443 to {pins_toml}\n"
    text = pins_toml.read_text()
    assert text.startswith(PIN_FILE.split("]\n")[0])
    assert "# reviewed by the platform team" in text
    assert "# production API" in text
    assert PASSPHRASE not in text
    (host,) = pinfile.load(pins_toml).hosts
    backups = [p for p in host.pins if p.backup]
    assert [str(p.pin) for p in backups] == result.stdout.splitlines()
    # relative to the pin file's directory, never this machine's absolute path
    base = pins_toml.parent
    expected = [(out_dir / f"backup-{n}.key.pem").relative_to(base).as_posix() for n in (1, 2)]
    assert [p.note for p in backups] == expected
    assert all(p.level == "leaf" for p in backups)


def test_recording_the_pins_returns_its_change(tmp_path: Path) -> None:
    """With a host, the result carries the pin file's Change: the backup pins it added."""
    pins_toml = tmp_path / "pins.toml"
    pins_toml.write_text(PIN_FILE)
    request = keygen.KeygenRequest(count=2, out_dir=tmp_path / "keys")
    record = BackupRecorder(pins_toml, "api.example.com:443")
    result = keygen.generate_backup_keys(request, None, record=record)
    change = result.recorded
    assert isinstance(change, Change)
    assert change.label == "api.example.com:443"
    assert [p.pin for p in change.added] == [key.pin for key in result.keys]
    assert all(p.backup for p in change.added)
    assert change.changed


def test_without_a_host_there_is_no_change(tmp_path: Path) -> None:
    """Failing twin: without a host no pin file is touched, and the result has no Change."""
    request = keygen.KeygenRequest(count=1, out_dir=tmp_path / "keys")
    assert keygen.generate_backup_keys(request, None).recorded is None
    assert not (tmp_path / "pins.toml").exists()


def test_a_pin_file_that_is_a_fifo_is_refused_before_any_key(tmp_path: Path, run: Any) -> None:
    """--pin-file naming a FIFO exits 2 at once (no hang) and writes no key."""
    fifo = tmp_path / "pins.toml"
    os.mkfifo(fifo)
    keys = tmp_path / "keys"
    result = kg(run, "--no-encrypt", "--host", "a.test", "--pin-file", fifo, "--out-dir", keys)
    assert result.exit_code == 2
    assert "is a FIFO (named pipe), not a regular file" in result.stderr
    assert not keys.exists()


def test_host_creates_the_pin_file_and_keeps_the_port(tmp_path: Path, run: Any) -> None:
    """A missing pin file is created; H:PORT becomes a host entry with that port."""
    from pinctl.pinfile import reader as pinfile

    pins_toml = tmp_path / "pins.toml"
    result = kg(
        run,
        "--count",
        "1",
        "--no-encrypt",
        "--host",
        "[::1]:8443",
        "--pin-file",
        pins_toml,
        "--out-dir",
        tmp_path,
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["host"], document["pin_file"]) == ("[::1]:8443", str(pins_toml))
    (host,) = pinfile.load(pins_toml).hosts
    assert (host.host, host.port) == ("::1", 8443)
    assert [str(p.pin) for p in host.pins] == [document["keys"][0]["spki"]["sha256"]]


def test_the_pin_file_comes_from_the_environment(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PINCTL_PIN_FILE names the pin file when --pin-file is not given."""
    pins_toml = tmp_path / "env-pins.toml"
    result = kg(
        run,
        "--count",
        "1",
        "--no-encrypt",
        "--host",
        "h.example",
        "--out-dir",
        tmp_path / "k",
        env={"PINCTL_PIN_FILE": str(pins_toml)},
    )
    assert result.exit_code == 0, result.stderr
    assert "h.example" in pins_toml.read_text()


def test_an_invalid_pin_file_stops_the_run_before_any_key(
    tmp_path: Path, secret_file: Path, run: Any
) -> None:
    """A broken pin file is reported with its line before keys are made or a passphrase read."""
    pins_toml = tmp_path / "pins.toml"
    pins_toml.write_text(PIN_FILE.replace("level =", "levle ="))
    result = kg(
        run,
        "--host",
        "api.example.com",
        "--pin-file",
        pins_toml,
        "--out-dir",
        tmp_path / "keys",
        "--passphrase-file",
        secret_file,
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: {pins_toml}:")
    assert not (tmp_path / "keys").exists()
    assert pins_toml.read_text() == PIN_FILE.replace("level =", "levle =")


def test_a_pin_file_that_cannot_be_written_removes_the_keys(
    tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while saving the pin file undoes the run: no keys whose pins were not recorded."""
    import tempfile

    pins_toml = tmp_path / "pins.toml"
    pins_toml.write_text(PIN_FILE)

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkstemp", full)
    result = kg(
        run,
        "--no-encrypt",
        "--host",
        "api.example.com",
        "--pin-file",
        pins_toml,
        "--out-dir",
        tmp_path / "keys",
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: cannot write {pins_toml}: No space left on device; "
        "removed the 4 files this run had written\n"
    )
    # The lock beside the pin file is kept on purpose: it is never deleted.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pins.toml.lock", "pins.toml"]
    assert pins_toml.read_text() == PIN_FILE


@pytest.mark.parametrize(
    "sealing",
    [["--no-encrypt"], ["--passphrase-file", "/nonexistent/pass"]],
    ids=["plain", "sealed"],
)
def test_a_bad_host_is_refused_before_any_key(tmp_path: Path, run: Any, sealing: list[str]) -> None:
    """--host takes H[:PORT]; a bad port is a usage error and nothing is written, even
    while the pin file is still to be created: it is refused before the passphrase is
    read (a missing passphrase file is not what is reported)."""
    result = kg(
        run,
        *sealing,
        "--host",
        "api.example.com:99999",
        "--pin-file",
        tmp_path / "p.toml",
        "--out-dir",
        tmp_path / "k",
    )
    assert result.exit_code == 2
    assert "port '99999'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_key_whose_encryption_does_not_round_trip_is_never_written(
    tmp_path: Path, secret_file: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every encrypted key is decrypted again before it is written: should it not give back
    the generated key (a broken cipher, an injected fault here: another key is sealed), the
    run fails and writes nothing, rather than leave a backup that fails on the worst day."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from pinctl.pki import keygen

    seal = keygen._pbes2_encrypt
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setattr(keygen, "_pbes2_encrypt", lambda plain, secret: seal(other, secret))
    out_dir = tmp_path / "keys"
    result = kg(run, "--out-dir", out_dir, "--passphrase-file", secret_file)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "encrypted key does not decrypt to the generated key" in result.stderr
    assert not out_dir.exists()


@pytest.mark.parametrize(
    ("key_type", "reason"),
    [("rsa-1024", "too weak for a key that must stay safe for years"),
     ("ed448", "not a key type pinctl generates")],
)  # fmt: skip
def test_the_core_refuses_a_key_type_it_does_not_generate(
    tmp_path: Path, key_type: str, reason: str
) -> None:
    """A caller of the core (not the CLI, whose choice list stops it earlier) asking for a
    weak or unknown type gets the same reason and list, and not a key on disk."""
    keys = tmp_path / "keys"
    request = keygen.KeygenRequest(key_type=key_type, count=1, out_dir=keys)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=f"key type '{key_type}' is {reason}; use one of ec-p256"):
        keygen.generate_backup_keys(request, None)
    assert not keys.exists()
    good = keygen.KeygenRequest(key_type="ed25519", count=1, out_dir=keys)
    assert [k.key_file.name for k in keygen.generate_backup_keys(good, None).keys] == [
        "backup-1.key.pem"
    ]


@pytest.mark.parametrize("count", [0, 101])
def test_the_core_refuses_a_count_out_of_range(tmp_path: Path, count: int) -> None:
    """Twin of click's range check, for a caller of the core: 0 or 101 keys is refused with
    the range, before any key is made; 100 is allowed (tested at the CLI)."""
    keys = tmp_path / "keys"
    request = keygen.KeygenRequest(count=count, out_dir=keys)
    with pytest.raises(UsageError, match=f"--count {count}: give a number from 1 to 100"):
        keygen.generate_backup_keys(request, None)
    assert not keys.exists()


def test_the_core_refuses_an_empty_passphrase(tmp_path: Path) -> None:
    """A passphrase source that gives nothing is not taken for "no encryption": no key is
    written unencrypted by accident, and the message names --no-encrypt."""
    keys = tmp_path / "keys"
    request = keygen.KeygenRequest(count=1, out_dir=keys)
    with pytest.raises(PassphraseError, match="no passphrase was given; an unencrypted key"):
        keygen.generate_backup_keys(request, lambda: b"")
    assert not keys.exists()
    made = keygen.generate_backup_keys(request, lambda: b"right")
    assert made.encrypted
    assert b"ENCRYPTED" in made.keys[0].key_file.read_bytes()


def test_the_core_refuses_an_out_dir_that_is_a_file(tmp_path: Path) -> None:
    """Click checks --out-dir; a caller of the core gets the same refusal, and the file is
    left as it was."""
    taken = tmp_path / "keys"
    taken.write_text("not a directory\n")
    request = keygen.KeygenRequest(count=1, out_dir=taken)
    with pytest.raises(InputError, match=f"--out-dir {taken} is not a directory"):
        keygen.generate_backup_keys(request, None)
    assert taken.read_text() == "not a directory\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [(PIN_FILE, "host 'other.example.com' is not in"), ("version = 2\n", "unsupported version 2")],
    ids=["unknown-host", "invalid-pin-file"],
)
def test_a_host_or_pin_file_that_cannot_take_the_pins_is_refused_before_any_key(
    tmp_path: Path, run: Any, text: str, words: str
) -> None:
    """--host that the pin file lacks, or a pin file that does not load, exits 2 before a
    key is made or a passphrase read (here a passphrase file that is not there would be
    the error): no key file is left without its pin recorded. The twin is
    test_recording_the_pins_returns_its_change, which records them."""
    pins = tmp_path / "pins.toml"
    pins.write_text(text)
    keys = tmp_path / "keys"
    result = kg(run, "--passphrase-file", tmp_path / "no-such-file", "--count", "1",
                "--host", "other.example.com", "--pin-file", pins, "--out-dir", keys)  # fmt: skip
    assert (result.exit_code, result.stdout) == (2, "")
    assert words in result.stderr
    assert not keys.exists()
    assert pins.read_text() == text


@pytest.mark.parametrize("create", [None, True], ids=["default", "create-host"])
def test_a_recorder_adds_a_new_host_only_when_asked(tmp_path: Path, create: bool | None) -> None:
    """A recorder for a host the pin file lacks refuses by default, naming --create-host;
    asked to create it, it takes the host and the default port."""
    from pinctl.pinfile.reader import load

    pins = tmp_path / "pins.toml"
    pins.write_text(PIN_FILE)
    recorder = (
        BackupRecorder(pins, "new.example.com")
        if create is None
        else BackupRecorder(pins, "new.example.com", create_host=True)
    )
    if create is None:
        with pytest.raises(UsageError, match="add it as a new host with --create-host"):
            recorder.target(load(pins))
    else:
        assert recorder.target(load(pins)) == ("new.example.com", 443)
