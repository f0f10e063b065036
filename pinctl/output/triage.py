"""Renderers for `report triage`: groups of alike reports, most urgent first, and the JSON.

The chain's subjects come from the reports, that is from whoever served the chain (an
intercepting proxy names itself there): they are shown through `printable`, never as
markup or control characters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pinctl.output.terminal import Sink, printable
from pinctl.triage.classify import CLASSES, Group, Triage

MEANING = {
    "interception": "the chain does not lead to a trusted root: a proxy or an attacker",
    "rotation": "trusted but unpinned: a key or CA changed; update the pins and the apps",
    "stale-app": "the chain matches a current pin: these app builds carry old pins",
    "unknown-host": "no host of the pin file",
}


def _label(group: Group) -> str:
    return f"[{group.host}]:{group.port}" if ":" in group.host else f"{group.host}:{group.port}"


def report_lines(triage: Triage) -> list[str]:
    lines: list[str] = []
    for group in triage.groups:
        noun = "report" if group.count == 1 else "reports"
        app = f"app {group.app_version}" if group.app_version is not None else "no app version"
        lines.append(f"{group.cls:<13} {_label(group)}  {app}  {group.count} {noun}")
        for pin, subject in zip(group.chain, group.subjects, strict=True):
            lines.append(f"    {pin}  {subject}")
    by_class = {cls: sum(g.count for g in triage.groups if g.cls == cls) for cls in CLASSES}
    noun = "report" if triage.reports == 1 else "reports"
    counts = ", ".join(f"{by_class[cls]} {cls}" for cls in CLASSES)
    lines.append(f"{triage.reports} {noun}: {counts}; {len(triage.malformed)} malformed")
    lines += [f"  {cls}: {MEANING[cls]}" for cls in CLASSES if by_class[cls]]
    lines += [f"malformed {bad.where}: {bad.error}" for bad in triage.malformed]
    return [printable(line) for line in lines]


def render_table(triage: Triage, sink: Sink) -> None:
    sink.out.write("".join(f"{line}\n" for line in report_lines(triage)))


def triage_json(triage: Triage) -> dict[str, Any]:
    return {
        "reports": triage.reports,
        "malformed": [{"where": bad.where, "error": bad.error} for bad in triage.malformed],
        "groups": [
            {
                "host": group.host,
                "port": group.port,
                "class": group.cls,
                "app_version": group.app_version,
                "chain": list(group.chain),
                "subjects": list(group.subjects),
                "count": group.count,
            }
            for group in triage.groups
        ],
    }


def render_json(triage: Triage, sink: Sink) -> None:
    sink.write_json(triage_json(triage))


RENDERERS: dict[str, Callable[[Triage, Sink], None]] = {
    "table": render_table,
    "json": render_json,
}
