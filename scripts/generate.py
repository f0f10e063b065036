#!/usr/bin/env python3
"""Regenerate completions/, man/ and the README's --help excerpts from the click commands.

Usage: python scripts/generate.py [--check]

The click definitions are the one source of truth: the shell scripts are the templates
of pinctl's own completion classes (pinctl/cli/completion.py), each man page comes from
a command's options and help text, its EXIT_STATUS (declared beside the command), and
the README's own sections on it (README_SECTIONS) that --help has no room for; each
README block between ``<!-- help:NAME -->`` and ``<!-- /help -->`` is that command's
--help at 80 columns.
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
EXIT_BLOCK = re.compile(r"(<!-- exit-status -->\n)(.*?)(<!-- /exit-status -->)", re.DOTALL)

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
        "Comma-separated names reached directly, without the proxy (curl's rules): a host "
        "name or domain (matching its subdomains too, with or without a leading dot), an "
        "IP address, a CIDR range such as 10.0.0.0/8 or fd00::/8, or * for every host.",
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
    "and port, and is meant to be reviewed like code."
)
EDITS_PIN_FILE = ("add", "remove", "backup-keygen")
"""The commands that write the pin file; the others only read it."""
REWRITES = (
    " This command rewrites it atomically, under a lock, keeping comments, order and formatting."
)
READS_ONLY = " This command only reads it."
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
    out += _readme_sections(name)
    out += [".SH EXIT STATUS", *_exit_status(name)]
    out += [".SH ENVIRONMENT", *_environment({p.name for p in params}, root=name is None)]
    if name is None or any(p.name == "pin_file" for p in params):
        how = "" if name is None else REWRITES if name in EDITS_PIN_FILE else READS_ONLY
        out += [".SH FILES", ".TP", bold("pins.toml"), line(PIN_FILE_TEXT + how)]
        if name is None:
            keys = markdown(_readme_part("## The pin file (`pins.toml`)"))
            if keys:
                out += [".RS", *keys, ".RE"]
            else:
                out += [".RS", ".PP", "For example:", ".PP", ".nf"]
                out += [*map(line, PIN_FILE_EXAMPLE.splitlines()), ".fi", ".RE"]
        else:
            out += [".PP", line("Its keys are described in pinctl(1), FILES.")]
    if examples:
        out += [".SH EXAMPLES", ".PP", ".nf", ".RS 4", *map(line, examples), ".RE", ".fi"]
    if name is None:
        refs = [f"pinctl-{page_name(sub)}(1)" for sub in commands()] + SEE_ALSO["pinctl"]
    else:
        refs = ["pinctl(1)", *SEE_ALSO.get(name, [])]
    out += [".SH SEE ALSO", ",\n".join(_ref(r) for r in refs)]
    return "\n".join(out) + "\n"


def _exit_status(name: str | None) -> list[str]:
    """Each command's own EXIT_STATUS (declared beside it); pinctl(1) gathers them all."""
    from pinctl.cli.common import STOPPED

    if name is not None:
        module = sys.modules[commands()[name].callback.__module__]  # type: ignore[union-attr]
        entries = [*module.EXIT_STATUS, *STOPPED]
        return [
            part for code, meaning in entries for part in (".TP", bold(str(code)), line(meaning))
        ]
    out: list[str] = []
    for code, groups in exit_groups().items():
        out += [".TP", bold(str(code))]
        for index, (meaning, subs) in enumerate(groups.items()):
            out += [".br"] if index else []
            out.append(line(f"{', '.join(subs)}: {meaning}"))
    for code, meaning in STOPPED:
        out += [".TP", bold(str(code)), line(meaning)]
    return out


def exit_groups() -> dict[int, dict[str, list[str]]]:
    """Every command's EXIT_STATUS by code, then by meaning: the commands that share it."""
    by_code: dict[int, dict[str, list[str]]] = {}
    for sub, cmd in commands().items():
        for code, meaning in sys.modules[cmd.callback.__module__].EXIT_STATUS:  # type: ignore[union-attr]
            by_code.setdefault(code, {}).setdefault(meaning, []).append(sub)
    return dict(sorted(by_code.items()))


def exit_table() -> str:
    """The README's exit-status table, from the same EXIT_STATUS as the man pages."""
    from pinctl.cli.common import STOPPED

    rows = ["| Code | Commands | Meaning |", "|---|---|---|"]
    for code, groups in exit_groups().items():
        rows += [
            f"| {code} | {', '.join(f'`{s}`' for s in subs)} | {meaning} |"
            for meaning, subs in groups.items()
        ]
    rows += [f"| {code} | all | {meaning} |" for code, meaning in STOPPED]
    return "\n".join(rows) + "\n"


# -- sections taken from the README, so that an offline reader has what it says ---------------

README_SECTIONS = {
    "fetch": [
        ("DETAILS", "### `pinctl fetch TARGET...`"),
        ("JSON OUTPUT", "### `fetch` and `pin`"),
    ],
    "pin": [("DETAILS", "### `pinctl pin FILE...`"), ("JSON OUTPUT", "### `fetch` and `pin`")],
    "add": [("DETAILS", "### `pinctl add TARGET...`")],
    "remove": [("DETAILS", "### `pinctl remove HOST [--pin PIN]`")],
    "list": [("DETAILS", "### `pinctl list`"), ("JSON OUTPUT", "### `list`")],
    "verify": [("DETAILS", "### `pinctl verify [HOST...]`"), ("JSON OUTPUT", "### `verify`")],
    "backup-keygen": [
        ("DETAILS", "### `pinctl backup-keygen`"),
        ("JSON OUTPUT", "### `backup-keygen`"),
    ],
    "export": [("FORMATS", "### `pinctl export --format FORMAT [HOST...]`")],
    "completion": [("DETAILS", "### `pinctl completion bash|zsh|fish`")],
    "pinctl": [("PINS", "## Pins")],
}
"""Man page section, README heading whose text it carries (README order, its own words)."""

_README: dict[Path, str] = {}


def _readme_part(heading: str, root: Path | None = None) -> str:
    """The README text under `heading`, up to the next heading of its level or above."""
    path = (root or ROOT) / "README.md"
    if path not in _README:
        _README[path] = path.read_text(encoding="utf-8") if path.exists() else ""
    text = _README[path]
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return ""
    level = len(heading) - len(heading.lstrip("#"))
    kept, fenced = [], False
    for raw in text[start + len(heading) + 2 :].splitlines():
        fenced ^= raw.startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", raw):
            break
        kept.append(raw)
    return "\n".join(kept)


def _readme_sections(name: str | None) -> list[str]:
    out: list[str] = []
    for title, heading in README_SECTIONS.get(name or "pinctl", []):
        body = markdown(_readme_part(heading))
        if body:
            out += [f".SH {title}", *body]
    return out


_HELP_DETAILS = re.compile(r"<details>.*?</details>\n?", re.DOTALL)
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\([^)]*\)")


def inline(text: str) -> str:
    """Markdown's inline code, bold and links as roff: code and bold in bold, links as text."""
    out, at = [], 0
    for match in _INLINE.finditer(text):
        out.append(esc(text[at : match.start()]))
        code, strong, link = match.groups()
        words = code or (strong or "").replace("`", "")
        out.append(bold(words) if words else esc(link))
        at = match.end()
    out.append(esc(text[at:]))
    rendered = "".join(out)
    return "\\&" + rendered if rendered.startswith((".", "'")) else rendered


def markdown(text: str) -> list[str]:
    """The README's markdown as man(7) roff: paragraphs, lists, tables, code and subheadings.

    Only the constructs the README uses; the --help excerpts (already OPTIONS) are dropped."""
    out: list[str] = []
    block: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if block:
            out.extend(_block(block))
            block.clear()

    for raw in _HELP_DETAILS.sub("", text).splitlines():
        if code is not None:
            if raw.startswith("```"):
                out += [".PP", ".nf", ".RS 4", *map(line, code), ".RE", ".fi"]
                code = None
            else:
                code.append(raw)
        elif raw.startswith("```"):
            flush()
            code = []
        elif not raw.strip() or raw.lstrip().startswith("<"):
            flush()
        elif raw.startswith("#"):
            flush()
            out.append(".SS " + esc(re.sub(r"[`*]", "", raw.lstrip("#").strip())))
        else:
            block.append(raw)
    flush()
    if code:
        out += [".PP", ".nf", ".RS 4", *map(line, code), ".RE", ".fi"]
    return out


def _block(lines: list[str]) -> list[str]:
    """One markdown block that is not code or a heading: a table, a list or a paragraph."""
    head = lines[0]
    if head.startswith("|"):
        rows = [
            [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row.strip()[1:-1])]
            for row in lines
        ]
        body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
        out = []
        for row in body:
            out += [".TP", inline(row[0]), inline(" \u2014 ".join(row[1:]))]
        return out
    if re.match(r"^(\d+\.|-) ", head):
        items: list[str] = []
        for raw in lines:
            if re.match(r"^(\d+\.|-) ", raw):
                items.append(re.sub(r"^(\d+\.|-) ", "", raw))
            elif items:
                items[-1] += " " + raw.strip()
        out = []
        for number, item in enumerate(items, 1):
            mark = f"{number}." if head[0].isdigit() else "\\(bu"
            out += [f'.IP "{mark}" 4', inline(item)]
        return out
    return [".PP", inline(" ".join(raw.strip() for raw in lines))]


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

    current = HELP_BLOCK.sub(block, current)
    return EXIT_BLOCK.sub(lambda m: f"{m.group(1)}{exit_table()}{m.group(3)}", current)


def generated(root: Path = ROOT) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    from pinctl.cli.completion import completion_script

    files = {f"completions/{f}": completion_script(s) for s, f in COMPLETION_FILES.items()}
    files["man/pinctl.1"] = man_page(None)
    files.update({f"man/pinctl-{page_name(name)}.1": man_page(name) for name in commands()})
    files["README.md"] = readme((root / "README.md").read_text(encoding="utf-8"))
    return files


def stale(files: dict[str, str], root: Path = ROOT) -> list[str]:
    """The files under `root` that differ from `files`, and man pages of vanished commands."""
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
