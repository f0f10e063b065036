"""`audit --verify`: the chain holds, and each pin file is as its last line left it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pinctl.audit import log


@dataclass(frozen=True)
class AuditReport:
    """The log as read, and what checking it found."""

    path: Path
    lines: tuple[log.Line, ...]
    problems: tuple[str, ...] = ()
    checked: bool = False
    """Whether --verify was asked; only then are problems looked for."""


def report(path: Path, *, check: bool) -> AuditReport:
    """Read the log; with `check`, find a broken chain and pin files edited outside pinctl."""
    if check:
        from pinctl.pinfile import lock

        with lock.locked(path):
            log.settle(path)  # a change a killed run left half made is settled first
    try:
        lines = tuple(log.read(path))
    except log.AuditLogError as exc:
        if not check:
            raise
        return AuditReport(path, (), (str(exc),), True)  # --verify: a damaged log is a break
    if not check:
        return AuditReport(path, lines)
    problems = []
    broken = log.chain_break(path, list(lines))
    if broken:
        problems.append(broken)
    last: dict[str, log.Line] = {}
    for line in lines:
        last[str(line.record["pin_file"])] = line
    for name, line in last.items():
        target = Path(name) if Path(name).is_absolute() else path.parent / name
        try:
            current: str | None = log.sha256(target.read_bytes())
        except FileNotFoundError:
            current = None
        if current != line.record["after_sha256"]:
            problems.append(
                f"{target}: edited outside pinctl since {line.record['time']} "
                f"({path}:{line.number} recorded sha256 {line.record['after_sha256']}, "
                f"the file now has {current})"
            )
    return AuditReport(path, lines, tuple(problems), True)
