"""The lowest declared version of every runtime dependency, read from pyproject.toml.

`.ci/run` installs exactly these (as pip constraints) in a second environment and runs
the suite there, so a floor that the code has outgrown fails CI instead of a user. The
pins are derived from the `>=` floors each time, so the two cannot drift apart.

    python scripts/floors.py            # print name==version lines (a constraints file)
    python scripts/floors.py --check    # exit 1 unless exactly those versions are installed
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_FLOOR = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*(?P<v>[^,;\s]+)"
)


def dependencies(text: str) -> list[str]:
    """The `[project] dependencies` strings; the standard library's TOML reader where there
    is one, else a reading of the array that is good enough for this one file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.M | re.S)
        return re.findall(r'"([^"]+)"', block.group(1)) if block else []
    return list(tomllib.loads(text)["project"]["dependencies"])


def floors(text: str) -> dict[str, str]:
    """name -> lowest version; a dependency without a `>=` floor is an error, not a skip."""
    result: dict[str, str] = {}
    for spec in dependencies(text):
        match = _FLOOR.match(spec.strip())
        if match is None:
            raise SystemExit(f"floors: {spec!r} in {PYPROJECT.name} has no >= floor; add one")
        result[match["name"]] = match["v"]
    if not result:
        raise SystemExit(f"floors: no runtime dependencies found in {PYPROJECT}")
    return result


def _check(wanted: dict[str, str]) -> int:
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for name, floor in wanted.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        if installed != floor:
            wrong.append(f"{name} {installed} (floor {floor})")
    for line in wrong:
        print(f"floors: installed {line}", file=sys.stderr)
    return 1 if wrong else 0


def main(argv: list[str]) -> int:
    wanted = floors(PYPROJECT.read_text(encoding="utf-8"))
    if argv == ["--check"]:
        return _check(wanted)
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name, floor in wanted.items():
        print(f"{name}=={floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
