"""`pinctl export` as a command: stdout, stderr and exit codes through the real error boundary.

The formats themselves are checked in test_exports.py, whose Android and iOS checkers are
reused here on what the command writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pinctl.exports import FORMATS
from pinctl.pki.pins import compute
from tests.support.judges import check_android, check_ios

LEAF = compute(b"api leaf key")
SPARE = compute(b"spare key")
CDN_CERT = compute(b"cdn certificate")
CDN_CA = compute(b"cdn intermediate key")

PINS_TOML = f"""\
version = 1

[defaults]
warn_days = 30

[[hosts]]
host = "api.example.com"
pins = [
  {{ pin = "{LEAF}", level = "leaf", note = "api key", expires = 2099-03-01 }},
  {{ pin = "{SPARE}", backup = true, note = "keys/backup-1.key.pem" }},
]

[[hosts]]
host = "cdn.example.com"
include_subdomains = true
pins = [
  {{ pin = "{CDN_CERT}", kind = "cert" }},
  {{ pin = "{CDN_CA}", level = "intermediate" }},
  {{ pin = "{SPARE}", backup = true }},
]
"""


@pytest.fixture
def pins_toml(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(PINS_TOML)
    return path


def test_cli_writes_the_export_to_stdout(run: Any, pins_toml: Path) -> None:
    """`export` prints the format's text on stdout, nothing on stderr, and exits 0."""
    done = run(
        ["export", "--format", "okhttp-kotlin", "--pin-file", str(pins_toml), "api.example.com"]
    )
    assert (done.exit_code, done.stderr) == (0, "")
    assert done.stdout == (
        "val certificatePinner = CertificatePinner.Builder()\n"
        f'    .add("api.example.com", "{LEAF}") // leaf, expires 2099-03-01: api key\n'
        f'    .add("api.example.com", "{SPARE}") // leaf, backup: keys/backup-1.key.pem\n'
        "    .build()\n"
    )


def test_cli_warns_on_stderr_and_still_exports(run: Any, pins_toml: Path) -> None:
    """Left-out pins and client differences go to stderr as warnings; stdout stays parseable."""
    done = run(["export", "--format", "ios", "--pin-file", str(pins_toml)])
    assert done.exit_code == 0
    check_ios(done.stdout)
    lines = done.stderr.splitlines()
    assert all(line.startswith("pinctl: warning: ") for line in lines)
    assert any(
        f"cdn.example.com: left out {CDN_CERT} ({pins_toml}:17): a cert pin" in line
        for line in lines
    )
    assert any("one more label only" in line for line in lines)


def test_cli_refuses_an_unknown_host(run: Any, pins_toml: Path) -> None:
    """An unknown HOST is a one-line error naming it, exit 2, and no output."""
    done = run(["export", "--format", "android", "--pin-file", str(pins_toml), "nope.example.com"])
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith("pinctl: error: host 'nope.example.com' is not in ")
    assert done.stderr.count("\n") == 1


def test_cli_writes_the_output_file_atomically(run: Any, pins_toml: Path, tmp_path: Path) -> None:
    """--output-file replaces the file with the export and leaves stdout empty."""
    target = tmp_path / "network_security_config.xml"
    target.write_text("old")
    done = run(
        [
            "export",
            "--format",
            "android",
            "--pin-file",
            str(pins_toml),
            "--output-file",
            str(target),
            "api.example.com",
        ]
    )
    assert (done.exit_code, done.stdout) == (0, "")
    assert done.stderr.startswith("pinctl: warning: api.example.com: Android stops enforcing")
    check_android(target.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_output_file_in_a_missing_directory_fails(
    run: Any, pins_toml: Path, tmp_path: Path
) -> None:
    """An output file that cannot be written is a one-line error, exit 2, and nothing written."""
    target = tmp_path / "missing" / "config.xml"
    done = run(
        [
            "export",
            "--format",
            "android",
            "--pin-file",
            str(pins_toml),
            "--output-file",
            str(target),
        ]
    )
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith(f"pinctl: error: cannot write {target}")
    assert not target.exists()


def test_cli_refuses_trustkit_for_a_host_without_backup(run: Any, tmp_path: Path) -> None:
    """The TrustKit rule surfaces as exit 2 naming the host and the line of its entry."""
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n\n[[hosts]]\nhost = "solo.example.com"\npins = [{{ pin = "{LEAF}" }}]\n'
    )
    done = run(["export", "--format", "trustkit", "--pin-file", str(path)])
    assert (done.exit_code, done.stdout) == (2, "")
    assert re.match(
        rf"pinctl: error: {re.escape(str(path))}:3: solo\.example\.com has 1 pin TrustKit can use",
        done.stderr,
    )


def test_cli_max_age_reaches_the_hpkp_header(run: Any, pins_toml: Path) -> None:
    """--max-age sets the header's max-age; with another format it is a usage error."""
    done = run(
        [
            "export",
            "--format",
            "hpkp",
            "--max-age",
            "600",
            "--pin-file",
            str(pins_toml),
            "api.example.com",
        ]
    )
    assert done.exit_code == 0
    pins = f'pin-sha256="{LEAF.base64}"; pin-sha256="{SPARE.base64}"'
    assert done.stdout == f"Public-Key-Pins: {pins}; max-age=600\n"
    wrong = run(["export", "--format", "curl", "--max-age", "600", "--pin-file", str(pins_toml)])
    assert (wrong.exit_code, wrong.stdout) == (2, "")
    assert wrong.stderr == "pinctl: error: --max-age applies to --format hpkp only, not curl\n"


def test_cli_curl_value_for_one_host(run: Any, pins_toml: Path) -> None:
    """curl gets the bare value of one host; several hosts are an error naming each."""
    done = run(["export", "--format", "curl", "--pin-file", str(pins_toml), "api.example.com"])
    assert (done.exit_code, done.stdout, done.stderr) == (
        0,
        f"sha256//{LEAF.base64};sha256//{SPARE.base64}\n",
        "",
    )
    several = run(["export", "--format", "curl", "--pin-file", str(pins_toml)])
    assert several.exit_code == 2
    assert "api.example.com:443, cdn.example.com:443" in several.stderr


def test_cli_json_round_trips_the_pin_file(run: Any, pins_toml: Path) -> None:
    """`--format json` is one JSON document with every pin, the cert pin included."""
    done = run(["export", "--format", "json", "--pin-file", str(pins_toml)])
    assert (done.exit_code, done.stderr) == (0, "")
    document = json.loads(done.stdout)
    assert [h["host"] for h in document["hosts"]] == ["api.example.com", "cdn.example.com"]
    assert document["hosts"][1]["pins"][0] == {
        "pin": str(CDN_CERT),
        "kind": "cert",
        "level": "leaf",
        "backup": False,
        "note": None,
        "retired": False,
        "expires": None,
        "reencoded": None,
    }


def test_cli_needs_a_format_and_a_pin_file(run: Any, tmp_path: Path) -> None:
    """No --format, an unknown one, or a missing pin file: exit 2 with a one-line error."""
    missing = run(["export", "--pin-file", str(tmp_path / "pins.toml")])
    assert missing.exit_code == 2
    assert "--format" in missing.stderr
    unknown = run(["export", "--format", "okhttp", "--pin-file", str(tmp_path / "pins.toml")])
    assert unknown.exit_code == 2
    assert "okhttp-kotlin" in unknown.stderr
    absent = run(["export", "--format", "json", "--pin-file", str(tmp_path / "pins.toml")])
    assert (absent.exit_code, absent.stdout) == (2, "")
    assert absent.stderr.startswith("pinctl: error: ")
    assert absent.stderr.count("\n") == 1


def test_cli_help_shows_examples(run: Any) -> None:
    """`export --help` lists every format and its examples."""
    done = run(["export", "--help"])
    assert done.exit_code == 0
    for fmt in FORMATS:
        assert fmt in done.stdout
    assert 'curl --pinnedpubkey "$(pinctl export --format curl api.example.com)"' in done.stdout
