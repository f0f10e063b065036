"""TAB completion: the scripts `pinctl completion` prints, and what they propose.

The first tests run bash for real on the shipped completions/pinctl.bash, which calls
the installed `pinctl` back as a shell would; the rest ask click's bash completion
in-process, the same code the script reaches, to cover every choice quickly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.shell_completion import BashComplete, CompletionItem

from pinctl.cli import COMMANDS, cli
from pinctl.cli.completion import COMPLETE_VAR, SHELLS, completion_script
from tests.support.cli import Run
from tests.support.generator import ROOT, generate
from tests.support.tools import require

SCRIPT = ROOT / "completions" / "pinctl.bash"
PIN_FILE = """\
version = 1

[[hosts]]
host = "api.example.com"
pins = [{ pin = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=" }]

[[hosts]]
host = "beta.example.com"
port = 8443
pins = [{ pin = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=" }]
"""

needs_pinctl = pytest.mark.skipif(
    shutil.which("pinctl") is None or shutil.which("bash") is None,
    reason="needs bash and the pinctl console script on PATH (pip install -e .)",
)


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(PIN_FILE)
    return path


def bash_complete(words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """Source the shipped script in bash and run its completion function on `words`.

    The last word is the one being completed, as when the cursor ends the line.
    """
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source '{SCRIPT}'\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        "_pinctl_completion pinctl 2>/dev/null\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    full_env = {k: v for k, v in os.environ.items() if k != "PINCTL_PIN_FILE"}
    full_env.update(env or {})
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=30,
        check=True,
    )
    assert out.stderr == ""
    return [w for w in out.stdout.splitlines() if w]


def complete(args: list[str], incomplete: str) -> list[CompletionItem]:
    return BashComplete(cli, {}, "pinctl", COMPLETE_VAR).get_completions(args, incomplete)


def values(args: list[str], incomplete: str) -> list[str]:
    return [item.value for item in complete(args, incomplete)]


@needs_pinctl
def test_bash_proposes_every_subcommand() -> None:
    """`pinctl <TAB>` in bash lists every command, and a prefix narrows them."""
    assert bash_complete(["pinctl", ""]) == list(COMMANDS)
    assert bash_complete(["pinctl", "ba"]) == ["backup-keygen"]
    assert bash_complete(["pinctl", "zz"]) == []


@needs_pinctl
def test_bash_proposes_output_formats() -> None:
    """`pinctl fetch -o <TAB>` in bash lists fetch's formats, and only those."""
    assert bash_complete(["pinctl", "fetch", "-o", ""]) == ["table", "json", "pem", "pins"]
    assert bash_complete(["pinctl", "pin", "-o", "p"]) == ["pins"]


@needs_pinctl
def test_bash_proposes_hosts_of_the_pin_file(pins: Path) -> None:
    """`pinctl verify <TAB>` in bash lists the pin file's hosts, from --pin-file or the env."""
    by_option = bash_complete(["pinctl", "verify", "--pin-file", str(pins), ""])
    assert by_option == ["api.example.com", "beta.example.com"]
    by_env = bash_complete(["pinctl", "verify", "b"], env={"PINCTL_PIN_FILE": str(pins)})
    assert by_env == ["beta.example.com"]


@needs_pinctl
def test_bash_proposes_no_hosts_without_a_pin_file(tmp_path: Path) -> None:
    """A missing pin file completes nothing, and prints nothing into the user's line."""
    missing = tmp_path / "absent.toml"
    assert bash_complete(["pinctl", "verify", "--pin-file", str(missing), ""]) == []


@needs_pinctl
def test_the_protocol_asks_the_shell_for_files_and_directories(tmp_path: Path) -> None:
    """Where a file or directory is expected, pinctl hands completion back to the shell."""
    env = {**os.environ, COMPLETE_VAR: "bash_complete", "COMP_CWORD": "2"}
    pin = subprocess.run(
        ["pinctl"], env={**env, "COMP_WORDS": "pinctl pin "}, capture_output=True, text=True
    )
    keygen = subprocess.run(
        ["pinctl"],
        env={**env, "COMP_WORDS": "pinctl backup-keygen --out-dir ", "COMP_CWORD": "3"},
        capture_output=True,
        text=True,
    )
    assert (pin.returncode, pin.stdout, pin.stderr) == (0, "file,\n", "")
    assert (keygen.returncode, keygen.stdout, keygen.stderr) == (0, "dir,\n", "")


def test_options_are_proposed_by_prefix() -> None:
    """`pinctl fetch --ti<TAB>` completes the option name; a non-option prefix does not."""
    assert values(["fetch"], "--ti") == ["--timeout"]
    assert "--timeout" not in values(["pin"], "--")


@pytest.mark.parametrize(
    ("args", "incomplete", "expected"),
    [
        (["fetch", "--hash"], "", ["sha256", "sha384", "sha512"]),
        (["pin", "--hash"], "sha5", ["sha512"]),
        (["verify", "-o"], "", ["table", "json", "prometheus"]),
        (["backup-keygen", "--type"], "rsa", ["rsa-2048", "rsa-3072", "rsa-4096"]),
        (["export", "--format"], "okhttp", ["okhttp-kotlin", "okhttp-java"]),
        (["completion"], "", list(SHELLS)),
    ],
)
def test_fixed_choices_are_proposed(args: list[str], incomplete: str, expected: list[str]) -> None:
    """Options with a fixed set of values complete to exactly those values."""
    assert values(args, incomplete) == expected


def test_level_choices_are_proposed() -> None:
    """`pinctl add --level <TAB>` completes leaf, intermediate and root."""
    if "add" not in _importable():
        pytest.skip("pinctl/cli/add.py is not written yet")
    assert values(["add", "--level"], "") == ["leaf", "intermediate", "root"]
    assert values(["add", "--level"], "x") == []


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["pin"], "file"),
        (["fetch", "--ca-file"], "file"),
        (["fetch", "--save"], "file"),
        (["verify", "--chain"], "file"),
        (["verify", "--pin-file"], "file"),
        (["backup-keygen", "--out-dir"], "dir"),
    ],
)
def test_paths_complete_as_files(args: list[str], kind: str) -> None:
    """Arguments and options that take a path ask the shell for file (or directory) names."""
    assert [(i.type, i.value) for i in complete(args, "")] == [(kind, "")]


def test_values_without_choices_propose_no_files() -> None:
    """A free-form value such as --servername proposes nothing, not the directory listing."""
    assert complete(["fetch", "--servername"], "") == []


@pytest.mark.parametrize("name", ["verify", "remove", "export"])
def test_host_arguments_complete_from_the_pin_file(name: str, pins: Path) -> None:
    """The HOST arguments of verify, remove and export complete to the pin file's hosts."""
    if name not in _importable():
        pytest.skip(f"pinctl {name} is not written yet")
    got = values([name, "--pin-file", str(pins)], "")
    assert got == ["api.example.com", "beta.example.com"]
    assert values([name, "--pin-file", str(pins)], "zz") == []


def test_host_completion_tolerates_a_broken_pin_file(tmp_path: Path) -> None:
    """A pin file that is not TOML completes nothing rather than failing the TAB."""
    from pinctl.cli.common import complete_hosts

    broken = tmp_path / "pins.toml"
    broken.write_text("version = [\n")
    ctx = click.Context(cli)
    ctx.params["pin_file"] = str(broken)
    param = click.Argument(["hosts"])
    assert complete_hosts(ctx, param, "") == []
    broken.write_text(PIN_FILE)
    assert complete_hosts(ctx, param, "a") == ["api.example.com"]


def test_host_completion_never_blocks_on_a_fifo(tmp_path: Path) -> None:
    """A pin file that is a FIFO with no writer completes nothing at once (no hung prompt)."""
    import os

    from pinctl.cli.common import complete_hosts

    fifo = tmp_path / "pins.toml"
    os.mkfifo(fifo)
    ctx = click.Context(cli)
    ctx.params["pin_file"] = str(fifo)
    assert complete_hosts(ctx, click.Argument(["hosts"]), "") == []


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_the_shipped_script(run: Run, shell: str) -> None:
    """`pinctl completion SHELL` prints exactly the script shipped in completions/."""
    shipped = {"bash": "pinctl.bash", "zsh": "_pinctl", "fish": "pinctl.fish"}[shell]
    result = run(["completion", shell])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == completion_script(shell)

    recorded = generate.other_click()
    if recorded is not None:
        pytest.skip(f"completions/ come from click {recorded}; another click is installed")
    assert result.stdout == (ROOT / "completions" / shipped).read_text()
    assert "_PINCTL_COMPLETE" in result.stdout


def test_completion_refuses_an_unknown_shell(run: Run) -> None:
    """An unsupported shell is a one-line usage error naming the shells, exit 2."""
    result = run(["completion", "tcsh"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pinctl: error: ")
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["zsh", "-n"]), ("fish", ["fish", "-n"])])
def test_other_shells_parse_their_script(shell: str, check: list[str]) -> None:
    """The zsh and fish scripts are valid syntax for their shell (when it is installed)."""
    require(check[0])
    script = {"zsh": "_pinctl", "fish": "pinctl.fish"}[shell]
    out = subprocess.run([*check, str(ROOT / "completions" / script)], capture_output=True)
    assert (out.returncode, out.stderr) == (0, b"")


def _importable() -> set[str]:
    found = set()
    for name, (module, _) in COMMANDS.items():
        try:
            cli.get_command(click.Context(cli), name)
        except ModuleNotFoundError as exc:
            if exc.name != f"pinctl.cli.{module}":
                raise
        else:
            found.add(name)
    return found
