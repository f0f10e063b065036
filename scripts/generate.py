#!/usr/bin/env python3
"""Regenerate completions/, man/ and the README's --help excerpts from the click commands.

Usage: python scripts/generate.py [--check]

The click definitions are the one source of truth: the shell scripts come from click's
own completion classes, each man page from a command's options and help text plus the
sections below that --help has no room for, and each README block between
``<!-- help:NAME -->`` and ``<!-- /help -->`` is that command's --help at 80 columns.
Nothing here depends on the date, the version or the terminal, so --check is stable.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python scripts/generate.py"
HELP_WIDTH = 78
"""What click uses on any terminal of 80 columns or more (it keeps a 2-column margin)."""
COMPLETION_FILES = {"bash": "pinctl.bash", "zsh": "_pinctl", "fish": "pinctl.fish"}
HELP_BLOCK = re.compile(r"(<!-- help:([\w-]+(?: [\w-]+)?) -->\n)(.*?)(<!-- /help -->)", re.DOTALL)

EXIT_STATUS = {
    "default": [
        ("0", "Success."),
        ("1", "An internal error (a bug: re-run with --debug and report the traceback)."),
        ("2", "A usage error, a bad input file or an invalid pin file."),
    ],
    "fetch": [
        ("0", "Every target was shown, whether or not its chain validated."),
        ("1", "An internal error."),
        ("2", "A usage error or a bad input file; nothing was contacted."),
        ("3", "A target could not be reached; the other targets are still shown."),
    ],
    "verify": [
        ("0", "Every host passed."),
        (
            "1",
            "Some host failed a check: pin mismatch, untrusted chain, name mismatch, "
            "TLS policy, or a warning under --strict. 1 wins over 3.",
        ),
        ("2", "A usage error or an invalid pin file; nothing was contacted."),
        (
            "3",
            "Nothing failed, but some host could not be checked (DNS, refused, reset, "
            "timeout, handshake failure).",
        ),
    ],
    "pinctl": [
        ("0", "Success; for verify, every host passed."),
        ("1", "verify: some host failed a check. Any command: an internal error."),
        ("2", "A usage error, a bad input file or an invalid pin file; nothing was contacted."),
        (
            "3",
            "fetch, add, verify: a target could not be reached or checked "
            "(and, for verify, nothing failed).",
        ),
    ],
}
EXIT_STATUS["add"] = EXIT_STATUS["fetch"]
EXIT_STATUS["plan"] = [
    ("0", "Nothing to act on (info findings, such as a stale pin, may be listed)."),
    ("1", "Some finding asks for action (or an internal error)."),
    ("2", "A usage error or an invalid pin file; nothing was contacted."),
    ("3", "A host could not be reached, and no action was found."),
]
EXIT_STATUS["promote"] = [
    ("0", "The backup was promoted (or, with --dry-run, would be)."),
    ("1", "An internal error."),
    (
        "2",
        "Refused or bad input (not a backup, not served, unknown host or pin); "
        "the pin file is untouched.",
    ),
    ("3", "The server could not be reached; the pin file is untouched."),
]
EXIT_STATUS["audit"] = [
    ("0", "The log was shown; with --verify, its chain and the pin files agree."),
    (
        "1",
        "--verify found a break: a broken chain, a damaged line, or a pin file "
        "edited outside pinctl.",
    ),
    ("2", "A usage error, no audit log configured, or (without --verify) a damaged log."),
]
EXIT_STATUS["report triage"] = [
    ("0", "No report is rotation or interception (stale-app and unknown-host only)."),
    ("1", "Some report is rotation or interception; or an internal error."),
    ("2", "A usage error, an unreadable report file or an invalid pin file."),
]

ENVIRONMENT = [
    ("PINCTL_PIN_FILE", "pin_file", "The pin file, when --pin-file is not given."),
    (
        "HTTPS_PROXY, https_proxy",
        "proxy",
        "The HTTP CONNECT proxy, when --proxy is not given (curl's rules; "
        "--proxy '' turns proxying off).",
    ),
    (
        "NO_PROXY, no_proxy",
        "proxy",
        "Comma-separated hosts and domains reached directly, without the proxy.",
    ),
    (
        "SSL_CERT_FILE",
        "ca_file",
        "A PEM bundle of trusted roots used instead of the system store "
        "(--ca-file and the pin file's ca_file take precedence).",
    ),
    (
        "PINCTL_AUDIT_LOG",
        "audit_log",
        "The audit log, when --audit-log is not given (it overrides the pin file's audit_log).",
    ),
    ("NO_COLOR", "output", "Any value turns colour off, as does TERM=dumb (see no-color.org)."),
    (
        "PINCTL_DEBUG",
        "",
        "Any non-empty value acts as --debug: tracebacks instead of one-line errors.",
    ),
]

ROOT_SUMMARY = "TLS certificate and public-key pinning that fails closed"
ROOT_DESCRIPTION = [
    "A pin is written ALG/BASE64, the OkHttp and HPKP form, for example "
    "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=. ALG is sha256 (the default), "
    "sha384 or sha512; sha1 is read from old files, flagged as weak, and never produced. "
    "An spki pin (the default) is the hash of the DER SubjectPublicKeyInfo and survives "
    "a renewal that keeps the key; a cert pin is the hash of the whole DER certificate. "
    "Input also accepts curl's sha256//BASE64, HPKP's pin-sha256=\"BASE64\", bare base64 "
    "and hex, and refuses known non-pins such as the hash of empty input.",
    "The usual cycle: fetch shows a server's chain and pins; add records them in "
    "pins.toml, which is reviewed like code; backup-keygen makes spare keys whose pins "
    "are the backups; verify checks the live hosts in CI and fails closed; export writes "
    "the pins for OkHttp, Android, iOS, TrustKit, curl or an HPKP header.",
]
PIN_FILE_TEXT = (
    "The pin file, in the working directory unless --pin-file or PINCTL_PIN_FILE names "
    "another. It is TOML, version = 1, with [defaults] and one [[hosts]] table per host "
    "and port, and is meant to be reviewed like code. pinctl rewrites it atomically, "
    "keeping comments, order and formatting."
)
PIN_FILE_EXAMPLE = """\
version = 1

[defaults]
warn_days = 30
min_tls = "1.2"
forward_secrecy = true

[[hosts]]
host = "api.example.com"
pins = [
  { pin = "sha256/...=", level = "leaf", expires = 2026-03-01 },
  { pin = "sha256/...=", level = "intermediate", note = "R11" },
  { pin = "sha256/...=", backup = true, note = "keys/backup-1.key.pem" },
]"""

SEE_ALSO = {
    "pinctl": ["curl(1)", "openssl(1)"],
    "fetch": ["pinctl-pin(1)", "pinctl-add(1)", "openssl-s_client(1)"],
    "pin": ["pinctl-fetch(1)", "openssl-x509(1)"],
    "add": ["pinctl-fetch(1)", "pinctl-list(1)", "pinctl-remove(1)", "pinctl-verify(1)"],
    "remove": ["pinctl-add(1)", "pinctl-list(1)"],
    "list": ["pinctl-add(1)", "pinctl-remove(1)", "pinctl-verify(1)"],
    "verify": ["pinctl-add(1)", "pinctl-list(1)", "pinctl-fetch(1)"],
    "backup-keygen": ["pinctl-add(1)", "pinctl-verify(1)", "pinctl-export(1)"],
    "export": ["pinctl-list(1)", "pinctl-verify(1)", "curl(1)"],
    "completion": ["bash(1)", "zsh(1)", "fish(1)"],
    "report": ["pinctl-report-triage(1)"],
    "report triage": ["pinctl-report(1)", "pinctl-verify(1)"],
}


@functools.cache
def commands() -> dict[str, click.Command]:
    """Every command that imports; one that does not is named on stderr and skipped."""
    from pinctl.cli import COMMANDS, cli

    root = root_context()
    found = {}
    for name, (module, _) in COMMANDS.items():
        try:
            cmd = cli.get_command(root, name)
        except ModuleNotFoundError as exc:
            if exc.name != f"pinctl.cli.{module}":
                raise
            print(
                f"generate.py: skipping {name}: pinctl/cli/{module}.py does not exist",
                file=sys.stderr,
            )
            continue
        if cmd is not None:
            found[name] = cmd
            if isinstance(cmd, click.Group):  # `report triage`: a page and a block of its own
                found.update({f"{name} {sub}": c for sub, c in cmd.commands.items()})
    return found


def page_name(name: str) -> str:
    """`report triage` has the page pinctl-report-triage.1, as git's subcommands do."""
    return name.replace(" ", "-")


def root_context() -> click.Context:
    from pinctl.cli import cli

    return click.Context(
        cli, info_name="pinctl", **{**cli.context_settings, "terminal_width": HELP_WIDTH}
    )


def context(name: str | None) -> click.Context:
    root = root_context()
    if name is None:
        return root
    cmd = commands()[name]
    group, _, sub = name.rpartition(" ")
    parent = context(group) if group else root
    return click.Context(
        cmd, info_name=sub, parent=parent, **{**cmd.context_settings, "terminal_width": HELP_WIDTH}
    )


def help_text(name: str | None) -> str:
    """`pinctl [NAME] --help` as a user sees it on a terminal of 80 columns or more."""
    ctx = context(name)
    return ctx.command.get_help(ctx).rstrip("\n") + "\n"


# -- roff ------------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Text safe on a roff text line or as a font-escaped word: no request, no escape."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in out)


def line(text: str) -> str:
    """A roff text line: a leading dot or quote would start a request, so it is guarded."""
    out = esc(text)
    return "\\&" + out if out.startswith((".", "'")) else out


def bold(text: str) -> str:
    return f"\\fB{esc(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{esc(text)}\\fR"


def paragraphs(doc: str) -> Iterator[tuple[bool, list[str]]]:
    """The help text's paragraphs as (verbatim, lines), as click's formatter sees them."""
    doc = inspect.cleandoc(doc).split("\f", 1)[0]
    for block in re.split(r"\n\s*\n", doc.strip("\n")):
        lines = block.splitlines()
        if lines and lines[0].strip() == "\b":
            yield True, lines[1:]
        else:
            yield False, [" ".join(" ".join(lines).split())]


def split_help(doc: str) -> tuple[list[tuple[bool, list[str]]], list[str]]:
    """The description paragraphs, and the example command lines of the Examples block."""
    body, examples = [], []
    for verbatim, lines in paragraphs(doc):
        if verbatim and lines and lines[0].strip() == "Examples:":
            examples = textwrap.dedent("\n".join(lines[1:])).strip("\n").splitlines()
        else:
            body.append((verbatim, lines))
    return body, examples


def option_tag(record: str) -> str:
    """`-o, --output [table|json]` with the names in bold and the value in italics."""
    match = re.fullmatch(r"((?:-[^ ,]+)(?:, -[^ ,]+)*)(?: (.+))?", record)
    if match is None:
        return bold(record)
    tag = ", ".join(bold(n) for n in match.group(1).split(", "))
    return f"{tag} {italic(match.group(2))}" if match.group(2) else tag


def man_page(name: str | None) -> str:
    """`pinctl.1` (name None) or `pinctl-NAME.1`, in roff for man(7)."""
    ctx = context(name)
    title = "pinctl" if name is None else f"pinctl-{page_name(name)}"
    body, examples = split_help(ctx.command.help or "")
    params = ctx.command.get_params(ctx)
    out = [f'.TH "{esc(title.upper())}" "1" "" "pinctl" "pinctl manual"', ".nh", ".ad l"]
    out += [".SH NAME", f"{esc(title)} \\- {esc(_summary(name))}"]
    out += [".SH SYNOPSIS", f'.B "{esc(ctx.command_path)}"']
    out.append(" ".join(italic(piece) for piece in ctx.command.collect_usage_pieces(ctx)))
    out += [".SH DESCRIPTION", *_description(body, root=name is None)]
    out += [".SH OPTIONS", *_options(ctx, params)]
    out.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS.get(name or "pinctl", EXIT_STATUS["default"]):
        out += [".TP", bold(code), line(meaning)]
    out += [".SH ENVIRONMENT", *_environment({p.name for p in params}, root=name is None)]
    if name is None or any(p.name == "pin_file" for p in params):
        out += [".SH FILES", ".TP", bold("pins.toml"), line(PIN_FILE_TEXT)]
        if name is None:
            out += [".RS", ".PP", "For example:", ".PP", ".nf"]
            out += [*map(line, PIN_FILE_EXAMPLE.splitlines()), ".fi", ".RE"]
    if examples:
        out += [".SH EXAMPLES", ".PP", ".nf", ".RS 4", *map(line, examples), ".RE", ".fi"]
    if name is None:
        refs = [f"pinctl-{page_name(sub)}(1)" for sub in commands()] + SEE_ALSO["pinctl"]
    else:
        refs = ["pinctl(1)", *SEE_ALSO.get(name, [])]
    out += [".SH SEE ALSO", ",\n".join(_ref(r) for r in refs)]
    return "\n".join(out) + "\n"


def _description(body: list[tuple[bool, list[str]]], *, root: bool) -> list[str]:
    out: list[str] = []
    for verbatim, lines in body:
        out += [".PP", ".nf", *map(line, lines), ".fi"] if verbatim else [".PP", *map(line, lines)]
    if root:
        from pinctl.cli import COMMANDS

        for paragraph in ROOT_DESCRIPTION:
            out += [".PP", line(paragraph)]
        out.append(".SH COMMANDS")
        for sub, (_, summary) in COMMANDS.items():
            out += [".TP", _ref(f"pinctl-{sub}(1)"), line(summary)]
    return out[1:] if out and out[0] == ".PP" else out


def _options(ctx: click.Context, params: list[click.Parameter]) -> list[str]:
    out: list[str] = []
    for param in params:
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is not None:
            out += [".TP", option_tag(record[0]), line(" ".join(record[1].split()))]
    if ctx.parent is None:
        out += [".PP", line("Each command takes its own options; see its manual page.")]
    return out


def _environment(param_names: set[str | None], *, root: bool) -> list[str]:
    """The variables that matter to a command, judged by the options it has."""
    out: list[str] = []
    for var, param_name, meaning in ENVIRONMENT:
        if root or not param_name or param_name in param_names:
            out += [".TP", ", ".join(bold(v) for v in var.split(", ")), line(meaning)]
    return out


def _summary(name: str | None) -> str:
    from pinctl.cli import COMMANDS

    if name is not None and name not in COMMANDS:
        text = commands()[name].get_short_help_str(limit=300)
    else:
        text = ROOT_SUMMARY if name is None else COMMANDS[name][1]
    if len(text) > 1 and text[1].islower():
        text = text[0].lower() + text[1:]
    return text.rstrip(".")


def _ref(ref: str) -> str:
    page, section = ref.rstrip(")").split("(")
    return f".BR {esc(page)} ({section})"


# -- the files -------------------------------------------------------------------------------


class GenerateError(Exception):
    """A README marker or file the generator cannot make sense of."""


def readme(current: str) -> str:
    """The README with every help block replaced by that command's --help output."""
    known = {"pinctl", *commands()}

    def block(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in known:
            raise GenerateError(
                f"README.md: <!-- help:{name} --> names no pinctl command; "
                f"use one of {', '.join(sorted(known))}"
            )
        prefix = "pinctl" if name == "pinctl" else f"pinctl {name}"
        text = help_text(None if name == "pinctl" else name)
        return f"{match.group(1)}```text\n$ {prefix} --help\n{text}```\n{match.group(4)}"

    return HELP_BLOCK.sub(block, current)


def generated(root: Path = ROOT) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    from pinctl.cli.completion import completion_script

    files = {f"completions/{f}": completion_script(s) for s, f in COMPLETION_FILES.items()}
    files[CLICK_STAMP] = f"click {click_version()}\n"
    files["man/pinctl.1"] = man_page(None)
    files.update({f"man/pinctl-{page_name(name)}.1": man_page(name) for name in commands()})
    files["README.md"] = readme((root / "README.md").read_text(encoding="utf-8"))
    return files


CLICK_STAMP = "completions/.generated-with"
"""The click release that wrote completions/: its shell scripts change between releases."""


def click_version() -> str:
    from importlib.metadata import version

    return version("click")


def other_click(root: Path = ROOT) -> str | None:
    """The click that wrote the shipped completions, when it is not the one installed.

    Their text is click's own template, so only the same click release can reproduce
    it; with another one installed, the drift check leaves completions/ alone."""
    path = root / CLICK_STAMP
    if not path.exists():
        return None
    recorded = path.read_text(encoding="utf-8").strip().removeprefix("click ")
    return recorded if recorded != click_version() else None


def stale(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """The files under `root` that differ from `files`, and man pages of vanished commands."""
    if other_click(root) is not None:
        files = {rel: text for rel, text in files.items() if not rel.startswith("completions/")}
    changed = []
    for rel, text in files.items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(rel)
    obsolete = sorted(p.name for p in (root / "man").glob("*.1") if f"man/{p.name}" not in files)
    return changed + [f"man/{name}" for name in obsolete]


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1, naming the stale files, when any differs",
    )
    args = parser.parse_args(argv)
    try:
        files = generated(root)
    except GenerateError as exc:
        print(f"generate.py: error: {exc}", file=sys.stderr)
        return 2
    changed = stale(files, root)
    recorded = other_click(root)
    if args.check and recorded is not None:
        print(
            f"generate.py: note: completions/ were made with click {recorded}, click "
            f"{click_version()} is installed; not comparing them",
            file=sys.stderr,
        )
    if args.check:
        if changed:
            print(
                f"generate.py: stale generated files: {', '.join(changed)}; "
                f"run `{REGENERATE}` to regenerate them, and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    for rel in changed:
        if rel in files:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(files[rel], encoding="utf-8")
            print(f"wrote {rel}")
        else:
            (root / rel).unlink()
            print(f"removed {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
