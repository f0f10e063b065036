#!/usr/bin/env python3
"""Run the README's rotation runbook against a loopback server and print the transcript.

Usage: PYTHONPATH=. python scripts/runbook.py > /tmp/runbook.md

Every command is really run (``python -m pinctl`` in a scratch directory); only the
server's key changes are made by this script, as an operator would deploy a key. The
output is pasted into the README's "Rotation runbook" section, so that the runbook shows
what pinctl prints, not what someone remembered it printing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.pki import issue  # noqa: E402
from tests.support.rotation import RotatingHost, load_key, pin_of  # noqa: E402

PASSPHRASE = b"correct horse battery staple"


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        site = RotatingHost()
        site.deploy()
        site.write_root(work / "root.pem")
        (work / "pass.txt").write_bytes(PASSPHRASE + b"\n")
        (work / "pins.toml").write_text(
            'version = 1\n\n[defaults]\nca_file = "root.pem"\naudit_log = "pins.audit.jsonl"\n'
        )
        with site.serving() as server:
            host = f"localhost:{server.port}"
            run = Runner(work)
            section("Routine rotation with a backup key")
            run(f"pinctl add {host}")
            run("pinctl plan")
            run("pinctl backup-keygen --host localhost --count 1 --out-dir keys "
                "--passphrase-file pass.txt")  # fmt: skip
            run("pinctl plan")
            run("pinctl export --format okhttp-kotlin localhost")
            assert site.leaf is not None
            old = pin_of(site.leaf)
            backup = next(line for line in (work / "pins.toml").read_text().splitlines()
                          if "backup = true" in line).split('"')[1]  # fmt: skip
            note("Deploy keys/backup-1.key.pem on the server (a certificate for its key).")
            site.deploy(load_key(work / "keys" / "backup-1.key.pem", PASSPHRASE))
            run("pinctl plan")
            run(f"pinctl promote localhost --pin {backup} --retire {old}")
            run("pinctl backup-keygen --host localhost --count 1 --out-dir keys --prefix "
                "backup-2 --passphrase-file pass.txt")  # fmt: skip
            run("pinctl plan")
            run("pinctl verify")
            run("pinctl plan --at 2027-06-01")

            section("A CA change")
            new_root = issue("Other Root")
            new_ca = issue("Other CA 1", new_root)
            (work / "other-ca.pem").write_bytes(pem(new_ca[0]))
            run("pinctl add localhost --from other-ca.pem --note 'next CA, from the CDN'")
            note("The CDN moves the host to the other CA (same key, new chain).")
            live_key = load_key(work / "keys" / "backup-1.key.pem", PASSPHRASE)
            site.intermediate = new_ca
            site.deploy(live_key)
            (work / "root.pem").write_bytes((work / "root.pem").read_bytes() + pem(new_root[0]))
            run("pinctl plan")
            run("pinctl remove localhost --stale --dry-run")
            run("pinctl remove localhost --stale")

            section("A compromised key")
            leaked = pin_of(site.leaf)
            spare = [line for line in (work / "pins.toml").read_text().splitlines()
                     if "backup = true" in line][-1].split('"')[1]  # fmt: skip
            note("The live key leaked: deploy the spare key now, then switch the pins.")
            site.deploy(load_key(work / "keys" / "backup-2-1.key.pem", PASSPHRASE))
            run(f"pinctl promote localhost --pin {spare} --retire {leaked}")
            run("pinctl backup-keygen --host localhost --count 1 --out-dir keys --prefix "
                "backup-3 --passphrase-file pass.txt")  # fmt: skip
            run("pinctl plan")
            run("pinctl list")
            run("pinctl audit")
            run("pinctl audit --verify")
    return 0


def pem(cert: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined, no-any-return]


def section(title: str) -> None:
    print(f"\n#### {title}\n")


def note(text: str) -> None:
    print(f"\n{text}\n")


class Runner:
    def __init__(self, work: Path) -> None:
        self.work = work

    def __call__(self, command: str) -> None:
        args = shlex.split(command)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
        done = subprocess.run(
            [sys.executable, "-m", "pinctl", *args[1:]],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        print("```console")
        print(f"$ {command}")
        text = done.stdout + done.stderr
        print(text.replace(str(self.work) + "/", "").rstrip("\n"))
        if done.returncode:
            print(f"$ echo $?\n{done.returncode}")
        print("```")


if __name__ == "__main__":
    sys.exit(main())
