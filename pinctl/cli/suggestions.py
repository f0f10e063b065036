"""What TAB completes from the pin file: its hosts, and a host's pins.

Runs on every TAB, so it reads the TOML with the standard library where there is one and
never fails loudly: a missing or broken pin file simply completes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def complete_hosts(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Host names from the pin file, for TAB completion of any HOST argument or option.

    A `shell_complete=` callable: `verify`, `remove`, `export` and `backup-keygen --host`
    take it as it is, and so can any command that names a host of the pin file.
    Runs on every TAB, so it reads the TOML with the standard library where there is one
    (tomlkit, three times slower to import, on Python 3.10) and never fails loudly: a
    missing or broken pin file simply completes nothing.
    """
    hosts = [str(h["host"]) for h in _pin_file_hosts(ctx) if "host" in h]
    return [h for h in dict.fromkeys(hosts) if h.startswith(incomplete)]


def complete_pins(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """The pins recorded for the command's HOST argument (`remove HOST --pin <TAB>`),
    each with its level and note as the shell's description."""
    from click.shell_completion import CompletionItem

    # With the option's value still missing, click leaves the HOST argument unparsed.
    loose = [a for a in ctx.args if not a.startswith("-")]
    host = str(ctx.params.get("host") or (loose[0] if loose else ""))
    items = []
    for entry in _pin_file_hosts(ctx):
        names = {str(entry.get("host")), f"{entry.get('host')}:{entry.get('port', 443)}"}
        if host not in names or not isinstance(entry.get("pins"), list):
            continue
        for pin in entry["pins"]:
            text = str(pin.get("pin", "")) if isinstance(pin, dict) else ""
            if text.startswith(incomplete) and text:
                about = [str(pin.get(k)) for k in ("level", "note") if pin.get(k)]
                items.append(CompletionItem(text, help=", ".join(about) or None))
    return items


def _pin_file_hosts(ctx: click.Context) -> list[dict[str, Any]]:
    """The pin file's [[hosts]] tables as plain dicts, or none when it cannot be read."""
    import os

    from pinctl.files import read_regular

    root = ctx.find_root()
    path = (
        ctx.params.get("pin_file")
        or root.params.get("pin_file")
        or os.environ.get("PINCTL_PIN_FILE")
        or "pins.toml"
    )
    try:  # a FIFO or a huge file must not hang the prompt: read as the pin file is read
        found = read_regular(Path(path), what="pin file", limit=8 << 20, remedy="")
        data = _toml(found[0].decode("utf-8")) if found else {}
        return [h for h in data.get("hosts", []) if isinstance(h, dict)]
    except Exception:  # completion must never print a traceback at the prompt
        return []


def _toml(text: str) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+; mypy checks 3.10
    except ModuleNotFoundError:
        import tomlkit

        return tomlkit.parse(text).unwrap()
    result: dict[str, Any] = tomllib.loads(text)
    return result
