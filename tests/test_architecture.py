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


# Who may import whom, by top-level part of pinctl: one direction only, so the layers read
# bottom-up. The base modules (errors, files, hostnames) are open to every layer; a package
# not listed imports only those. Adding a sub-package means adding its row here.
BASE = frozenset({"errors", "files", "hostnames"})
ALLOWED: dict[str, frozenset[str]] = {
    "pki": frozenset(),
    "ct": frozenset({"pki"}),
    "net": frozenset({"pki"}),
    "pinfile": frozenset({"pki"}),
    "inspect": frozenset({"pki", "net", "pinfile", "ct"}),
    "verify": frozenset({"pki", "net", "pinfile", "exports", "ct"}),
    "exports": frozenset({"pki", "pinfile"}),
    "audit": frozenset({"pki", "pinfile"}),
    "rotation": frozenset({"pki", "net", "pinfile", "verify", "exports"}),
    "output": frozenset(
        {"pki", "net", "pinfile", "inspect", "verify", "exports", "audit", "rotation", "ct"}
    ),
    "cli": frozenset(
        {"pki", "net", "pinfile", "inspect", "verify", "exports", "output", "audit", "rotation"}
        | {"ct"}
    ),
    "triage": frozenset({"pki", "pinfile", "verify"}),
}
# report triage (#19): its renderers and its command, in a hunk of their own for the merge.
ALLOWED["output"] |= {"triage"}
ALLOWED["cli"] |= {"triage"}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, type-only ones included."""
    names: set[str] = set()
    package = _module(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names.add(base)
            # `from pinctl.pki import pins` imports the module pinctl.pki.pins
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _internal(path: Path) -> set[str]:
    """The pinctl modules `path` imports (a name that is not a module is dropped)."""
    known = {_module(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in _imports(path) if name in known} - {_module(path), "pinctl"}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_packages_import_only_downwards() -> None:
    """A module imports only the packages its row of ALLOWED names, plus the base modules."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        if module.count(".") == 0 or path.name == "__main__.py":
            continue
        mine = _part(module)
        allowed = ALLOWED.get(mine, frozenset()) | BASE | {mine}
        offenders += [
            f"{path.relative_to(PACKAGE.parent)} imports {name}"
            for name in sorted(_internal(path))
            if _part(name) not in allowed
        ]
    assert offenders == [], "forbidden imports (see ALLOWED in this file):\n" + "\n".join(offenders)


def test_tests_share_helpers_only_through_support() -> None:
    """A test module imports no other test module: what two test files share lives in
    tests/support/, so moving or deleting one test file never breaks another."""
    tests = Path(__file__).parent
    offenders = []
    for path in sorted(tests.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("tests.") and module.rsplit(".")[-1][:5] == "test_":
                offenders.append(f"{path.relative_to(tests.parent)} imports {module}")
    assert offenders == [], "move what they share into tests/support/:\n" + "\n".join(offenders)


def test_every_package_has_a_row() -> None:
    """A new sub-package cannot slip in without a place in the dependency table."""
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages == set(ALLOWED)


def test_no_import_cycles() -> None:
    """No module reaches itself through imports, lazy or type-only ones included."""
    graph = {_module(p): _internal(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"}
    cycles = [scc for scc in _strongly_connected(graph) if len(scc) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; a package's __init__ counts as a node of its own."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            scc = []
            while True:
                top = stack.pop()
                scc.append(top)
                if top == node:
                    break
            found.append(sorted(scc))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_modules_are_one_concept_each() -> None:
    """No module passes 400 lines: past that it is two concepts (STYLE.md)."""
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


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
    """pyOpenSSL stays behind pinctl/net/tls.py; everything else works with cryptography objects."""
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p != PACKAGE / "net" / "tls.py"
        and any(n.split(".")[0] == "OpenSSL" for n in _imports(p))
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
    names = []
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if any("--output" in p.opts for p in command.params):
            names.append(name)
    return names


def test_output_commands_are_found() -> None:
    """The renderer check below covers the commands SPEC.md gives an -o option."""
    assert {"fetch", "pin", "list", "verify", "backup-keygen"} <= set(_commands_with_output())


@pytest.mark.parametrize("name", _commands_with_output())
def test_every_output_choice_has_a_renderer(name: str) -> None:
    """Each value a command accepts for -o/--output has a renderer in the registry it uses."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    options = [p for p in command.params if isinstance(p, click.Option) and "--output" in p.opts]
    choice = options[0].type
    assert isinstance(choice, click.Choice), name
    choices = set(choice.choices)
    source = Path(sys.modules[command.callback.__module__].__file__ or "").read_text()
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
