"""`verify -o prometheus` and `--textfile` end to end, against real loopback servers.

The metrics are read back with prometheus_client's parser and checked against verify's
JSON of the same run: the two views of one run cannot disagree.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import Run
from tests.support.pinfiles import ANOTHER_KEY, host, spki_pin, write_pins
from tests.support.servers import LoopbackServer, closed_port, server_context, tls_server

BACKUP = ANOTHER_KEY
PER_HOST = (
    "pinctl_check_ok",
    "pinctl_check_status",
    "pinctl_pin_matched",
    "pinctl_backup_pins",
    "pinctl_pin_expires_timestamp_seconds",
    "pinctl_check_duration_seconds",
)

Series = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Series:
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def value(series: Series, name: str, host_port: tuple[str, int], **labels: str) -> float:
    [found] = [
        v
        for lab, v in series[name]
        if (lab["host"], int(lab["port"])) == host_port and labels.items() <= lab.items()
    ]
    return found


@pytest.fixture(scope="module")
def fleet(ca: trustme.CA) -> Iterator[dict[str, Any]]:
    """A passing server, one whose leaf expires in 5 days, one of another CA, a closed port."""
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    soon = datetime.now(timezone.utc) + timedelta(days=5)
    expiring = ca.issue_cert("localhost", not_after=soon)
    stranger = trustme.CA().issue_cert("localhost")
    with (
        tls_server(server_context(leaf)) as good,
        tls_server(server_context(expiring)) as short,
        tls_server(server_context(stranger)) as rogue,
    ):
        yield {
            "good": good,
            "short": short,
            "rogue": rogue,
            "closed": closed_port(),
            "leaf": spki_pin(leaf.cert_chain_pems[0]),
            "expiring": spki_pin(expiring.cert_chain_pems[0]),
            "stranger": spki_pin(stranger.cert_chain_pems[0]),
        }


def backed_up(name: str, port: int, pin: str) -> str:
    """A host block with `pin` and a backup = true pin of a key no server has."""
    pins = f'  {{ pin = "{pin}" }},\n  {{ pin = "{BACKUP}", backup = true }},\n'
    return f'[[hosts]]\nhost = "{name}"\nport = {port}\npins = [\n{pins}]\n'


def fleet_pins(path: Path, ca_pem: Path, fleet: dict[str, Any]) -> Path:
    good: LoopbackServer = fleet["good"]
    return write_pins(
        path,
        backed_up("localhost", good.port, fleet["leaf"]),
        host("127.0.0.1", good.port, ANOTHER_KEY),
        host("localhost", fleet["short"].port, fleet["expiring"]),
        host("localhost", fleet["rogue"].port, fleet["stranger"]),
        backed_up("localhost", fleet["closed"], fleet["leaf"]),
        ca=ca_pem,
    )


def test_metrics_agree_with_the_json_of_the_same_run(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """Passing, failing, untrusted, expiring and unreachable hosts: every series matches JSON."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    textfile = tmp_path / "pinctl.prom"
    result = run(["verify", "--pin-file", str(pins), "-o", "json", "--textfile", str(textfile)])
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    series = parse(textfile.read_text())
    statuses = {(h["host"], h["port"]): h["status"] for h in document["hosts"]}
    assert sorted(statuses.values()) == [
        "pass",
        "pass",
        "pin-mismatch",
        "unreachable",
        "untrusted",
    ]
    for entry in document["hosts"]:
        key = (entry["host"], entry["port"])
        for name in PER_HOST:
            assert any((lab["host"], int(lab["port"])) == key for lab, _ in series[name]), (
                f"{name} has no series for {key}"
            )
        assert value(series, "pinctl_check_ok", key) == int(entry["ok"])
        assert value(series, "pinctl_check_status", key, status=entry["status"]) == 1
        pins_passed = any(c["check"] == "pins" and c["result"] == "pass" for c in entry["checks"])
        assert value(series, "pinctl_pin_matched", key) == int(pins_passed)
        positions = sorted(
            (int(lab["position"]), lab["spki"])
            for lab, _ in series.get("pinctl_cert_not_after_timestamp_seconds", [])
            if (lab["host"], int(lab["port"])) == key
        )
        assert [spki for _, spki in positions] == entry["chain_spki"]
        for check in entry["checks"]:
            labels = {"check": check["check"], "result": check["result"]}
            assert value(series, "pinctl_check_result", key, **labels) == 1
    good = ("localhost", fleet["good"].port)
    closed = ("localhost", fleet["closed"])
    assert value(series, "pinctl_backup_pins", good) == 1, "the backup is not in the chain"
    assert value(series, "pinctl_backup_pins", closed) == 1, "unreached: every backup counts"
    assert value(series, "pinctl_backup_pins", ("localhost", fleet["rogue"].port)) == 0
    short = ("localhost", fleet["short"].port)
    leaf_expiry = value(series, "pinctl_cert_not_after_timestamp_seconds", short, position="0")
    days_left = (leaf_expiry - datetime.now(timezone.utc).timestamp()) / 86_400
    assert 4 < days_left <= 5
    assert any("expires in" in w for w in statuses_warnings(document, short))
    [(_, stamp)] = series["pinctl_last_run_timestamp_seconds"]
    assert abs(stamp - datetime.now(timezone.utc).timestamp()) < 120


def statuses_warnings(document: dict[str, Any], key: tuple[str, int]) -> list[str]:
    [entry] = [h for h in document["hosts"] if (h["host"], h["port"]) == key]
    warnings: list[str] = entry["warnings"]
    return warnings


def test_stdout_and_textfile_are_the_same_metrics(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """-o prometheus prints what --textfile writes, and the exit code is still verify's."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    textfile = tmp_path / "pinctl.prom"
    argv = ["verify", "--pin-file", str(pins), "-o", "prometheus", "--textfile", str(textfile)]
    result = run(argv)
    assert result.exit_code == 1
    assert result.stdout == textfile.read_text()
    assert result.stdout.startswith("# HELP pinctl_check_ok ")
    passing = run(["verify", "--pin-file", str(pins), "-o", "prometheus", "localhost"])
    assert passing.exit_code == 1, "localhost names three hosts, two of them failing"
    only_good = f"localhost:{fleet['good'].port}"
    ok = run(["verify", "--pin-file", str(pins), "-o", "prometheus", only_good])
    assert ok.exit_code == 0
    assert parse(ok.stdout)["pinctl_check_ok"][0][1] == 1


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_lints_the_metrics(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """`promtool check metrics`, Prometheus's own linter of the exposition format, is clean."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    result = run(["verify", "--pin-file", str(pins), "-o", "prometheus"])
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=result.stdout, capture_output=True, text=True
    )
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, "")


def test_the_textfile_is_0644_whatever_the_umask_or_the_old_file(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """node_exporter runs as another user: a new file and a replaced 0600 one are both 0644."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    textfile = tmp_path / "pinctl.prom"
    textfile.write_text("old")
    textfile.chmod(0o600)
    fresh = tmp_path / "fresh.prom"
    old = os.umask(0o077)
    try:
        for path in (textfile, fresh):
            run(["verify", "--pin-file", str(pins), "--textfile", str(path)])
    finally:
        os.umask(old)
    for path in (textfile, fresh):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert path.read_text().startswith("# HELP")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ca.pem",
        "fresh.prom",
        "pinctl.prom",
        "pins.toml",
    ], "no temporary file left"


def test_a_textfile_in_a_missing_directory_is_refused_before_any_host(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """A typo in the path exits 2 naming --textfile; the twin in an existing directory works."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    bad = tmp_path / "nope" / "pinctl.prom"
    result = run(["verify", "--pin-file", str(pins), "--textfile", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"pinctl: error: --textfile {bad}: its directory does not exist; create it first\n"
    )
    assert result.stdout == ""


def test_a_textfile_that_cannot_be_written_fails_the_run(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path
) -> None:
    """A passing run whose metrics are lost exits 1 with one error line; the table still shows."""
    pins = fleet_pins(tmp_path / "pins.toml", ca_pem, fleet)
    lost = tmp_path / ("m" * 300 + ".prom")
    only_good = f"localhost:{fleet['good'].port}"
    result = run(["verify", "--pin-file", str(pins), only_good, "--textfile", str(lost)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"pinctl: error: cannot write {lost}: ")
    assert result.stderr.endswith("the hosts were checked, but no metrics file was written\n")
    assert result.stdout.startswith(f"ok    {only_good}")
    twin = run(["verify", "--pin-file", str(pins), only_good, "--textfile", str(tmp_path / "m")])
    assert twin.exit_code == 0
    assert twin.stderr == (
        f"pinctl: warning: --textfile {tmp_path / 'm'}: "
        "node_exporter's textfile collector reads *.prom only\n"
    ), "written all the same, with a word on the name node_exporter would skip"


NAMES = [f"h{i}.api.test" for i in range(10)]


def complete(text: str) -> bool:
    """Cheap enough to poll: every host's check_ok line and the closing timestamp."""
    last = text[text.rfind("\n", 0, len(text) - 1) + 1 :]
    return (
        text.startswith("# HELP pinctl_check_ok ")
        and last.startswith("pinctl_last_run_timestamp_seconds ")
        and last.endswith("\n")
        and text.count("\npinctl_check_ok{") == len(NAMES)
    )


def rewrite_while_polling(tmp_path: Path, ca: trustme.CA, run: Run, times: int) -> list[str]:
    """Run verify --textfile `times` times while a thread polls the file; what it saw broken."""
    leaf = ca.issue_cert("*.api.test")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    pin = spki_pin(leaf.cert_chain_pems[0])
    pins = write_pins(tmp_path / "pins.toml", *(backed_up(n, 443, pin) for n in NAMES), ca=ca_pem)
    textfile = tmp_path / "pinctl.prom"
    argv = ["verify", "--pin-file", str(pins), "--chain", str(chain), "--textfile", str(textfile)]
    argv += NAMES
    first = run(argv)
    assert first.exit_code == 0, first.stderr
    whole = textfile.read_text()
    assert {lab["host"] for lab, _ in parse(whole)["pinctl_check_ok"]} == set(NAMES)
    assert complete(whole)
    seen: list[int] = []
    bad: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            text = textfile.read_text()
            if not complete(text):
                bad.append(text[-200:])
            seen.append(len(text))
            time.sleep(0.0005)  # leave the writer the interpreter most of the time

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(times):
            run(argv)
    finally:
        stop.set()
        thread.join()
    assert len(seen) > times, "the reader polled throughout the rewrites"
    return bad


@pytest.mark.slow
def test_a_reader_never_sees_half_a_textfile(tmp_path: Path, ca: trustme.CA, run: Run) -> None:
    """While verify rewrites the textfile 200 times, a reader polling it only ever sees
    whole files: every host's series and the closing timestamp."""
    assert rewrite_while_polling(tmp_path, ca, run, 200) == []


def test_the_reader_does_catch_a_file_written_in_place(
    tmp_path: Path, ca: trustme.CA, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failing twin: had the metrics been written in place, in two halves, the same
    reader would have seen half files (so the test above can fail)."""
    from pinctl.output import reports

    def in_place(path: Path, data: bytes, *, mode: int | None = None) -> None:
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.005)
            f.write(data[len(data) // 2 :])

    monkeypatch.setattr(reports, "write_atomic", in_place)
    assert rewrite_while_polling(tmp_path, ca, run, 20) != []


def test_client_verdicts_agree_with_the_json_of_the_same_run(
    run: Run, fleet: dict[str, Any], tmp_path: Path, ca_pem: Path, ca: trustme.CA
) -> None:
    """verify --as: a host pinned by its CA alone passes okhttp and fails curl (which pins
    the leaf key only); each client has its series, as the JSON of the same run says."""
    good: LoopbackServer = fleet["good"]
    pins = write_pins(
        tmp_path / "pins.toml", backed_up("localhost", good.port, spki_pin(ca.cert_pem)), ca=ca_pem
    )
    textfile = tmp_path / "pinctl.prom"
    argv = ["verify", "--pin-file", str(pins), "--as", "okhttp,curl", "-o", "json"]
    result = run([*argv, "--textfile", str(textfile)])
    assert result.exit_code == 1, result.stderr
    [entry] = json.loads(result.stdout)["hosts"]
    assert entry["status"] == "client-reject"
    series = parse(textfile.read_text())
    key = ("localhost", good.port)
    for client, verdict in entry["clients"].items():
        expected = 0 if verdict["verdict"] in ("reject", "config-error") else 1
        assert value(series, "pinctl_client_accepts", key, client=client) == expected
    assert value(series, "pinctl_client_accepts", key, client="curl") == 0
    assert value(series, "pinctl_client_accepts", key, client="okhttp") == 1
    assert value(series, "pinctl_check_status", key, status="client-reject") == 1
