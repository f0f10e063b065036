"""`pinctl verify --ct` end to end: real TLS servers on loopback serving minted leaves with
SCT lists, real v3 lists on disk, the command through its real error boundary.

Every verdict reaches the JSON, the table, the JUnit report and `--strict` as SPEC.md
section 8 says; each passing case has its failing twin.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from tests.support.cli import Run
from tests.support.ct import MintCa, MintLog, Stamp, log_list
from tests.support.servers import LoopbackServer, pem_context, tls_server

START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
"""The minted leaves are valid now (verify judges at the real time)."""


@pytest.fixture(scope="module")
def mint() -> MintCa:
    return MintCa()


@pytest.fixture(scope="module")
def logs() -> dict[str, MintLog]:
    since = START - timedelta(days=300)
    return {
        "a": MintLog("A 2026", "Operator A", state_at=since),
        "b": MintLog("B 2026", "Operator B", state_at=since),
        "ta": MintLog("A tiles", "Operator A", tiled=True, state_at=since),
        "tb": MintLog("B tiles", "Operator B", tiled=True, state_at=since),
    }


@pytest.fixture
def listed(logs: dict[str, MintLog], tmp_path: Path) -> Path:
    return log_list(list(logs.values()), tmp_path / "log_list.json", timestamp=START)


@contextmanager
def serving(
    mint: MintCa, stamps: list[Stamp], *, with_ca: bool = False
) -> Iterator[tuple[LoopbackServer, x509.Certificate]]:
    leaf, key = mint.leaf(stamps, start=START)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + (mint.pem() if with_ca else b"")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tls_server(pem_context(chain, key_pem)) as server:
        yield server, leaf


def pins(
    tmp: Path, mint: MintCa, port: int, leaf: x509.Certificate, defaults: str = "", extra: str = ""
) -> Path:
    (tmp / "ca.pem").write_bytes(mint.pem())
    pin = compute(spki_der(leaf.public_key()))
    backup = compute(b"a backup key that no server here has")
    path = tmp / "pins.toml"
    path.write_text(
        f'version = 1\n\n[defaults]\nca_file = "ca.pem"\n{defaults}\n'
        f'[[hosts]]\nhost = "localhost"\nport = {port}\n{extra}'
        f'pins = [{{ pin = "{pin}" }}, {{ pin = "{backup}", backup = true }}]\n'
    )
    return path


def one(stdout: str) -> dict[str, Any]:
    host: dict[str, Any] = json.loads(stdout)["hosts"][0]
    return host


def ct_check(host: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in host["checks"] if c["check"] == "ct")
    return found


def test_compliant_scts_pass_and_fill_the_json(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """Two verified SCTs of two operators: exit 0, and the JSON `ct` object has every field."""
    with serving(mint, [Stamp(logs["a"], at=START), Stamp(logs["b"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf)
        out = run(
            [
                "verify",
                "--pin-file",
                str(path),
                "--ct",
                "require",
                "--ct-log-list",
                str(listed),
                "-o",
                "json",
            ]
        )
    assert out.exit_code == 0, out.stdout + out.stderr
    host = one(out.stdout)
    assert ct_check(host)["result"] == "pass"
    ct = host["ct"]
    assert set(ct) == {"scts", "lifetime_days", "chrome", "apple", "log_list", "tls_extension"}
    assert ct["chrome"] == {"compliant": True, "reason": None}
    assert ct["apple"] == {"compliant": True, "reason": None}
    assert ct["lifetime_days"] == 90
    assert ct["tls_extension"] == "not-inspected"
    assert ct["log_list"]["file"] == str(listed)
    assert ct["log_list"]["age_days"] is not None
    first = ct["scts"][0]
    assert set(first) == {
        "log_id",
        "log",
        "operator",
        "timestamp",
        "source",
        "signature",
        "log_state",
        "rfc6962",
    }
    assert (first["log"], first["operator"], first["source"]) == (
        "A 2026",
        "Operator A",
        "embedded",
    )
    assert (first["signature"], first["log_state"], first["rfc6962"]) == ("valid", "usable", True)
    assert first["timestamp"] == START.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize("spoiled", [0, 1, 2])
def test_the_ct_check_counts_the_scts_that_verify(
    run: Run,
    mint: MintCa,
    logs: dict[str, MintLog],
    listed: Path,
    tmp_path: Path,
    spoiled: int,
) -> None:
    """The check's note counts verified SCTs among those found: a spoiled signature is found
    but not counted (in report mode the host still passes on its pins)."""
    stamps = [Stamp(logs[n], at=START, spoil=i < spoiled) for i, n in enumerate(("a", "b"))]
    with serving(mint, stamps) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf)
        args = ["verify", "--pin-file", str(path), "--ct", "report", "--ct-log-list", str(listed)]
        out = run([*args, "-o", "json"])
    assert out.exit_code == 0, out.stdout + out.stderr
    check = ct_check(one(out.stdout))
    assert check["result"] == "pass"
    assert check["reason"].startswith(f"{2 - spoiled} of 2 SCTs verified")
    assert "verdicts unknown" not in check["reason"], "a fresh list judges every policy"


def test_require_fails_a_leaf_short_of_scts(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """Failing twin: one SCT under `require` is ct-noncompliant, exit 1, in table and JUnit."""
    with serving(mint, [Stamp(logs["a"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, defaults='ct = "require"\n')
        junit = tmp_path / "report.xml"
        out = run(
            [
                "verify",
                "--pin-file",
                str(path),
                "--ct-log-list",
                str(listed),
                "--junit-xml",
                str(junit),
            ]
        )
        as_json = run(
            ["verify", "--pin-file", str(path), "--ct-log-list", str(listed), "-o", "json"]
        )
    assert out.exit_code == 1
    assert "ct-noncompliant: chrome CT policy not met: 1 of the 2 SCTs" in out.stdout
    assert "ct: 1 SCTs, 1 verified; chrome NOT compliant" in out.stdout
    failure = ET.parse(junit).getroot().find(".//failure")  # noqa: S314 — pinctl's own report
    assert failure is not None
    assert failure.get("type") == "ct-noncompliant"
    host = one(as_json.stdout)
    assert (host["status"], host["ok"], ct_check(host)["result"]) == (
        "ct-noncompliant",
        False,
        "fail",
    )
    assert host["ct"]["chrome"]["compliant"] is False
    assert json.loads(as_json.stdout)["exit_code"] == 1


def test_report_warns_and_strict_fails(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """`report`: a policy not met is a warning (exit 0); under --strict it fails (exit 1)."""
    with serving(mint, [Stamp(logs["a"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, defaults='ct = "report"\n')
        args = ["verify", "--pin-file", str(path), "--ct-log-list", str(listed)]
        out = run([*args, "-o", "json"])
        strict = run([*args, "--strict"])
    assert out.exit_code == 0, out.stdout
    host = one(out.stdout)
    assert host["status"] == "pass"
    assert any(w.startswith("chrome CT policy not met") for w in host["warnings"])
    assert any(w.startswith("apple CT policy not met") for w in host["warnings"])
    assert strict.exit_code == 1
    assert "strict: chrome CT policy not met" in strict.stdout


def test_ct_policy_chooses_what_require_enforces(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """Static-CT SCTs only: Chrome's policy holds, Apple's does not; `ct_policy` picks."""
    stamps = [Stamp(logs["ta"], at=START), Stamp(logs["tb"], at=START)]
    with serving(mint, stamps) as (srv, leaf):
        args = ["--ct", "require", "--ct-log-list", str(listed), "-o", "json"]
        chrome = pins(tmp_path, mint, srv.port, leaf, extra='ct_policy = "chrome"\n')
        passed = run(["verify", "--pin-file", str(chrome), *args])
        apple = pins(tmp_path, mint, srv.port, leaf, extra='ct_policy = "apple"\n')
        failed = run(["verify", "--pin-file", str(apple), *args])
    assert passed.exit_code == 0, passed.stdout
    assert one(passed.stdout)["ct"]["apple"]["compliant"] is False  # reported, not enforced
    assert failed.exit_code == 1
    assert "RFC 6962" in one(failed.stdout)["error"]


def test_a_stale_list_is_not_enforced(
    run: Run, mint: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """A list 71 days old: verdicts unknown (null), a warning, and `require` does not fail."""
    stale = log_list(
        list(logs.values()), tmp_path / "old.json", timestamp=START - timedelta(days=71)
    )
    with serving(mint, [Stamp(logs["a"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf)
        out = run(
            [
                "verify",
                "--pin-file",
                str(path),
                "--ct",
                "require",
                "--ct-log-list",
                str(stale),
                "-o",
                "json",
            ]
        )
    assert out.exit_code == 0, out.stdout
    host = one(out.stdout)
    assert host["ct"]["chrome"]["compliant"] is None
    assert ct_check(host)["reason"] == (
        "1 of 1 SCTs verified; verdicts unknown: the log list is too old to judge by"
    )
    assert any("days old (over 70)" in w for w in host["warnings"])


def test_require_without_a_log_list_is_a_usage_error(
    run: Run, mint: MintCa, tmp_path: Path
) -> None:
    """`ct = "require"` and no list: exit 2 before anything is contacted, saying what to give."""
    leaf, _ = mint.leaf(None, start=START)
    path = pins(tmp_path, mint, 9, leaf, defaults='ct = "require"\n')
    out = run(["verify", "--pin-file", str(path)], env={"PINCTL_CT_LOG_LIST": ""})
    assert out.exit_code == 2
    assert out.stderr.startswith("pinctl: error: ct = require for localhost:9 needs a CT log list")
    assert out.stdout == ""


def test_a_bad_log_list_is_a_usage_error(run: Run, mint: MintCa, tmp_path: Path) -> None:
    """A list that is not JSON: one error line naming the file, exit 2, no traceback."""
    leaf, _ = mint.leaf(None, start=START)
    path = pins(tmp_path, mint, 9, leaf)
    bad = tmp_path / "list.json"
    bad.write_text("{")
    out = run(["verify", "--pin-file", str(path), "--ct", "report", "--ct-log-list", str(bad)])
    assert out.exit_code == 2
    assert out.stderr.startswith(f"pinctl: error: CT log list {bad} is not JSON")
    assert "Traceback" not in out.stderr


def test_the_list_comes_from_the_environment_or_the_pin_file(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """$PINCTL_CT_LOG_LIST, and `ct_log_list` relative to the pin file, are both read."""
    with serving(mint, [Stamp(logs["a"], at=START), Stamp(logs["b"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, defaults='ct = "require"\n')
        env = run(
            ["verify", "--pin-file", str(path), "-o", "json"],
            env={"PINCTL_CT_LOG_LIST": str(listed)},
        )
        own = pins(
            tmp_path,
            mint,
            srv.port,
            leaf,
            defaults=f'ct = "require"\nct_log_list = "{listed.name}"\n',
        )
        from_file = run(
            ["verify", "--pin-file", str(own), "-o", "json"], env={"PINCTL_CT_LOG_LIST": ""}
        )
    assert env.exit_code == 0, env.stdout + env.stderr
    assert one(env.stdout)["ct"]["log_list"]["file"] == str(listed)
    assert from_file.exit_code == 0, from_file.stdout + from_file.stderr
    assert one(from_file.stdout)["ct"]["log_list"]["file"] == str(listed)


def test_ct_is_off_by_default(
    run: Run, mint: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Without `ct`, the check is skipped and the JSON `ct` is null."""
    with serving(mint, [Stamp(logs["a"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf)
        out = run(["verify", "--pin-file", str(path), "-o", "json"], env={"PINCTL_CT_LOG_LIST": ""})
    assert out.exit_code == 0
    host = one(out.stdout)
    assert host["ct"] is None
    assert ct_check(host) == {"check": "ct", "result": "skipped", "reason": "ct = off"}


def test_key_alone_takes_the_issuer_from_the_served_chain(
    run: Run, mint: MintCa, logs: dict[str, MintLog], listed: Path, tmp_path: Path
) -> None:
    """verify_chain = false: the served certificate that signed the leaf gives the issuer key
    hash; with none served, every SCT is `no-issuer`."""
    stamps = [Stamp(logs["a"], at=START), Stamp(logs["b"], at=START)]
    args = ["--ct", "report", "--ct-log-list", str(listed), "-o", "json"]
    extra = "verify_chain = false\n"
    with serving(mint, stamps, with_ca=True) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, extra=extra)
        served = run(["verify", "--pin-file", str(path), *args])
    with serving(mint, stamps) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, extra=extra)
        alone = run(["verify", "--pin-file", str(path), *args])
    assert [s["signature"] for s in one(served.stdout)["ct"]["scts"]] == ["valid", "valid"]
    assert [s["signature"] for s in one(alone.stdout)["ct"]["scts"]] == ["no-issuer"] * 2


def test_report_without_a_list_is_skipped_with_a_warning(
    run: Run, mint: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """`ct = "report"` and no list: not an error (only `require` is), but never silent."""
    with serving(mint, [Stamp(logs["a"], at=START)]) as (srv, leaf):
        path = pins(tmp_path, mint, srv.port, leaf, defaults='ct = "report"\n')
        out = run(["verify", "--pin-file", str(path), "-o", "json"], env={"PINCTL_CT_LOG_LIST": ""})
    assert out.exit_code == 0
    host = one(out.stdout)
    assert ct_check(host)["result"] == "skipped"
    assert any("no log list is given" in w for w in host["warnings"])


@pytest.mark.parametrize(
    ("stamped", "compliant"),
    [(("a", "b"), 1.0), (("a",), 0.0)],
    ids=["two-operators", "one-sct"],
)
def test_the_metrics_say_whether_each_policy_is_met(
    run: Run,
    mint: MintCa,
    logs: dict[str, MintLog],
    listed: Path,
    tmp_path: Path,
    stamped: tuple[str, ...],
    compliant: float,
) -> None:
    """pinctl_ct_compliant{policy} is 1 for a met policy and 0 for one not met (its twin),
    the values of the same run's JSON."""
    from prometheus_client.parser import text_string_to_metric_families

    textfile = tmp_path / "pinctl.prom"
    with serving(mint, [Stamp(logs[k], at=START) for k in stamped]) as (srv, leaf):
        out = run(
            ["verify", "--pin-file", str(pins(tmp_path, mint, srv.port, leaf)), "--ct", "report",
             "--ct-log-list", str(listed), "-o", "json", "--textfile", str(textfile)]
        )  # fmt: skip
    host = one(out.stdout)
    [family] = [
        f
        for f in text_string_to_metric_families(textfile.read_text())
        if f.name == "pinctl_ct_compliant"
    ]
    got = {s.labels["policy"]: s.value for s in family.samples}
    assert got == {"chrome": compliant, "apple": compliant}
    assert {p: float(host["ct"][p]["compliant"]) for p in ("chrome", "apple")} == got
