"""The rotation walk of issue 15 end to end on loopback, and two writers at once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pinctl.audit import log
from pinctl.pinfile.reader import load
from tests.support.cli import Run
from tests.support.rotation import RotatingHost, load_key, pin_of
from tests.support.servers import LoopbackServer

PASSPHRASE = b"rotation walk passphrase"


def findings(run: Run, pins: Path) -> tuple[int, list[str]]:
    done = run(["plan", "--pin-file", str(pins), "-o", "json"])
    [host] = json.loads(done.stdout)["hosts"]
    return done.exit_code, [f["finding"] for f in host["findings"]]


def test_the_rotation_walk(
    run: Run, tmp_path: Path, site: RotatingHost, server: LoopbackServer, root_pem: Path
) -> None:
    """Pin, add a backup, deploy it, promote, make a new backup: plan says what to do at
    each step, verify passes at the end, and the audit log verifies and lists every step."""
    pins = tmp_path / "pins.toml"
    pins.write_text(
        f'version = 1\n\n[defaults]\nca_file = "{root_pem}"\naudit_log = "audit.jsonl"\n'
    )
    secret = tmp_path / "pass.txt"
    secret.write_bytes(PASSPHRASE + b"\n")
    target = f"localhost:{server.port}"
    keygen = ["backup-keygen", "--host", "localhost", "--count", "1", "--pin-file", str(pins)]
    keygen += ["--passphrase-file", str(secret)]

    assert run(["add", target, "--pin-file", str(pins)]).exit_code == 0
    assert findings(run, pins) == (1, ["no-backup"])
    made = run([*keygen, "--out-dir", str(tmp_path / "keys"), "-o", "pins"])
    assert made.exit_code == 0, made.stderr
    backup = made.stdout.strip()
    assert findings(run, pins) == (0, [])

    assert site.leaf is not None
    old_leaf = pin_of(site.leaf)
    site.deploy(load_key(tmp_path / "keys" / "backup-1.key.pem", PASSPHRASE))
    code, found = findings(run, pins)
    assert (code, found) == (1, ["no-backup", "backup-in-use", "stale-pin"])

    promoted = run(
        ["promote", "localhost", "--pin", backup, "--retire", old_leaf, "--pin-file", str(pins)]
    )
    assert promoted.exit_code == 0, promoted.stderr
    assert findings(run, pins) == (1, ["no-backup"])

    again = run([*keygen, "--out-dir", str(tmp_path / "keys2")])
    assert again.exit_code == 0, again.stderr
    assert findings(run, pins) == (0, [])
    verified = run(["verify", "--strict", "--pin-file", str(pins)])
    assert verified.exit_code == 0, verified.stdout

    checked = run(["audit", "--verify", "--pin-file", str(pins)])
    assert checked.exit_code == 0, checked.stderr
    document = json.loads(run(["audit", "--pin-file", str(pins), "-o", "json"]).stdout)
    steps = [line["command"][1] for line in document["lines"]]
    assert steps == ["add", "backup-keygen", "promote", "backup-keygen"]
    actions = [c["action"] for c in document["lines"][2]["changes"]]
    assert sorted(actions) == ["promote", "retire"]
    assert PASSPHRASE.decode() not in (tmp_path / "audit.jsonl").read_text()


WRITER = """
import sys
from pinctl.cli import _run
pins, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n in range(count):
    key = f"{prefix}-{n}.pem"
    code = _run(["add", "api.example.com", "--from", key, "--pin-file", pins, *sys.argv[4:]], False)
    assert code == 0, code
"""


def _keys(directory: Path, prefix: str, count: int) -> list[str]:
    pins = []
    for n in range(count):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        (directory / f"{prefix}-{n}.pem").write_bytes(
            key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        from pinctl.pki.entries import spki_der
        from pinctl.pki.pins import compute

        pins.append(str(compute(spki_der(key))))
    return pins


def test_two_writers_lose_nothing(tmp_path: Path, run: Run) -> None:
    """Two processes adding pins to one file at once: every pin lands, one audit line per
    change, and the chain ends at the file as it is."""
    pins = tmp_path / "pins.toml"
    pins.write_text('version = 1\n\n[defaults]\naudit_log = "audit.jsonl"\n')
    count = 6
    expected = _keys(tmp_path, "a", count) + _keys(tmp_path, "b", count)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(pins), str(tmp_path / p), str(count), *extra],
            stderr=subprocess.PIPE,
        )
        for p, extra in (("a", []), ("b", ["--backup"]))
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    [host] = load(pins).hosts
    assert sorted(str(p.pin) for p in host.pins) == sorted(expected)
    assert sum(p.backup for p in host.pins) == count
    lines: list[dict[str, Any]] = [
        json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()
    ]
    assert len(lines) == 2 * count
    for earlier, later in itertools.pairwise(lines):
        assert earlier["after_sha256"] == later["before_sha256"]
    assert lines[-1]["after_sha256"] == log.sha256(pins.read_bytes())
    assert run(["audit", "--verify", "--pin-file", str(pins)]).exit_code == 0


PROMOTER = """
import sys
from pinctl.cli import _run
sys.exit(_run(["promote", "api.example.com", "--pin", sys.argv[2], "--force",
               "--pin-file", sys.argv[1]], False))
"""


def test_two_promotions_of_one_backup(tmp_path: Path, run: Run) -> None:
    """Two processes promoting the same backup at once: one does it, the other finds it
    no longer a backup and refuses (exit 2); the log holds exactly the one promotion."""
    from pinctl.pki.pins import compute

    live, spare = compute(b"live key"), compute(b"spare key")
    pins = tmp_path / "pins.toml"
    pins.write_text(
        'version = 1\n\n[defaults]\naudit_log = "audit.jsonl"\n\n[[hosts]]\n'
        f'host = "api.example.com"\npins = [\n  {{ pin = "{live}" }},\n'
        f'  {{ pin = "{spare}", backup = true }},\n]\n'
    )
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTER, str(pins), str(spare)], stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outcomes = [r.communicate(timeout=120) for r in racers]
    codes = sorted(r.returncode for r in racers)
    errors = b"".join(err for _, err in outcomes).decode()
    assert codes == [0, 2], errors
    assert "is not a backup" in errors
    [line] = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [c["action"] for c in line["changes"]] == ["promote"]
    assert line["after_sha256"] == log.sha256(pins.read_bytes())
