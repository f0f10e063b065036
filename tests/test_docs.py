"""Documentation that cannot drift: help at 80 columns, man pages, README excerpts.

completions/, man/ and the README's --help blocks are written by scripts/generate.py
from the click definitions; these tests fail, naming the command that regenerates
them, as soon as a command changes and they were not regenerated.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import pinctl
from pinctl.cli import COMMANDS, cli
from tests.support.generator import REGENERATE, ROOT, generate
from tests.support.tools import needs

needs_groff = needs("groff")


def groff(source: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["groff", "-man", "-ww", *args], input=source, capture_output=True, text=True, timeout=30
    )


def test_generated_files_are_current() -> None:
    """completions/, man/ and README help blocks equal what the generator makes now."""
    changed = generate.stale(generate.generated())
    assert changed == [], f"stale: {', '.join(changed)}; run `{REGENERATE}` to regenerate them"


def test_check_names_stale_files_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`generate.py --check` passes on a fresh copy, then fails naming an edited file."""
    files = generate.generated()
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert generate.main(["--check"], root=tmp_path) == 0
    page = tmp_path / "man" / "pinctl-fetch.1"
    page.write_text(page.read_text().replace("\\-\\-timeout", "\\-\\-time"))
    (tmp_path / "man" / "pinctl-gone.1").write_text(".TH GONE 1\n")
    capsys.readouterr()
    assert generate.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "man/pinctl-fetch.1" in err
    assert "man/pinctl-gone.1" in err
    assert REGENERATE in err
    assert page.read_text() != files["man/pinctl-fetch.1"], "--check must change nothing"


def test_regenerating_repairs_and_prunes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --check the generator rewrites stale files and removes pages of gone commands."""
    (tmp_path / "man").mkdir()
    (tmp_path / "README.md").write_text("# x\n<!-- help:pin -->\nold\n<!-- /help -->\n")
    (tmp_path / "man" / "pinctl-gone.1").write_text(".TH GONE 1\n")
    assert generate.main([], root=tmp_path) == 0
    assert not (tmp_path / "man" / "pinctl-gone.1").exists()
    assert "$ pinctl pin --help\nUsage: pinctl pin" in (tmp_path / "README.md").read_text()
    assert generate.main(["--check"], root=tmp_path) == 0
    assert "wrote README.md" in capsys.readouterr().out


def test_unknown_readme_marker_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A help marker naming no command is refused with the names that exist."""
    (tmp_path / "README.md").write_text("<!-- help:fecth -->\n<!-- /help -->\n")
    assert generate.main(["--check"], root=tmp_path) == 2
    assert "help:fecth" in capsys.readouterr().err


def test_the_script_runs_as_a_command() -> None:
    """`python scripts/generate.py --check` exits 0 in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_every_command_has_a_man_page() -> None:
    """man/ holds pinctl.1 and one page per command, and nothing else."""
    expected = {"pinctl.1", *(f"pinctl-{name}.1" for name in COMMANDS)}
    expected |= {"pinctl-report-triage.1"}  # a group's subcommands have pages of their own
    assert {p.name for p in (ROOT / "man").glob("*.1")} == expected


@needs_groff
@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "man").glob("*.1")))
def test_man_page_renders_without_warnings(page: str) -> None:
    """groff renders every shipped page with all warnings on and says nothing."""
    out = groff((ROOT / "man" / page).read_text(), "-z")
    assert (out.returncode, out.stderr) == (0, "")


@needs_groff
def test_groff_check_sees_bad_roff() -> None:
    """The warning check is live: an unknown request and a bad escape do warn."""
    bad = ".TH X 1\n.SH NAME\nx \\- y\n.FOO bar\n\\q\n"
    assert groff(bad, "-z").stderr != ""


@needs_groff
@pytest.mark.parametrize(
    "text",
    [
        ".hidden request",
        "'quoted request",
        "a \\fBbackslash\\fR and \\n(.l",
        "--pin-file and -o json",
        "résumé … “quotes” ✓",
    ],
)
def test_roff_escaping_keeps_text_literal(text: str) -> None:
    """Help text that looks like roff renders literally, without warnings."""
    source = f".TH X 1\n.SH NAME\nx\n.SH DESCRIPTION\n{generate.line(text)}\n"
    out = groff(source, "-Tutf8", "-P-cbou")
    assert out.stderr == ""
    rendered = " ".join(out.stdout.split())
    assert text.replace("-", "\u2010") in rendered.replace("-", "\u2010").replace(
        "\u2212", "\u2010"
    )


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_man_page_documents_every_option(name: str | None) -> None:
    """Each page has the standard sections and lists every option of its command."""
    page = (ROOT / "man" / ("pinctl.1" if name is None else f"pinctl-{name}.1")).read_text()
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS"):
        assert f".SH {section}\n" in page
    for section in ("ENVIRONMENT", "EXAMPLES", "SEE ALSO"):
        assert f".SH {section}\n" in page
    command = cli if name is None else cli.get_command(click.Context(cli), name)
    assert command is not None
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            for opt in param.opts:
                assert generate.bold(opt) in page, f"{opt} missing from the {name} page"
    assert pinctl.__version__ not in page, "a version in the page would go stale"


def _help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str | None
) -> str:
    """Help as a user sees it on a terminal of 80 columns, through the real entry point.

    Not through CliRunner, which forces click's width to 80 where a terminal gets 78.
    """
    from pinctl.cli import _run

    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    code = _run([*([name] if name else []), "--help"], False)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return str(out)


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_help_reads_well_at_80_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str | None
) -> None:
    """Help fits 80 columns and has a one-line summary and an Examples block."""
    text = _help(capsys, monkeypatch, name)
    too_long = [ln for ln in text.splitlines() if len(ln) > 80]
    assert too_long == [], f"{name or 'pinctl'} --help has lines over 80 columns: {too_long}"
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("Usage: pinctl")
    summary = paragraphs[1]
    assert "\n" not in summary.strip(), f"the summary of {name or 'pinctl'} is not one line"
    examples = re.search(r"\n  Examples:\n((?:    .*\n)+)", text)
    assert examples is not None, f"{name or 'pinctl'} --help has no Examples block"
    assert "pinctl " in examples.group(1)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_explains_the_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Each argument in the usage line is named in the help text that follows it."""
    text = _help(capsys, monkeypatch, name)
    usage, _, body = text.partition("\n\n")
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    ctx = click.Context(command, info_name=name)
    for param in command.params:
        if isinstance(param, click.Argument):
            word = re.sub(r"[^A-Z].*", "", param.make_metavar(ctx).lstrip("["))
            assert word
            assert word in usage
            assert re.search(rf"\b{word}\b", body.split("Examples:")[0]), (
                f"pinctl {name} --help never says what {word} is"
            )


@pytest.mark.parametrize("name", ["pinctl", *COMMANDS])
def test_readme_help_blocks_match_the_real_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The README shows each command's real --help, as pinctl prints it at 80 columns."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        rf"<!-- help:{re.escape(name)} -->\n```text\n\$ [^\n]*\n(.*?)```", readme, re.S
    )
    assert block is not None, f"README.md has no <!-- help:{name} --> block; add one"
    real = _help(capsys, monkeypatch, None if name == "pinctl" else name)
    assert block.group(1) == real, f"README help for {name} is stale; run `{REGENERATE}`"


def test_readme_keeps_its_opening() -> None:
    """The title, the pitch and the two first commands stay as they were written."""
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("# pinctl\n\nTLS certificate pinning that is correct to the byte")
    assert "```sh\npip install . && pinctl fetch example.com\n```" in readme
    assert "```sh\npip install -e '.[test]' && python -m pytest\n```" in readme


def test_readme_documents_every_command_and_exit_code() -> None:
    """The README has a section per command, the JSON schemas and the exit codes."""
    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert re.search(rf"^### `pinctl {re.escape(name)}\b", readme, re.M), name
    for heading in ("## Exit codes", "## The pin file", "## JSON output", "## Decisions"):
        assert heading in readme


# --- what the manual pages tell a reader offline ---------------------------------------------


def _page(name: str) -> str:
    """A shipped man page rendered as plain text, hyphens and line breaks as a reader sees."""
    out = subprocess.run(
        ["groff", "-man", "-Tutf8", "-P", "-cbou", "-rLL=200n"],
        input=(ROOT / "man" / name).read_text(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return " ".join(out.stdout.replace("\u2010", "-").replace("\u2212", "-").split())


def _section(text: str, title: str, following: str) -> str:
    return text.split(f" {title} ", 1)[1].split(f" {following} ", 1)[0]


@needs_groff
@pytest.mark.parametrize("name", list(COMMANDS))
def test_exit_status_comes_from_the_command(name: str) -> None:
    """Each page's EXIT STATUS is its command's own EXIT_STATUS, plus 130 and 143."""
    import importlib

    from pinctl.cli.common import STOPPED

    module = importlib.import_module(f"pinctl.cli.{COMMANDS[name][0]}")
    shown = _section(_page(f"pinctl-{name}.1"), "EXIT STATUS", "ENVIRONMENT")
    for code, meaning in (*module.EXIT_STATUS, *STOPPED):
        assert f"{code} {meaning}" in shown


@needs_groff
def test_add_has_its_own_exit_status_not_fetchs() -> None:
    """pinctl-add(1) says 2 can come after connecting (a refused chain); fetch's words do not
    appear there."""
    add = _section(_page("pinctl-add.1"), "EXIT STATUS", "ENVIRONMENT")
    fetch = _section(_page("pinctl-fetch.1"), "EXIT STATUS", "ENVIRONMENT")
    assert "fails validation (after connecting)" in add
    assert "nothing was contacted" not in add
    assert "Every target was shown" in fetch
    assert "Every target was shown" not in add


@needs_groff
def test_pinctl_1_gathers_every_commands_exit_status() -> None:
    """pinctl(1) names, for each status, the commands that give it and what it means there."""
    shown = _section(_page("pinctl.1"), "EXIT STATUS", "ENVIRONMENT")
    assert "add: A usage error, an invalid pin file, or a chain refused" in shown
    assert "verify, plan: A usage error or an invalid pin file; nothing was contacted." in shown
    assert "3 fetch: A target could not be reached" in shown


@needs_groff
def test_only_the_editing_commands_say_they_rewrite_the_pin_file() -> None:
    """export, list and verify only read the pin file, and their pages say so."""
    for name in ("export", "list", "verify"):
        files = _section(_page(f"pinctl-{name}.1"), "FILES", "SEE ALSO")
        assert "rewrites" not in files
        assert "This command only reads it." in files
    assert "This command rewrites it atomically" in _page("pinctl-add.1")


@needs_groff
def test_no_proxy_is_described_with_addresses_cidrs_and_star() -> None:
    """NO_PROXY's entry names what it takes: IP addresses, CIDR ranges and *."""
    env = _section(_page("pinctl-fetch.1"), "ENVIRONMENT", "EXAMPLES")
    no_proxy = env.split("NO_PROXY, no_proxy", 1)[1].split("SSL_CERT_FILE", 1)[0]
    for words in ("an IP address", "a CIDR range such as 10.0.0.0/8", "* for every host"):
        assert words in no_proxy


@needs_groff
def test_pages_carry_what_the_readme_says_of_the_command() -> None:
    """Offline, the pages hold verify's pass rules and warnings and its JSON fields, each
    export format and how the clients differ, fetch's JSON fields and the pin-file keys."""
    verify = _page("pinctl-verify.1")
    assert "A host passes when:" in verify
    assert "Warnings (failures under --strict)" in verify
    assert "chain_spki SPKI pins of the validated chain" in verify
    export = _page("pinctl-export.1")
    for fmt in ("okhttp-kotlin and okhttp-java", "android", "ios", "trustkit", "hpkp", "curl"):
        assert f" {fmt} " in _section(export, "FORMATS", "EXIT STATUS")
    assert "curl checks the leaf key only" in export
    assert "fingerprint_sha256" in _page("pinctl-fetch.1")
    keys = _section(_page("pinctl.1"), "FILES", "EXAMPLES")
    for key in ("include_subdomains", "verify_chain", "warn_days", "expires"):
        assert key in keys
    assert "--help" not in _section(verify, "DETAILS", "JSON OUTPUT")
