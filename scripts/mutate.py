"""Mutation testing: does the suite notice when the code is wrong?

Each mutant is one small change to one line of the code (a comparison flipped, `and` for
`or`, a constant moved by one, a condition negated, a statement or re-raise deleted, a
returned value dropped). It runs against only the tests that execute that line, found by
one coverage run with a context per test; a mutant that no test notices "survived" and
points at a missing test. A mutant that makes a test hang is killed by the time limit.

    nice -n 19 python scripts/mutate.py pinctl/pki pinctl/verify pinctl/pinfile \\
        --sample 150 --seed 12

The code is mutated in a copy of the checkout (never in place). Needs `coverage`
(pip install coverage). Some mutants are equivalent (the change cannot alter behaviour):
scripts/mutate-equivalent.toml names each, by file, source line and change, with the
reason; they are not run, and the kill rate is over the others, counting a mutant no test
runs as not killed. The report lists every survivor with its file, line and change.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = Path(__file__).with_name("mutate-equivalent.toml")
SELECT = "PINCTL_MUTATE_SELECT"
SHARED = "PINCTL_MUTATE_SHARED"
SETUP = "|setup"  # the context of a test's fixtures, set up or torn down
"""A file of test node ids: the plugin below deselects every other test."""

_SWAPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.And: ast.Or, ast.Or: ast.And,
    ast.Add: ast.Sub, ast.Sub: ast.Add,
}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    path: str
    """Relative to the checkout: pinctl/pki/validation.py."""
    site: int
    """Which mutable place of the file, in ast.walk order of the original."""
    line: int
    change: str
    end: int
    """The last line of the changed code: a condition written over several lines may have
    its bytecode on any of them, so the tests of every one of them judge the mutant."""


# -- the pytest plugin: a coverage context per test, and a selection of tests --------------


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    select = os.environ.get(SELECT)
    if not select:
        return
    wanted = set(Path(select).read_text().splitlines())
    kept = [item for item in items if item.nodeid in wanted]
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in wanted])
    items[:] = kept


def pytest_collection_finish(session: Any) -> None:
    """Record which tests share a fixture wider than one test (a module's batch of backup
    keys): what that fixture runs, it runs in the setup of only the first of them."""
    out = os.environ.get(SHARED)
    if not out:
        return
    shared: dict[str, list[str]] = {}
    for item in session.items:
        info = getattr(item, "_fixtureinfo", None)
        for name, defs in info.name2fixturedefs.items() if info else ():
            if defs and defs[-1].scope != "function":
                key = f"{defs[-1].scope}:{defs[-1].baseid}:{name}"
                if defs[-1].scope == "module":
                    key += ":" + item.nodeid.split("::")[0]
                shared.setdefault(item.nodeid, []).append(key)
    Path(out).write_text(json.dumps(shared))


@pytest.hookimpl(tryfirst=True)  # before pytest sets the fixtures up
def pytest_runtest_setup(item: Any) -> None:
    _switch(item.nodeid + SETUP)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: Any) -> None:
    _switch(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: Any) -> None:
    _switch(item.nodeid + SETUP)


def _switch(context: str) -> None:
    try:
        import coverage
    except ImportError:
        return
    current = coverage.Coverage.current()
    if current is not None:
        current.switch_context(context)


# -- mutation sites ---------------------------------------------------------------------


def _skipped_lines(tree: ast.Module) -> set[int]:
    """Docstrings and `if TYPE_CHECKING:` blocks: nothing there runs."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if hasattr(inner, "lineno"):
                    lines.add(inner.lineno)
    return lines


def _is_docstring(node: ast.AST) -> bool:
    """A docstring, or the `...` of a protocol's method: text, not a statement."""
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and (isinstance(node.value.value, str) or node.value.value is Ellipsis)
    )


def sites(tree: ast.Module) -> Iterator[tuple[int, ast.AST, str]]:
    """(index, node, change) for every mutable place, in a stable order."""
    skipped = _skipped_lines(tree)
    index = 0
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is None or line in skipped:
            continue
        changes: list[str] = []
        if isinstance(node, ast.Compare):
            changes += [
                f"{type(op).__name__} -> {_SWAPS[type(op)].__name__}"
                for op in node.ops
                if type(op) in _SWAPS
            ][:1]
        elif isinstance(node, (ast.BoolOp, ast.BinOp)) and type(node.op) in _SWAPS:
            changes.append(f"{type(node.op).__name__} -> {_SWAPS[type(node.op)].__name__}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            changes.append("drop `not`")
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            changes.append(f"{node.value} -> {not node.value}")
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            changes.append(f"{node.value} -> {node.value + 1}")
        elif isinstance(node, (ast.If, ast.While)):
            changes.append("negate the condition")
        elif isinstance(node, ast.Break):
            changes.append("break -> continue")
        elif isinstance(node, ast.Continue):
            changes.append("continue -> break")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                changes.append("return None")
        elif isinstance(node, ast.Raise) or (
            isinstance(node, ast.Expr) and not _is_docstring(node)
        ):
            changes.append("delete the statement")
        for change in changes:
            yield index, node, change
            index += 1


def mutate(source: str, site: int) -> str:
    tree = ast.parse(source)
    for index, node, _change in sites(tree):
        if index != site:
            continue
        if isinstance(node, ast.Compare):
            position = next(i for i, op in enumerate(node.ops) if type(op) in _SWAPS)
            node.ops[position] = _SWAPS[type(node.ops[position])]()
        elif isinstance(node, (ast.BoolOp, ast.BinOp)):
            node.op = _SWAPS[type(node.op)]()  # type: ignore[assignment]
        elif isinstance(node, ast.UnaryOp):
            _replace(tree, node, node.operand)
        elif isinstance(node, ast.Constant):
            node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
        elif isinstance(node, (ast.If, ast.While)):
            node.test = ast.UnaryOp(ast.Not(), node.test)
        elif isinstance(node, ast.Break):
            _replace(tree, node, ast.Continue())
        elif isinstance(node, ast.Continue):
            _replace(tree, node, ast.Break())
        elif isinstance(node, ast.Return):
            node.value = ast.Constant(None)
        else:
            _replace(tree, node, ast.Pass())
        return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    raise IndexError(site)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, ast.copy_location(new, old))
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[v is old for v in value].index(True)] = ast.copy_location(new, old)
                return


def mutants(paths: list[Path]) -> list[Mutant]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text())
        relative = str(path.relative_to(ROOT))
        for index, node, change in sites(tree):
            spanned = node.test if isinstance(node, (ast.If, ast.While)) else node
            line = getattr(node, "lineno", 0)
            end = getattr(spanned, "end_lineno", None) or line
            found.append(Mutant(relative, index, line, change, end))
    return found


@functools.cache
def _lines(path: str) -> list[str]:
    return [line.strip() for line in (ROOT / path).read_text().splitlines()]


def line_text(mutant: Mutant) -> str:
    """The mutant's line as written, stripped: what names it across edits elsewhere."""
    return _lines(mutant.path)[mutant.line - 1]


def equivalents(path: Path) -> dict[tuple[str, str, str], str]:
    """(file, stripped source line, change) -> why the mutant cannot change behaviour.

    Keyed by the line's text, not its number, so an edit elsewhere in the file keeps the
    entry; an edit of the line itself drops it, and the mutant is judged again. A file of
    "*" is every file (one reason that holds wherever the line is written). A line too
    common to name one place (`break`) is written with the lines before it, one per line.
    """
    import tomlkit

    if not path.is_file():
        return {}
    entries = tomlkit.parse(path.read_text()).get("equivalent", [])
    return {(e["path"], e["line"], e["change"]): e["why"] for e in entries}


def is_equivalent(mutant: Mutant, known: dict[tuple[str, str, str], str]) -> bool:
    lines = [line.strip() for line in (ROOT / mutant.path).read_text().splitlines()]
    for path, text, change in known:
        if path not in (mutant.path, "*") or change != mutant.change:
            continue
        first = mutant.line - 1 - text.count("\n")
        if first >= 0 and "\n".join(lines[first : mutant.line]) == text:
            return True
    return False


# -- running ------------------------------------------------------------------------------


def covering_tests(
    data_file: Path, tests: list[str], refresh: bool
) -> dict[str, dict[int, set[str]]]:
    """file -> line -> the node ids of the tests that ran it (one coverage run, cached)."""
    if refresh or not data_file.exists():
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)])}
        # Many tests run pinctl as a process of its own (the CLI, a pty, a real client's
        # judge): coverage follows them into it (`patch = subprocess`), and the children
        # inherit the parent's settings, so tests/support/hermetic/sitecustomize.py names
        # their lines by the test that was running, which pytest keeps in
        # PYTEST_CURRENT_TEST for its children ("tests/x.py::test_y (call)").
        rcfile = data_file.with_name(data_file.name + "-rc")  # not "NAME.*": combine reads those
        rcfile.write_text(
            f"[run]\ndata_file = {data_file}\nsource = pinctl\nparallel = true\n"
            "patch = subprocess\n"
        )
        for stale in data_file.parent.glob(data_file.name + "*"):
            if stale != rcfile:
                stale.unlink()
        env[SHARED] = str(data_file.with_name(data_file.name + "-shared.json"))
        baseline = subprocess.run(
            [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}",
             "-m", "pytest", "-q", "-p", "mutate", "-p", "no:cacheprovider", *tests],
            cwd=ROOT, env=env, check=False,
        )  # fmt: skip
        if baseline.returncode != 0:
            # A test that fails on the real code would "kill" every mutant it runs for.
            sys.exit(f"mutate: the suite fails unmutated (exit {baseline.returncode}); fix it")
        subprocess.run(
            [sys.executable, "-m", "coverage", "combine", f"--rcfile={rcfile}", "-q"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    shared_file = data_file.with_name(data_file.name + "-shared.json")
    keys: dict[str, list[str]] = json.loads(shared_file.read_text())
    sharing: dict[str, set[str]] = {}
    for node, node_keys in keys.items():
        # A module's or a class's fixture; a session's (a CA, a JVM) spans so many tests
        # that judging its lines by all of them would make every mutant a whole-suite run.
        for key in node_keys:
            if key.startswith(("module:", "class:")):
                sharing.setdefault(key, set()).add(node)

    def judges(context: str) -> set[str]:
        """The tests that judge a line run in `context`: the test itself, and for a line run
        while its fixtures were set up, every test that shares one of those fixtures."""
        # A child's is "tests/x.py::test_y (call)"; a node id may hold " (" itself (a
        # parameter's text), so only the phase pytest appends is taken off the end.
        node, phase = context, "call"
        for name in ("setup", "call", "teardown"):
            if context.endswith(f" ({name})"):
                node, phase = context.removesuffix(f" ({name})"), name
        if node.endswith(SETUP):
            node, phase = node.removesuffix(SETUP), "setup"
        if phase == "call":
            return {node}  # the test's own call, in this process or in a child
        return {node}.union(*(sharing[k] for k in keys.get(node, ()) if k in sharing))

    table: dict[str, dict[int, set[str]]] = {}
    for measured in data.measured_files():
        resolved = Path(measured).resolve()
        if not resolved.is_relative_to(ROOT):
            continue  # a child that imported an installed pinctl instead of this checkout
        relative = str(resolved.relative_to(ROOT))
        by_line = data.contexts_by_lineno(measured)
        # A child's context is PYTEST_CURRENT_TEST: "tests/x.py::test_y (call)".
        table[relative] = {
            line: set().union(*(judges(c) for c in ctx if c)) for line, ctx in by_line.items()
        }
        # A line run at import (a module-level table, a decorator) is judged by every test
        # of its file: whichever test imported the module first is no better judge than
        # the others, and an import outside any test has no context at all.
        everyone = set().union(*table[relative].values())
        at_import = _import_time_lines(ROOT / relative)
        for line, ctx in table[relative].items():
            if not ctx or line in at_import:
                ctx.update(everyone)
        # A bare `yield` after a function's return never runs, yet it makes the function a
        # generator: what calls the function judges it.
        lines = table[relative]
        for marker, body in _generator_markers(ROOT / relative).items():
            lines[marker] = set().union(*(lines.get(n, set()) for n in body))
    return table


def _generator_markers(path: Path) -> dict[int, set[int]]:
    """A function's closing bare `yield` (after its return) -> the lines of its function."""
    markers: dict[int, set[int]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
        last = node.body[-1]
        bare = isinstance(last, ast.Expr) and isinstance(last.value, ast.Yield)
        if bare and not last.value.value:  # type: ignore[attr-defined]
            markers[last.lineno] = body - {last.lineno}
    return markers


def _import_time_lines(path: Path) -> set[int]:
    """Lines that run when the module is imported: everything but function bodies."""
    lines: set[int] = set()

    def mark(*nodes: ast.AST) -> None:
        lines.update(n.lineno for node in nodes for n in ast.walk(node) if hasattr(n, "lineno"))

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defaults = [*stmt.args.defaults, *stmt.args.kw_defaults]
                mark(*stmt.decorator_list, *(d for d in defaults if d is not None))
                lines.add(stmt.lineno)
            elif isinstance(stmt, ast.ClassDef):
                mark(*stmt.decorator_list)
                lines.add(stmt.lineno)
                visit(stmt.body)
            else:
                mark(stmt)

    visit(ast.parse(path.read_text()).body)
    return lines


def run_mutant(mutant: Mutant, copy_root: Path, tests: set[str], limit: float) -> str:
    """killed, survived or timeout (a hang the time limit caught: killed too)."""
    target = copy_root / mutant.path
    original = (ROOT / mutant.path).read_text()
    target.write_text(mutate(original, mutant.site))
    select = copy_root / ".mutate-select"
    select.write_text("\n".join(sorted(tests)))
    files = sorted({t.split("::", 1)[0] for t in tests})
    env = {**os.environ, SELECT: str(select),
           "PYTHONPATH": os.pathsep.join([str(copy_root / "scripts"), str(copy_root)])}  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "mutate", "-p", "no:cacheprovider",
             "-o", "timeout=30", *files],
            cwd=copy_root, env=env, capture_output=True, timeout=limit, check=False,
        )  # fmt: skip
        outcome = "survived" if done.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        outcome = "timeout"
    finally:
        target.write_text(original)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description="Mutation testing of pinctl's packages.")
    parser.add_argument("packages", nargs="+", type=Path, help="packages or files to mutate")
    parser.add_argument("--tests", nargs="+", default=["tests"], help="tests for coverage")
    parser.add_argument("--sample", type=int, default=0, help="mutants to try (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--coverage-file", type=Path, default=ROOT / ".mutate-coverage")
    parser.add_argument("--refresh", action="store_true", help="redo the coverage run")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="FILE:LINE", help="only the mutants of these lines"
    )
    parser.add_argument(
        "--unseen", nargs="+", type=Path, default=[], metavar="JSON",
        help="sample only mutants that no earlier run's --json lists (same file, line text "
        "and change): a sample the tree was not tuned on",
    )  # fmt: skip
    args = parser.parse_args()
    # A shell's background job ignores SIGINT, and an ignored signal stays ignored in every
    # child: the Ctrl-C tests would then fail on the real code too and "kill" mutants.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    files = sorted(
        f for p in args.packages for f in ([p] if p.is_file() else p.resolve().rglob("*.py"))
    )
    everything = mutants([f.resolve() for f in files])
    if args.only:
        everything = [m for m in everything if f"{m.path}:{m.line}" in set(args.only)]
    if args.unseen:
        seen = {
            (r["path"], r["text"], r["change"])
            for earlier in args.unseen
            for r in json.loads(earlier.read_text())
        }
        everything = [m for m in everything if (m.path, line_text(m), m.change) not in seen]
    chosen = everything
    if args.sample and args.sample < len(everything):
        sampler = random.Random(args.seed)  # noqa: S311 - a sample, not a secret
        chosen = sorted(sampler.sample(everything, args.sample), key=lambda m: (m.path, m.site))
    table = covering_tests(args.coverage_file, args.tests, args.refresh)
    known = equivalents(EQUIVALENT)
    copy_root = Path(tempfile.mkdtemp(prefix="pinctl-mutate-"))
    results: list[dict[str, Any]] = []
    try:
        for name in ("pinctl", "tests", "scripts"):
            shutil.copytree(ROOT / name, copy_root / name,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        shutil.copy(ROOT / "pyproject.toml", copy_root / "pyproject.toml")
        for number, mutant in enumerate(chosen, 1):
            lines = table.get(mutant.path, {})
            tests = set().union(*(lines.get(n, set()) for n in range(mutant.line, mutant.end + 1)))
            started = time.monotonic()
            if is_equivalent(mutant, known):
                outcome = "equivalent"
            elif tests:
                outcome = run_mutant(mutant, copy_root, tests, args.limit)
            else:
                outcome = "uncovered"
            results.append({**mutant.__dict__, "text": line_text(mutant), "outcome": outcome,
                            "tests": len(tests),
                            "seconds": round(time.monotonic() - started, 1)})  # fmt: skip
            print(f"[{number}/{len(chosen)}] {outcome:9} {mutant.path}:{mutant.line} "
                  f"{mutant.change} ({len(tests)} tests)", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(copy_root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    report(results, len(everything))


def report(results: list[dict[str, Any]], total: int) -> None:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = len(results) - counts.get("equivalent", 0)
    print(f"\n{len(results)} mutants of {total} tried: " + ", ".join(
        f"{n} {k}" for k, n in sorted(counts.items())))  # fmt: skip
    if judged:
        print(f"kill rate of the non-equivalent mutants (uncovered count as survivors): "
              f"{killed}/{judged} = {100 * killed / judged:.1f}%")  # fmt: skip
    for r in results:
        if r["outcome"] in ("survived", "uncovered"):
            print(f"  {r['outcome']:9} {r['path']}:{r['line']}  {r['change']}")


if __name__ == "__main__":
    main()
