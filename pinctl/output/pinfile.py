"""Renderers for the pin file: `list` as a table or JSON, and what `add` and `remove` changed.

Notes may come from certificate subjects, which are attacker-controlled: nothing here
lets an escape sequence or a line break through to a terminal or a log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pinctl.output.terminal import Sink, printable
from pinctl.pinfile.edit import EditResult
from pinctl.pinfile.model import Change, HostEntry, Listing, PinEntry
from pinctl.pinfile.schema import as_json
from pinctl.rotation.promote import Promotion

COLUMNS = ("HOST", "LEVEL", "KIND", "BACKUP", "EXPIRES", "DAYS", "PIN", "NOTE")


def _rows(listing: Listing) -> list[tuple[str, ...]]:
    rows = []
    for host in listing.pin_file.hosts:
        if not host.pins:
            rows.append((host.label, "-", "-", "-", "-", "-", "(no pins)", ""))
        for pin in host.pins:
            days = pin.days_left(listing.today)
            rows.append(
                (
                    host.label,
                    pin.level,
                    pin.kind,
                    "retired" if pin.retired else "yes" if pin.backup else "no",
                    pin.expires.isoformat() if pin.expires else "-",
                    "-" if days is None else "expired" if days < 0 else str(days),
                    str(pin.pin),
                    pin.note or "",
                )
            )
    return [tuple(printable(cell) for cell in row) for row in rows]


def render_table(listing: Listing, sink: Sink) -> None:
    """Aligned plain columns off a terminal (stable for scripts); a rich table on one."""
    rows = _rows(listing)
    if not rows:
        sink.note(f"{listing.pin_file.path} has no hosts; add one with `pinctl add HOST`")
        return
    if not sink.out_tty:
        widths = [max(len(row[i]) for row in (COLUMNS, *rows)) for i in range(len(COLUMNS))]
        for row in (COLUMNS, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            sink.out.write("  ".join(cells).rstrip() + "\n")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in COLUMNS:
        table.add_column(column, no_wrap=True)
    for row in rows:
        style = "red" if row[5] == "expired" else None
        table.add_row(*row, style=style)
    # A pin cut short is worse than a line the terminal wraps: people copy pins.
    needed = sum(max(len(r[i]) for r in (COLUMNS, *rows)) + 2 for i in range(len(COLUMNS)))
    console = sink.console()
    console.width = max(console.width, needed)
    console.print(table, crop=False)


def _host_json(host: HostEntry, listing: Listing) -> dict[str, Any]:
    """Every key of the host as the schema shows it, plus what `list` knows of today."""
    base = listing.pin_file.path.parent
    document = as_json(host, "host", base)
    document["pins"] = [
        {
            **as_json(pin, "pin", base),
            "days_left": pin.days_left(listing.today),
            "expired": pin.expired(listing.today),
            "weak": pin.pin.weak,
            "line": pin.line,
        }
        for pin in host.pins
    ]
    document["line"] = host.line
    return document


def render_json(listing: Listing, sink: Sink) -> None:
    pin_file = listing.pin_file
    document = {
        "pin_file": str(pin_file.path),
        "today": listing.today.isoformat(),
        "defaults": as_json(pin_file.defaults, "defaults", pin_file.path.parent),
        "hosts": [_host_json(host, listing) for host in listing.pin_file.hosts],
    }
    sink.write_json(document)


RENDERERS: dict[str, Callable[[Listing, Sink], None]] = {
    "table": render_table,
    "json": render_json,
}


def describe(pin: PinEntry) -> str:
    """``(leaf, backup, R11, expires 2026-03-01)``: what a reviewer needs beside the pin."""
    facts: list[str] = [pin.level]
    facts += ["backup"] if pin.backup else []
    facts += ["retired"] if pin.retired else []
    facts += ["cert"] if pin.kind == "cert" else []
    facts += [pin.note] if pin.note else []
    facts += [f"expires {pin.expires.isoformat()}"] if pin.expires else []
    return "(" + ", ".join(facts) + ")"


def change_lines(change: Change) -> list[str]:
    """``+`` added, ``=`` already there, ``-`` removed, ``~`` a host setting written."""
    label = change.label
    lines = [
        f"~ {label} {key} = {_json_text(_shown(value))}" for key, value in change.fields.items()
    ]
    lines += [f"+ {label} {p.pin} {describe(p)}" for p in change.added]
    lines += [f"= {label} {p.pin} {describe(p)} already pinned" for p in change.present]
    lines += [f"- {label} {p.pin} {describe(p)}" for p in change.removed]
    lines += [
        f"~ {label} {new.pin} {_amendment(old, new)} {describe(new)}" for old, new in change.amended
    ]
    if change.removed_host:
        lines.append(f"- {label} (the whole host)")
    return [printable(line) for line in lines]


def _amendment(old: PinEntry, new: PinEntry) -> str:
    if new.retired and not old.retired:
        return "retired"
    return "promoted" if old.backup and not new.backup else "updated"


def _shown(value: object) -> object:
    return value if isinstance(value, (bool, int, str)) else str(value)


def render_changes(result: EditResult, sink: Sink) -> None:
    """The changes on stdout; failures, and a word on what was (not) written, on stderr."""
    for failure in result.failures:
        sink.error(f"{failure.source}: {failure.error}")
    for change in result.changes:
        sink.out.write("".join(f"{line}\n" for line in change_lines(change)))
    sink.out.flush()
    for change in result.changes:
        if change.pins_left == 0 and not change.removed_host:
            sink.warn(
                f"{change.label} has no pins left: verify fails it until one is added "
                f"(or remove the host with `pinctl remove {change.host} --port {change.port}`)"
            )
    if not result.changes:
        return
    path = result.changes[0].path
    if any(change.dry_run for change in result.changes):
        sink.note(f"dry run: {path} was not written")
    elif not any(change.changed for change in result.changes):
        sink.note(f"{path} is unchanged: every pin was already there")
    elif any(change.created_file for change in result.changes):
        sink.note(f"created {path}")


def _json_text(value: object) -> str:
    import json

    return json.dumps(value)


def render_promotion(done: Promotion, sink: Sink) -> None:
    """What promote changed, then the commands the person on call runs next."""
    change = done.change
    sink.out.write("".join(f"{line}\n" for line in change_lines(change)))
    sink.out.write("next:\n")
    sink.out.write("".join(printable(f"  {command}") + "\n" for command in done.next_commands))
    sink.out.flush()
    if change.dry_run:
        sink.note(f"dry run: {change.path} was not written")
