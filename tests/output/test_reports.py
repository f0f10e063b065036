"""Report files: one mechanism for every file a run writes besides stdout (JUnit, metrics next).

A fake second kind of report, defined here, goes through the same mechanism as JUnit:
checked before the run, written atomically after it, and failing the run when lost.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pinctl.errors import ExitCode, UsageError
from pinctl.output import junit
from pinctl.output.reports import ReportFile, check_reports, write_reports
from pinctl.output.terminal import Sink
from pinctl.pinfile.model import HostEntry
from pinctl.verify.results import VerifyResult
from tests.support.hosts import host_result

NOW = datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)
TOO_LONG = "r" * 300 + ".prom"
"""A name no filesystem takes, in a directory that exists: the write itself fails."""


def result() -> VerifyResult:
    hosts = (
        host_result(HostEntry("a.test"), "pass", elapsed=0.5),
        host_result(HostEntry("b.test"), "pin-mismatch", "no pin matches the chain"),
    )
    return VerifyResult(hosts, Path("pins.toml"), NOW, elapsed=1.0)


def render_metrics(result: VerifyResult, sink: Sink) -> None:
    """A stand-in for the Prometheus textfile: one series per host."""
    for host in result.hosts:
        sink.out.write(f'pinctl_check_ok{{host="{host.entry.host}"}} {int(host.ok)}\n')


def metrics(path: Path, mode: int | None = 0o644) -> ReportFile[VerifyResult]:
    return ReportFile("--textfile", path, render_metrics, "metrics file", mode=mode)


def junit_report(path: Path) -> ReportFile[VerifyResult]:
    return ReportFile("--junit-xml", path, junit.render_junit, "JUnit report")


def test_two_kinds_of_report_are_written_alike(tmp_path: Path) -> None:
    """JUnit and a second kind are both written after the run, each by its own renderer."""
    reports = [junit_report(tmp_path / "j.xml"), metrics(tmp_path / "m.prom")]
    check_reports(reports)
    assert write_reports(reports, result(), io.StringIO()) == ()
    assert (tmp_path / "m.prom").read_text() == (
        'pinctl_check_ok{host="a.test"} 1\npinctl_check_ok{host="b.test"} 0\n'
    )
    assert stat.S_IMODE((tmp_path / "m.prom").stat().st_mode) == 0o644
    expected = junit.to_xml(junit.verify_suite(result(), NOW))
    assert (tmp_path / "j.xml").read_bytes() == expected, "JUnit's output is unchanged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.xml", "m.prom"], "no temporary file"


def test_a_renderer_writes_to_the_terminal_as_to_a_file(tmp_path: Path) -> None:
    """The renderer a report file uses writes the same text to any sink, stdout included."""
    out = io.StringIO()
    render_metrics(result(), Sink(out, io.StringIO()))
    write_reports([metrics(tmp_path / "m.prom")], result(), io.StringIO())
    assert out.getvalue() == (tmp_path / "m.prom").read_text()


@pytest.mark.parametrize("kind", ["junit", "metrics"])
def test_a_path_in_a_missing_directory_is_refused_before_the_run(tmp_path: Path, kind: str) -> None:
    """Any report's path is checked up front, naming its own option: a usage error (exit 2)."""
    path = tmp_path / "missing" / "r"
    report = junit_report(path) if kind == "junit" else metrics(path)
    with pytest.raises(UsageError, match="its directory does not exist; create it first") as info:
        check_reports([junit_report(tmp_path / "fine.xml"), report])
    assert str(info.value).startswith(f"{report.option} {path}: ")
    assert info.value.exit_code == ExitCode.USAGE


def test_a_symlink_loop_is_refused_before_the_run(tmp_path: Path) -> None:
    """A report path that is a loop of links is a usage error naming the option."""
    loop = tmp_path / "loop.prom"
    os.symlink(loop.name, loop)
    with pytest.raises(
        UsageError, match=r"^--textfile .*: a loop of symbolic links; fix the link$"
    ):
        check_reports([metrics(loop)])


def test_a_lost_report_fails_the_run_and_the_others_are_still_written(tmp_path: Path) -> None:
    """One report that cannot be written is named in one line and fails the run (exit 1);
    the other report is written all the same."""
    reports = [metrics(tmp_path / TOO_LONG), junit_report(tmp_path / "j.xml")]
    check_reports(reports)
    lost = write_reports(reports, result(), io.StringIO())
    [reason] = lost
    assert reason.startswith(f"cannot write {tmp_path / TOO_LONG}: ")
    assert reason.endswith("; the hosts were checked, but no metrics file was written")
    assert (tmp_path / "j.xml").exists()
    passing = VerifyResult(result().hosts[:1], Path("pins.toml"), NOW)
    assert passing.exit_code == ExitCode.OK
    assert replace(passing, lost_reports=lost).exit_code == ExitCode.FAILED


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    """A report replacing a file keeps that file's mode when the kind sets none (JUnit)."""
    path = tmp_path / "j.xml"
    path.write_text("old")
    path.chmod(0o640)
    write_reports([junit_report(path)], result(), io.StringIO())
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_bytes().startswith(b"<?xml")
