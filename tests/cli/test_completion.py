"""TAB completion: the scripts `pinctl completion` prints, and what they propose.

The first tests drive the real shells on the shipped completions/: fish through
`complete -C`, bash and zsh interactively on a pseudo-terminal; each calls the
installed `pinctl` back as it would for a user. The rest ask pinctl's completion
classes in-process, the same code the scripts reach, to cover every choice quickly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.shell_completion import CompletionItem

from pinctl.cli import COMMANDS, cli
from pinctl.cli.completion import COMPLETE_VAR, LINE_VAR, SHELLS, BashComplete, split_line
from pinctl.cli.suggestions import complete_hosts
from tests.support import shells
from tests.support.cli import Run
from tests.support.generator import ROOT
from tests.support.tools import require

PIN = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
OTHER_PIN = "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="
PIN_FILE = f"""\
version = 1

[[hosts]]
host = "api.example.com"
pins = [
  {{ pin = "{PIN}", level = "leaf", note = "api key 2025" }},
  {{ pin = "{OTHER_PIN}", backup = true }},
]

[[hosts]]
host = "beta.example.com"
port = 8443
pins = [{{ pin = "{PIN}" }}]
"""


def needs(shell: str) -> pytest.MarkDecorator:
    reason = shells.missing(shell)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(PIN_FILE)
    return path


def complete(args: list[str], incomplete: str) -> list[CompletionItem]:
    return BashComplete(cli, {}, "pinctl", COMPLETE_VAR).get_completions(args, incomplete)


def values(args: list[str], incomplete: str) -> list[str]:
    return [item.value for item in complete(args, incomplete)]


# -- fish, for real --------------------------------------------------------------------------


@needs("fish")
def test_fish_proposes_every_subcommand() -> None:
    """`pinctl <TAB>` in fish lists every command (no `string split` error), and a prefix
    narrows them."""
    assert sorted(shells.fish_complete("pinctl ")) == sorted(COMMANDS)
    assert shells.fish_complete("pinctl ba") == ["backup-keygen"]
    assert shells.fish_complete("pinctl zz") == []


@needs("fish")
def test_fish_proposes_option_values_and_options() -> None:
    """fish completes fetch's formats, an option by prefix, and nothing for a free value."""
    assert sorted(shells.fish_complete("pinctl fetch -o ")) == ["json", "pem", "pins", "table"]
    assert shells.fish_complete("pinctl fetch --ti") == ["--timeout"]
    assert shells.fish_complete("pinctl fetch --servername ") == []


@needs("fish")
def test_fish_proposes_hosts_and_a_hosts_pins(pins: Path) -> None:
    """fish completes the pin file's hosts for verify and backup-keygen --host, and the
    pins of the named host for remove --pin."""
    env = {"PINCTL_PIN_FILE": str(pins)}
    assert shells.fish_complete("pinctl verify ", env) == ["api.example.com", "beta.example.com"]
    assert shells.fish_complete("pinctl backup-keygen --host b", env) == ["beta.example.com"]
    assert shells.fish_complete("pinctl remove api.example.com --pin ", env) == [PIN, OTHER_PIN]
    assert shells.fish_complete("pinctl remove nowhere.example --pin ", env) == []


@needs("fish")
def test_fish_completes_file_names(tmp_path: Path) -> None:
    """Where a file is expected, fish proposes the directory's files."""
    (tmp_path / "cert.pem").write_text("")
    assert shells.fish_complete(f"pinctl pin {tmp_path}/ce") == [f"{tmp_path}/cert.pem"]


# -- bash and zsh, typed on a terminal -------------------------------------------------------


@needs("bash")
def test_bash_completes_a_command_and_an_option_value(tmp_path: Path) -> None:
    """TAB in an interactive bash finishes `pinctl ver` and `pinctl fetch -o pe`."""
    assert shells.interactive_complete("bash", "pinctl ver", tmp_path).line == "pinctl verify"
    screen = shells.interactive_complete("bash", "pinctl fetch -o pe", tmp_path)
    assert screen.line == "pinctl fetch -o pem"
    assert shells.interactive_complete("bash", "pinctl zz", tmp_path).line == "pinctl zz"


@needs("bash")
def test_bash_lists_the_choices_on_a_second_tab(tmp_path: Path) -> None:
    """TAB TAB in bash after `pinctl fetch -o ` lists the four formats and nothing else."""
    screen = shells.interactive_complete("bash", "pinctl fetch -o ", tmp_path, tabs=2)
    listing = screen.text.split("pinctl fetch -o", 1)[1].split("$", 1)[0].split()
    assert listing == ["table", "json", "pem", "pins"]


@needs("bash")
def test_bash_completes_hosts_after_an_equals_sign(tmp_path: Path, pins: Path) -> None:
    """`--pin-file=FILE` is read for hosts, and host names complete although bash breaks
    words at `=` and `:`."""
    typed = f"pinctl verify --pin-file={pins} a"
    screen = shells.interactive_complete("bash", typed, tmp_path)
    assert screen.line == f"pinctl verify --pin-file={pins} api.example.com"
    screen = shells.interactive_complete("bash", f"pinctl verify --pin-file={pins} z", tmp_path)
    assert screen.line == f"pinctl verify --pin-file={pins} z"


@needs("zsh")
def test_zsh_completes_a_command_and_an_option_value(tmp_path: Path) -> None:
    """TAB in an interactive zsh finishes `pinctl ver` and `pinctl fetch -o pe`."""
    assert shells.interactive_complete("zsh", "pinctl ver", tmp_path).line == "pinctl verify"
    screen = shells.interactive_complete("zsh", "pinctl fetch -o pe", tmp_path)
    assert screen.line == "pinctl fetch -o pem"
    assert shells.interactive_complete("zsh", "pinctl zz", tmp_path).line == "pinctl zz"


@needs("zsh")
def test_zsh_lists_commands_with_their_summaries(tmp_path: Path) -> None:
    """TAB in zsh after `pinctl ` lists every command beside its one-line summary."""
    screen = shells.interactive_complete("zsh", "pinctl ", tmp_path)
    listed = screen.text.split("pinctl ", 1)[1]
    assert all(name in listed for name in COMMANDS)
    assert "Derive pins from certificate, key and CSR files." in screen.text


@needs("zsh")
def test_zsh_completes_a_hosts_pins(tmp_path: Path, pins: Path) -> None:
    """`pinctl remove HOST --pin sha256/Y<TAB>` in zsh inserts that host's matching pin."""
    typed = "pinctl remove api.example.com --pin sha256/Y"
    screen = shells.interactive_complete("zsh", typed, tmp_path, {"PINCTL_PIN_FILE": str(pins)})
    assert screen.line == f"pinctl remove api.example.com --pin {OTHER_PIN}"


# -- the protocol ----------------------------------------------------------------------------


def _ask(shell: str, line: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, COMPLETE_VAR: shell, LINE_VAR: line}
    return subprocess.run(
        [sys.executable, "-m", "pinctl"],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_the_protocol_asks_the_shell_for_files_and_directories() -> None:
    """Where a file or directory is expected, pinctl hands completion back to the shell."""
    pin = _ask("bash", "pinctl pin ")
    keygen = _ask("bash", "pinctl backup-keygen --out-dir ")
    assert (pin.returncode, pin.stdout, pin.stderr) == (0, "file\t\n", "")
    assert (keygen.returncode, keygen.stdout, keygen.stderr) == (0, "dir\t\n", "")


def test_the_protocol_gives_descriptions_to_zsh_and_fish_only() -> None:
    """zsh and fish get each candidate's help after a tab; bash, which cannot show it, not."""
    assert _ask("fish", "pinctl fetch --ti").stdout == (
        "plain\t--timeout\tSeconds for the whole connect and handshake.\n"
    )
    assert _ask("zsh", "pinctl fetch -o j").stdout == "plain\tjson\t\n"
    assert _ask("bash", "pinctl fetch --ti").stdout == "plain\t--timeout\n"


def test_the_protocol_is_not_clicks() -> None:
    """click's own instruction (`bash_complete`, as click's scripts send) is not answered:
    the protocol is pinctl's, whichever click is installed."""
    old = _ask("bash_complete", "")
    assert (old.returncode, old.stdout, old.stderr) == (1, "", "")


def test_a_broken_line_completes_nothing_and_prints_no_traceback(tmp_path: Path) -> None:
    """An unclosed quote is the word being typed; nothing reaches the user's line but answers."""
    answered = _ask("bash", "pinctl 'fe")
    assert (answered.returncode, answered.stdout, answered.stderr) == (
        0,
        "plain\tfetch\n",
        "",
    )


@pytest.mark.parametrize(
    ("line", "words", "incomplete"),
    [
        ("pinctl ", ["pinctl"], ""),
        ("pinctl fe", ["pinctl"], "fe"),
        ("pinctl fetch 'a b' c", ["pinctl", "fetch", "a b"], "c"),
        ('pinctl pin "my fi', ["pinctl", "pin"], "my fi"),
        ("pinctl pin my\\ fi", ["pinctl", "pin"], "my fi"),
        ("", [], ""),
    ],
)
def test_the_line_is_split_as_the_shell_splits_it(
    line: str, words: list[str], incomplete: str
) -> None:
    """Quotes and backslashes are removed as the shell would; the last word is the typed one."""
    assert split_line(line) == (words, incomplete)


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


@pytest.mark.parametrize("shell", SHELLS)
def test_every_shell_parses_its_script(shell: str) -> None:
    """Each script is valid syntax for its shell (installed: on CI a missing shell fails)."""
    require(shell)
    check = [shell, "-n"]
    script = {"bash": "pinctl.bash", "zsh": "_pinctl", "fish": "pinctl.fish"}[shell]
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
