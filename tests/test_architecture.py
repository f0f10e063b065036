"""The boundaries STYLE.md draws, checked so that they cannot erode silently."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import pinctl
from pinctl.cli import COMMANDS, cli

PACKAGE = Path(pinctl.__file__).parent
CORE = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if not p.is_relative_to(PACKAGE / "cli")
    and not p.is_relative_to(PACKAGE / "output")
    and p.name != "__main__.py"
)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
        ".__init__"
    )


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_never_loads_click_or_rich() -> None:
    """Importing every core module in a fresh interpreter pulls in neither click nor rich."""
    modules = [_module(p) for p in CORE]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_tls_imports_pyopenssl() -> None:
    """pyOpenSSL stays behind pinctl/tls.py; everything else works with cryptography objects."""
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "tls.py" and any(n.split(".")[0] == "OpenSSL" for n in _imports(p))
    ]
    assert offenders == []


def test_help_loads_no_heavy_module() -> None:
    """`pinctl --help` (and every TAB completion) imports neither cryptography, OpenSSL nor rich."""
    code = (
        "import sys\n"
        "from pinctl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'OpenSSL', "
        "'rich', 'tomlkit'})\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == "[]"


def test_piped_pin_loads_neither_rich_nor_pyopenssl(tmp_path: Path) -> None:
    """The `pin` path with piped output imports no rich and no pyOpenSSL."""
    import trustme

    cert = tmp_path / "c.pem"
    trustme.CA().cert_pem.write_to_path(str(cert))
    code = (
        "import sys\n"
        "from pinctl.cli import main\n"
        f"try:\n    main(['pin', {str(cert)!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'OpenSSL', 'rich', 'tomlkit'})\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == "[]"
    assert out.stdout.count("sha256/") == 2


def _commands_with_output() -> list[str]:
    ctx = click.Context(cli)
    return [
        name
        for name in COMMANDS
        if any("--output" in p.opts for p in cli.get_command(ctx, name).params)  # type: ignore[union-attr]
    ]


def test_output_commands_are_found() -> None:
    """The renderer check below covers the commands SPEC.md gives an -o option."""
    assert {"fetch", "pin", "list", "verify", "backup-keygen"} <= set(_commands_with_output())


@pytest.mark.parametrize("name", _commands_with_output())
def test_every_output_choice_has_a_renderer(name: str) -> None:
    """Each value a command accepts for -o/--output has a renderer in the registry it uses."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    options = [p for p in command.params if isinstance(p, click.Option) and "--output" in p.opts]
    choices = set(options[0].type.choices)  # type: ignore[attr-defined]
    source = Path(sys.modules[command.callback.__module__].__file__ or "").read_text()  # type: ignore[union-attr]
    used = re.findall(r"from (pinctl\.output\.\w+) import RENDERERS", source)
    assert used, f"pinctl/cli: {name} does not take its renderers from a RENDERERS registry"
    registry = importlib.import_module(used[0]).RENDERERS
    assert choices <= set(registry), f"{name}: no renderer for {choices - set(registry)}"
    assert all(callable(r) for r in registry.values())


def test_the_core_never_reads_the_clock() -> None:
    """Time is passed in from the command layer, so expiry logic is testable without clocks."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in CORE
        if any(call in path.read_text() for call in ("datetime.now", "date.today", "utcnow("))
    ]
    assert offenders == []
