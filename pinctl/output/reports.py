"""Files a run writes besides stdout (the JUnit report today, Prometheus metrics next).

Each is a `ReportFile`: the option that named it, its path and the renderer that fills
it, the same kind of renderer `-o` uses (a result and a text sink). Every report is
handled the same way: its path is checked before any host is contacted, so that a
typo exits 2 having touched nothing; it is written atomically after the run, so CI
never uploads half of one; and a report that cannot be written fails the run (exit 1),
since the job that asked for it lost its artefact, although the checks still show.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TextIO, TypeVar

from pinctl.errors import InputError
from pinctl.files import check_target, write_atomic
from pinctl.output.terminal import Sink

R = TypeVar("R")


@dataclass(frozen=True)
class ReportFile(Generic[R]):
    """One file to write from a run's result."""

    option: str
    """The option that asked for it, as messages name it: ``--junit-xml``."""
    path: Path
    render: Callable[[R, Sink], None]
    """Writes the report as text to the sink's `out`, like any `-o` renderer."""
    kind: str
    """What it is, for the sentence that says it was lost: ``JUnit report``."""
    mode: int | None = None
    """The mode of a new file; None keeps an existing file's (a new one follows the umask)."""

    def check(self) -> None:
        """Refuse what can be refused before any host is contacted (exit 2: none was)."""
        check_target(self.option, self.path)

    def write(self, result: R, err: TextIO) -> str | None:
        """Render and replace the file atomically; say why when it could not be written."""
        text = io.StringIO()
        self.render(result, Sink(text, err))
        try:
            write_atomic(self.path, text.getvalue().encode("utf-8"), mode=self.mode)
        except InputError as exc:
            return f"{exc}; the hosts were checked, but no {self.kind} was written"
        return None


def check_reports(reports: Sequence[ReportFile[R]]) -> None:
    for report in reports:
        report.check()


def write_reports(reports: Sequence[ReportFile[R]], result: R, err: TextIO) -> tuple[str, ...]:
    """Write every report, one failure not stopping the others; the failures, one line each."""
    lost = (report.write(result, err) for report in reports)
    return tuple(reason for reason in lost if reason is not None)
