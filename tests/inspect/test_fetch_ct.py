"""`pinctl fetch --ct-log-list`: one line per SCT, verified, whenever a log list is given."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.support.cli import Run
from tests.support.ct import MintCa, MintLog, Stamp, log_list
from tests.support.servers import pem_context, tls_server

START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)


def test_fetch_shows_each_sct_when_a_list_is_given(run: Run, tmp_path: Path) -> None:
    """Each SCT is a line naming its log, operator, state and signature verdict; then the
    two policies; with no list (the failing twin) fetch shows no SCT at all."""
    ca = MintCa()
    a = MintLog("A 2026", "Operator A", state_at=START - timedelta(days=300))
    tiles = MintLog("B tiles", "Operator B", tiled=True, state_at=START - timedelta(days=300))
    unlisted = MintLog("Z", "Operator Z")
    leaf, key = ca.leaf(
        [Stamp(a, at=START), Stamp(tiles, at=START, spoil=True), Stamp(unlisted, at=START)],
        start=START,
    )
    listed = log_list([a, tiles], tmp_path / "list.json", timestamp=START)
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tls_server(pem_context(leaf.public_bytes(serialization.Encoding.PEM), key_pem)) as srv:
        target = f"localhost:{srv.port}"
        base = ["fetch", target, "--ca-file", str(tmp_path / "ca.pem")]
        shown = run([*base, "--ct-log-list", str(listed)])
        as_json = run([*base, "-o", "json"], env={"PINCTL_CT_LOG_LIST": str(listed)})
        plain = run(base, env={"PINCTL_CT_LOG_LIST": ""})
    assert shown.exit_code == 0, shown.stderr
    stamp = START.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert f"  sct: embedded {stamp} A 2026 (Operator A, usable): signature valid" in shown.stdout
    assert (
        f"  sct: embedded {stamp} B tiles (Operator B, usable, static-CT): signature invalid"
        in shown.stdout
    )
    assert "signature unknown-log" in shown.stdout
    assert "  ct: 3 SCTs, 1 verified; chrome NOT compliant" in shown.stdout
    assert "  ct: SCTs in the TLS extension are not inspected" in shown.stdout
    source = json.loads(as_json.stdout)["sources"][0]
    assert [s["signature"] for s in source["ct"]["scts"]] == ["valid", "invalid", "unknown-log"]
    assert plain.exit_code == 0
    assert "sct:" not in plain.stdout
    assert "ct:" not in plain.stdout


def test_the_terminal_table_shows_the_sct_lines(tmp_path: Path) -> None:
    """On a terminal (rich's table), the SCT lines and the policies are shown too."""
    import sys

    from tests.support.pty import run_on_pty

    ca = MintCa()
    logs = [MintLog(n, f"Operator {n}", state_at=START - timedelta(days=300)) for n in "AB"]
    leaf, key = ca.leaf([Stamp(log, at=START) for log in logs], start=START)
    listed = log_list(logs, tmp_path / "list.json", timestamp=START)
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tls_server(pem_context(leaf.public_bytes(serialization.Encoding.PEM), key_pem)) as srv:
        argv = [sys.executable, "-m", "pinctl", "fetch", f"localhost:{srv.port}"]
        argv += ["--ca-file", str(tmp_path / "ca.pem"), "--ct-log-list", str(listed)]
        screen = run_on_pty(argv, []).decode(errors="replace")
    assert "A (Operator A, usable): signature valid" in screen
    assert "ct: 2 SCTs, 2 verified; chrome compliant, apple compliant" in screen
