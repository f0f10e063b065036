"""`pinctl report triage` end to end: files and stdin, table and JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.support.cli import Run
from tests.support.hosts import spki
from tests.support.pki import issue
from tests.support.reports import hpkp, json_lines, trustkit_android, trustkit_ios


class Chains(NamedTuple):
    root: x509.Certificate
    current: list[x509.Certificate]
    rotated: list[x509.Certificate]
    rogue: list[x509.Certificate]


@pytest.fixture(scope="module")
def chains() -> Chains:
    root = issue("Root")
    intermediate = issue("Intermediate", root)
    rogue = issue("Inspection Root")
    return Chains(
        root[0],
        [issue("api.test", intermediate, sans=["api.test"])[0], intermediate[0]],
        [issue("api.test new", intermediate, sans=["api.test"])[0], intermediate[0]],
        [issue("api.test", rogue, sans=["api.test"])[0], rogue[0]],
    )


@pytest.fixture
def pins(tmp_path: Path, chains: Chains) -> Path:
    """A pin file for api.test with the current leaf pinned; trust from its ca_file."""
    ca = tmp_path / "root.pem"
    ca.write_bytes(chains.root.public_bytes(Encoding.PEM))
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\n\n[[hosts]]\nhost = "api.test"\nca_file = "{ca.name}"\n'
        f'pins = [{{ pin = "{spki(chains.current[0])}" }}]\n'
    )
    return path


def write(path: Path, *reports: object) -> Path:
    path.write_text(json_lines(reports))
    return path


def test_json_groups_every_class_and_names_the_malformed(
    run: Run, pins: Path, chains: Chains, tmp_path: Path
) -> None:
    """SPEC's JSON document: counts per group, the malformed named file:line, exit 1."""
    field = write(
        tmp_path / "field.jsonl",
        trustkit_ios(chains.current),
        trustkit_ios(chains.current),
        trustkit_android(chains.rotated, app_version="3.0"),
        hpkp(chains.rogue),
        trustkit_ios(chains.current, hostname="www.other.test"),
    )
    with field.open("a") as f:
        f.write("{not json\n")
    result = run(["report", "triage", "--pin-file", str(pins), "-o", "json", str(field)])
    assert (result.exit_code, result.stderr) == (1, "")
    document = json.loads(result.stdout)
    assert set(document) == {"reports", "malformed", "groups"}
    assert document["reports"] == 5
    assert document["malformed"] == [
        {"where": f"{field}:6", "error": "not JSON (Expecting property name enclosed in double "
         "quotes at line 1 column 2)"}
    ]  # fmt: skip
    groups = [(g["host"], g["class"], g["app_version"], g["count"]) for g in document["groups"]]
    assert groups == [
        ("api.test", "interception", None, 1),
        ("api.test", "rotation", "3.0", 1),
        ("api.test", "stale-app", "2.1.0", 2),
        ("www.other.test", "unknown-host", "2.1.0", 1),
    ]
    first = document["groups"][0]
    assert set(first) == {"host", "port", "class", "app_version", "chain", "subjects", "count"}
    assert first["chain"] == [str(spki(c)) for c in chains.rogue]
    assert first["port"] == 443


def test_only_stale_apps_exit_0_with_a_table(
    run: Run, pins: Path, chains: Chains, tmp_path: Path
) -> None:
    """Stale apps need a release, not an incident: exit 0, and the table says what it means."""
    field = write(tmp_path / "r.jsonl", *[trustkit_ios(chains.current)] * 2)
    result = run(["report", "triage", "--pin-file", str(pins), str(field)])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "stale-app     api.test:443  app 2.1.0  2 reports"
    assert lines[1] == f"    {spki(chains.current[0])}  CN=api.test"
    assert lines[2] == f"    {spki(chains.current[1])}  CN=Intermediate"
    assert lines[3] == (
        "2 reports: 0 interception, 0 rotation, 2 stale-app, 0 unknown-host; 0 malformed"
    )
    assert lines[4].startswith("  stale-app: the chain matches a current pin")


def test_reports_from_stdin_and_files_together(
    run: Run, pins: Path, chains: Chains, tmp_path: Path
) -> None:
    """`-` reads stdin beside files; an array is named file:[index]."""
    array = tmp_path / "batch.json"
    array.write_text(json.dumps([trustkit_ios(chains.current), {"hostname": "api.test"}]))
    stdin = json_lines([trustkit_ios(chains.rotated)])
    result = run(
        ["report", "triage", "--pin-file", str(pins), "-o", "json", str(array), "-"], input=stdin
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [g["class"] for g in document["groups"]] == ["rotation", "stale-app"]
    assert [m["where"] for m in document["malformed"]] == [f"{array}:[1]"]


def test_a_hostile_subject_is_shown_as_data(run: Run, pins: Path, tmp_path: Path) -> None:
    """A subject with a newline and an escape cannot forge a line or drive the terminal."""
    rogue = issue("x\nstale-app     api.test:443  forged\x1b[2J", sans=["api.test"])[0]
    field = write(tmp_path / "r.jsonl", trustkit_ios([rogue]))
    result = run(["report", "triage", "--pin-file", str(pins), str(field)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    assert [ln for ln in result.stdout.splitlines() if ln.startswith("stale-app")] == []


def test_trust_from_ca_file_when_the_host_names_none(
    run: Run, chains: Chains, tmp_path: Path
) -> None:
    """--ca-file is the trust of hosts without ca_file; without it the system store has
    never heard of the test root, so the same report is interception (the twin)."""
    ca = tmp_path / "root.pem"
    ca.write_bytes(chains.root.public_bytes(Encoding.PEM))
    pins = tmp_path / "pins.toml"
    pins.write_text(
        f'version = 1\n[[hosts]]\nhost = "api.test"\npins = [{{ pin = "{spki(chains.root)}" }}]\n'
    )
    field = write(tmp_path / "r.jsonl", trustkit_ios(chains.current))
    argv = ["report", "triage", "--pin-file", str(pins), "-o", "json", str(field)]
    trusted = run([*argv, "--ca-file", str(ca)])
    assert json.loads(trusted.stdout)["groups"][0]["class"] == "stale-app"
    assert trusted.exit_code == 0
    system = run(argv)
    assert json.loads(system.stdout)["groups"][0]["class"] == "interception"
    assert system.exit_code == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.jsonl", "cannot read report file {path}: No such file or directory"),
        ("", "report file {path} is a directory; name the files in it"),
    ],
)
def test_an_unreadable_file_exits_2_before_any_report(
    run: Run, pins: Path, chains: Chains, tmp_path: Path, name: str, message: str
) -> None:
    """A missing file or a directory is one error line and exit 2, even after a good file."""
    good = write(tmp_path / "good.jsonl", trustkit_ios(chains.rogue))
    path = tmp_path / name if name else tmp_path
    result = run(["report", "triage", "--pin-file", str(pins), str(good), str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: " + message.format(path=path))
    assert result.stderr.count("\n") == 1


def test_no_file_is_a_usage_error(run: Run, pins: Path) -> None:
    """FILE is required (- for stdin): exit 2 with the usage hint."""
    result = run(["report", "triage", "--pin-file", str(pins)])
    assert result.exit_code == 2
    assert "Missing argument 'FILE...'" in result.stderr


def test_a_10_mb_report_is_counted_malformed(
    run: Run, pins: Path, chains: Chains, tmp_path: Path
) -> None:
    """A 10 MB report among good ones is named and skipped; the exit code is the others'."""
    huge = trustkit_ios(chains.current, padding="A" * (10 * 1024 * 1024))
    field = write(tmp_path / "r.jsonl", huge, trustkit_ios(chains.current))
    result = run(["report", "triage", "--pin-file", str(pins), "-o", "json", str(field)])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["reports"] == 1
    [bad] = document["malformed"]
    assert bad["where"] == f"{field}:1"
    assert "more than 1 MiB" in bad["error"]


def test_the_real_entry_point_reads_a_pipe(pins: Path, chains: Chains, tmp_path: Path) -> None:
    """`python -m pinctl report triage -` reads a pipe, as `zcat … |` gives it."""
    out = subprocess.run(
        [sys.executable, "-m", "pinctl", "report", "triage", "--pin-file", str(pins), "-"],
        input=json_lines([trustkit_android(chains.rogue)]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (out.returncode, out.stderr) == (1, "")
    assert out.stdout.startswith("interception  api.test:443  app 2.1.0  1 report\n")


def test_every_output_choice_has_a_renderer() -> None:
    """Each -o value of triage has a renderer in the registry the command uses."""
    import click

    from pinctl.cli.report import triage
    from pinctl.output.triage import RENDERERS

    [option] = [p for p in triage.params if "--output" in getattr(p, "opts", ())]
    assert isinstance(option.type, click.Choice)
    assert set(option.type.choices) == set(RENDERERS)
