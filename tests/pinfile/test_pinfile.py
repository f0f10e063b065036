"""The pin file core: errors naming the line, round trips, edits keeping the user's text."""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import get_args

import pytest
import trustme
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinctl.errors import ExitCode, PinFileError, UsageError
from pinctl.inspect import candidates as adding
from pinctl.inspect.candidates import chain_pins
from pinctl.pinfile import nodes as pinfile_text
from pinctl.pinfile.edit import add_pins, remove
from pinctl.pinfile.model import LEVELS, TLS_VERSIONS, Defaults, HostEntry, PinEntry, PinFile
from pinctl.pinfile.reader import load, loads, read_nodes, resolve_path
from pinctl.pinfile.writer import dumps
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import DIGEST_SIZES, PIN_KINDS, HashAlg, Pin, compute
from tests.support.pinfiles import BACKUP, COMMENTED, INTER, LEAF, MALFORMED, NEW, PAY


@pytest.mark.parametrize(
    ("name", "text", "line", "words"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, words: str
) -> None:
    """Every kind of malformed pin file is a usage error naming the file, the line and the fault."""
    path = tmp_path / "pins.toml"
    path.write_text(text)
    with pytest.raises(PinFileError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_well_formed_file_loads_with_its_lines(tmp_path: Path) -> None:
    """The commented example loads, and hosts and pins carry the lines they were written on."""
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    pin_file = load(path)
    api, pay = pin_file.hosts
    assert (api.host, api.port, api.line) == ("api.example.com", 443, 9)
    assert [(str(p.pin), p.level, p.note, p.line) for p in api.pins] == [
        (LEAF, "leaf", "k1", 13),
        (INTER, "intermediate", None, 14),
    ]
    assert (pay.label, pay.line, pay.pins[0].line) == ("pay.example.com:8443", 18, 21)
    assert pin_file.defaults == Defaults(warn_days=30)


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    """A missing pin file names the path and the command that creates it."""
    with pytest.raises(
        PinFileError, match=r"no pin file at .*nope\.toml; create one with `pinctl add HOST`"
    ):
        load(tmp_path / "nope.toml")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    """A file in another encoding is refused with the line of the first bad byte."""
    path = tmp_path / "pins.toml"
    path.write_bytes(b"version = 1\n# caf\xe9\n")
    with pytest.raises(PinFileError, match=r":2: not UTF-8 text \(byte 0xe9\)"):
        load(path)


def test_the_bad_bytes_line_counts_a_leading_newline(tmp_path: Path) -> None:
    """Lines are counted from the first byte: a file that opens with a blank line names
    line 3, where an editor shows the bad byte."""
    path = tmp_path / "pins.toml"
    path.write_bytes(b"\nversion = 1\n# caf\xe9\n")
    with pytest.raises(PinFileError, match=r":3: not UTF-8 text \(byte 0xe9\)"):
        load(path)


def test_relative_ca_file_is_resolved_against_the_pin_file(tmp_path: Path) -> None:
    """ca_file paths are relative to the pin file's directory, not the working directory."""
    path = tmp_path / "deploy" / "pins.toml"
    path.parent.mkdir()
    path.write_text(
        'version = 1\n[defaults]\nca_file = "roots/a.pem"\n'
        '[[hosts]]\nhost = "x.test"\nca_file = "/etc/b.pem"\n[[hosts]]\nhost = "y.test"\n'
    )
    pin_file = load(path)
    assert pin_file.defaults.ca_file == tmp_path / "deploy" / "roots" / "a.pem"
    x, y = pin_file.hosts
    assert pin_file.ca_file_for(x) == Path("/etc/b.pem")
    assert pin_file.ca_file_for(y) == tmp_path / "deploy" / "roots" / "a.pem"


def test_resolve_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """--pin-file wins over $PINCTL_PIN_FILE, which wins over ./pins.toml."""
    monkeypatch.delenv("PINCTL_PIN_FILE", raising=False)
    assert resolve_path(None) == Path("pins.toml")
    monkeypatch.setenv("PINCTL_PIN_FILE", "env.toml")
    assert resolve_path(None) == Path("env.toml")
    assert resolve_path("opt.toml") == Path("opt.toml")


# --- round trips -------------------------------------------------------------------------

BASE = Path("/srv/repo/pins.toml")
HASH_ALGS: tuple[HashAlg, ...] = get_args(HashAlg)
_LABEL = r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
names = st.from_regex(rf"{_LABEL}(\.{_LABEL}){{0,3}}", fullmatch=True) | st.ip_addresses().map(str)
paths = st.from_regex(r"[A-Za-z0-9_-]{1,8}(/[A-Za-z0-9_.-]{1,8}){0,2}", fullmatch=True).filter(
    lambda p: ".." not in p and "/." not in p and not p.startswith(".")
)
ca_files = st.none() | paths.map(lambda p: BASE.parent / p) | paths.map(lambda p: Path("/etc") / p)


def _pins() -> st.SearchStrategy[Pin]:
    def of(alg: HashAlg) -> st.SearchStrategy[Pin]:
        size = DIGEST_SIZES[alg]
        digests = st.binary(min_size=size, max_size=size).filter(
            lambda d: len(set(d)) > 1 and d != hashlib.new(alg, b"").digest()
        )
        return digests.map(lambda d: Pin(alg, d))

    return st.sampled_from(HASH_ALGS).flatmap(of)


notes = st.none() | st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
pin_entries = st.builds(
    PinEntry,
    pin=_pins(),
    kind=st.sampled_from(PIN_KINDS),
    level=st.sampled_from(LEVELS),
    backup=st.booleans(),
    note=notes,
    expires=st.none() | st.dates(),
)
host_entries = st.builds(
    HostEntry,
    host=names,
    port=st.integers(1, 65535),
    servername=st.none() | names,
    connect_to=st.none()
    | st.tuples(names, st.integers(1, 65535)).map(
        lambda t: f"[{t[0]}]:{t[1]}" if ":" in t[0] else f"{t[0]}:{t[1]}"
    ),
    include_subdomains=st.booleans(),
    verify_chain=st.booleans(),
    ca_file=ca_files,
    pins=st.lists(pin_entries, max_size=4, unique_by=lambda e: e.identity).map(tuple),
)
pin_files = st.builds(
    PinFile,
    path=st.just(BASE),
    defaults=st.builds(
        Defaults,
        warn_days=st.integers(0, 3650),
        min_tls=st.sampled_from(TLS_VERSIONS),
        forward_secrecy=st.booleans(),
        ca_file=ca_files,
    ),
    hosts=st.lists(host_entries, max_size=4, unique_by=lambda h: h.key).map(tuple),
)


@given(pin_files)
def test_load_of_dumps_is_identity(pin_file: PinFile) -> None:
    """Whatever pinctl writes, it reads back as the same pin file."""
    assert loads(dumps(pin_file), BASE) == pin_file


def test_save_then_load_on_disk(tmp_path: Path) -> None:
    """dumps() written to disk reads back equal through load(), relative ca_file included.
    (Files are written only through the locked edit transaction; dumps is its layout.)"""
    pin = PinEntry(NEW, level="intermediate", note='R11 "quoted"\n', expires=date(2030, 1, 2))
    host = HostEntry("api.test", 8443, ca_file=tmp_path / "roots.pem", pins=(pin,))
    pin_file = PinFile(tmp_path / "pins.toml", hosts=(host,))
    (tmp_path / "pins.toml").write_text(dumps(pin_file))
    assert load(tmp_path / "pins.toml") == pin_file
    assert 'ca_file = "roots.pem"' in (tmp_path / "pins.toml").read_text()


def _lines(pin_file: PinFile) -> list[object]:
    return [(h.line, [p.line for p in h.pins]) for h in pin_file.hosts]


@settings(max_examples=50)
@given(pin_files, st.data(), st.booleans())
def test_fast_and_precise_readers_agree(
    pin_file: PinFile, data: st.DataObject, damage: bool
) -> None:
    """The stdlib fast path accepts only what the tomlkit path accepts, with the same lines."""
    text = _styled(dumps(pin_file), data)
    if damage:
        at = data.draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + data.draw(st.sampled_from(['"', "[", "{", "\n", ",", "pin = 1,"]))
            + text[at:]
        )
    try:
        precise = read_nodes(text, BASE)[0]
    except PinFileError:
        with pytest.raises(PinFileError):
            loads(text, BASE)
        return
    fast = loads(text, BASE)
    assert fast == precise
    assert _lines(fast) == _lines(precise)


def test_invalid_toml_names_its_line_and_column_as_tomllib_counts_them(tmp_path: Path) -> None:
    """Line and column from 1, as Python's tomllib and editors count: the second `=` of
    `x = = 2` is at column 5 of line 2."""
    import sys

    path = tmp_path / "pins.toml"
    path.write_text("version = 1\nx = = 2\n")
    with pytest.raises(PinFileError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:2: invalid TOML: Unexpected character: '=' (column 5)"
    if sys.version_info >= (3, 11):  # the judge: Python 3.10 has no tomllib
        import tomllib

        with pytest.raises(tomllib.TOMLDecodeError, match=r"line 2, column 5"):
            tomllib.loads(path.read_text())


def test_a_duplicate_key_in_an_inline_table_is_invalid_toml(tmp_path: Path) -> None:
    """tomlkit finds this one after parsing, with no position: the error still names the
    file and the key, as a one-line error rather than a traceback."""
    path = tmp_path / "pins.toml"
    path.write_text('version = 1\nhosts = [{ host = "a.test", host = "b.test" }]\n')
    with pytest.raises(PinFileError) as caught:
        load(path)
    assert str(caught.value) == f'{path}: invalid TOML: Key "host" already exists.'


def test_a_key_that_says_at_line_is_quoted_whole(tmp_path: Path) -> None:
    """Only tomlkit's own " at line L col C" is cut from its message, not the same words
    inside a quoted key."""
    path = tmp_path / "pins.toml"
    path.write_text('version = 1\n"x at line 9" = 1\n"x at line 9" = 2\n')
    with pytest.raises(PinFileError) as caught:
        load(path)
    assert str(caught.value) == (
        f'{path}:3: invalid TOML: Key "x at line 9" already exists. (column 1)'
    )


def test_a_plain_pin_file_takes_the_fast_path_where_python_has_tomllib() -> None:
    """Python 3.11+ reads a commented pin file with the stdlib parser (what the read
    benchmark measures); 3.10, without tomllib, always takes the precise one."""
    import sys

    fast = pinfile_text.fast_nodes(COMMENTED)
    assert (fast is not None) is (sys.version_info >= (3, 11))
    if fast is not None:
        assert loads(COMMENTED, BASE) == read_nodes(COMMENTED, BASE)[0]


@given(st.text())
def test_arbitrary_text_only_raises_pin_file_error(text: str) -> None:
    """Any text at all either loads or raises PinFileError; nothing else escapes."""
    with contextlib.suppress(PinFileError):
        loads(text)


@given(pin_files, st.data())
def test_damaged_files_only_raise_pin_file_error(pin_file: PinFile, data: st.DataObject) -> None:
    """A valid file with a random cut and insertion loads, or fails naming the file and line."""
    text = dumps(pin_file)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    junk = data.draw(st.text(st.sampled_from("[]{}=,\"'#\n \\.x1-:"), max_size=6))
    damaged = text[:start] + junk + text[end:]
    message = ""
    try:
        loads(damaged, BASE)
    except PinFileError as exc:
        message = str(exc)
    assert message == "" or message.startswith(f"{BASE}:")


comments = st.sampled_from(["# note", "# ]", "# [[hosts]]", "# pins = [", "# {", "#,", "#"])


def _styled(text: str, data: st.DataObject) -> str:
    """pinctl's layout as a person might have edited it: indents, comments, blank lines."""
    out = []
    for line in text.split("\n")[:-1]:
        if data.draw(st.booleans()):
            out.append(data.draw(st.sampled_from(["\n", " \n"])) + data.draw(comments) + "\n")
        indent = data.draw(st.sampled_from(["", "", " ", "\t"]))
        tail = data.draw(st.sampled_from(["", "", "  " + data.draw(comments)]))
        out.append(f"{indent}{line}{tail if line else ''}\n")
    return "".join(out)


def _as_tables(pin_file: PinFile) -> str:
    """The same file with every host's pins written as ``[[hosts.pins]]`` tables."""
    import tomlkit

    return tomlkit.dumps(tomlkit.parse(dumps(pin_file)).unwrap())


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(pin_files, st.data(), st.booleans(), st.booleans())
def test_edits_change_exactly_what_was_asked(
    pin_file: PinFile, data: st.DataObject, styled: bool, tables: bool
) -> None:
    """add_pins then remove, on any file (as written, hand-edited, or with pins as
    ``[[hosts.pins]]`` tables), change only what was named."""
    text = _as_tables(pin_file) if tables else dumps(pin_file)
    text = _styled(text, data) if styled else text
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pins.toml"
        path.write_text(text)
        before = load(path)
        hosts = [*(h.host for h in before.hosts), "new.example"]
        host = data.draw(st.sampled_from(hosts))
        port = next((h.port for h in before.hosts if h.host == host), 443)
        extra = data.draw(
            st.lists(pin_entries, min_size=1, max_size=3, unique_by=lambda e: e.identity)
        )
        add_pins(path, host, port, extra)
        after = load(path)
        old = before.find_host(host, port)
        old_pins = old.pins if old else ()
        new = after.find_host(host, port)
        assert new is not None
        new_pins = new.pins
        fresh = [e for e in extra if e.identity not in {p.identity for p in old_pins}]
        assert new_pins == (*old_pins, *fresh)
        assert [h for h in after.hosts if h.key != (host.lower(), port)] == [
            h for h in before.hosts if h.key != (host.lower(), port)
        ]
        gone = data.draw(st.sampled_from(new_pins))
        remove(path, host, port, (gone.pin,))
        left = load(path).find_host(host, port)
        assert left is not None
        assert left.pins == tuple(p for p in new_pins if p.pin != gone.pin)
        remove(path, host, port)
        assert load(path).hosts == tuple(h for h in after.hosts if h.key != left.key)


# --- edits keep the user's text ----------------------------------------------------------


def _commented(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    return path


def test_add_to_existing_host_touches_only_new_lines(tmp_path: Path) -> None:
    """Adding pins to a commented host inserts lines before `]` and changes nothing else."""
    path = _commented(tmp_path)
    change = add_pins(
        path,
        "API.example.com",
        443,
        [
            PinEntry(NEW, level="intermediate", note="R11"),
            PinEntry(BACKUP, backup=True, note="k/b-1.pem"),
        ],
    )
    assert [e.pin for e in change.added] == [NEW, BACKUP]
    expected = COMMENTED.replace(
        f'  {{ pin = "{INTER}", level = "intermediate" }},\n',
        f'  {{ pin = "{INTER}", level = "intermediate" }},\n'
        f'  {{ pin = "{NEW}", level = "intermediate", note = "R11" }},\n'
        f'  {{ pin = "{BACKUP}", backup = true, note = "k/b-1.pem" }},\n',
    )
    assert path.read_text() == expected


def test_add_to_one_line_array_and_set_a_field(tmp_path: Path) -> None:
    """A one-line pins array becomes one pin per line; a new setting goes after the host's keys."""
    path = _commented(tmp_path)
    change = add_pins(
        path, "pay.example.com", 8443, [PinEntry(NEW)], host_fields={"verify_chain": False}
    )
    assert change.fields == {"verify_chain": False}
    expected = COMMENTED.replace(
        f'port = 8443\npins = [{{ pin = "{PAY}" }}]\n',
        f'port = 8443\nverify_chain = false\npins = [\n  {{ pin = "{PAY}" }},\n'
        f'  {{ pin = "{NEW}", level = "leaf" }},\n]\n',
    )
    assert path.read_text() == expected


def test_new_host_goes_after_the_last_host(tmp_path: Path) -> None:
    """A new host is a [[hosts]] table after the last one; port 443 and unset fields left out."""
    path = _commented(tmp_path)
    add_pins(
        path, "new.example.com", 443, [PinEntry(NEW)], host_fields={"connect_to": "10.0.0.5:8443"}
    )
    expected = COMMENTED.replace(
        "# the end\n",
        f'\n[[hosts]]\nhost = "new.example.com"\nconnect_to = "10.0.0.5:8443"\n'
        f'pins = [\n  {{ pin = "{NEW}", level = "leaf" }},\n]\n# the end\n',
    )
    assert path.read_text() == expected


def test_adding_a_pin_already_present_changes_nothing(tmp_path: Path) -> None:
    """The same pin (digest, algorithm, kind) is not added twice, and the file is not rewritten."""
    path = _commented(tmp_path)
    inode = path.stat().st_ino
    change = add_pins(path, "api.example.com", 443, [PinEntry(Pin.parse(LEAF), level="root")])
    assert not change.changed
    assert [str(e.pin) for e in change.present] == [LEAF]
    assert path.read_text() == COMMENTED
    assert path.stat().st_ino == inode


def test_the_same_digest_as_another_kind_is_a_new_pin(tmp_path: Path) -> None:
    """Failing twin of idempotency: a cert pin with an SPKI pin's digest is a different pin."""
    path = _commented(tmp_path)
    change = add_pins(path, "api.example.com", 443, [PinEntry(Pin.parse(LEAF), kind="cert")])
    assert change.changed
    assert f'{{ pin = "{LEAF}", kind = "cert", level = "leaf" }},' in path.read_text()


def test_add_creates_the_file(tmp_path: Path) -> None:
    """A missing pin file is created with version = 1 and the host."""
    path = tmp_path / "pins.toml"
    change = add_pins(path, "api.test", 8443, [PinEntry(NEW, note="n")])
    assert change.created_file
    assert change.added_host
    assert path.read_text() == (
        f'version = 1\n\n[[hosts]]\nhost = "api.test"\nport = 8443\n'
        f'pins = [\n  {{ pin = "{NEW}", level = "leaf", note = "n" }},\n]\n'
    )


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """A dry run reports the change it would make, and neither creates nor changes a file."""
    path = tmp_path / "pins.toml"
    change = add_pins(path, "api.test", 443, [PinEntry(NEW)], dry_run=True)
    assert change.added
    assert change.created_file
    assert change.dry_run
    assert not path.exists()
    path = _commented(tmp_path)
    assert remove(path, "api.example.com", dry_run=True).removed_host
    assert path.read_text() == COMMENTED


def test_remove_host_keeps_everything_else(tmp_path: Path) -> None:
    """Removing a host deletes its table and the comment block set off above it, nothing more."""
    path = _commented(tmp_path)
    change = remove(path, "api.example.com")
    assert change.removed_host
    assert len(change.removed) == 2
    start = COMMENTED.index("# Main API")
    end = COMMENTED.index("# Payments")
    assert path.read_text() == COMMENTED[:start] + COMMENTED[end:]


def test_remove_last_host(tmp_path: Path) -> None:
    """Removing the last host leaves the comment after it and no doubled blank line."""
    path = _commented(tmp_path)
    remove(path, "pay.example.com", 8443)
    start = COMMENTED.index("\n# Payments")
    end = COMMENTED.index("# the end")
    assert path.read_text() == COMMENTED[:start] + "\n" + COMMENTED[end:]


def test_remove_a_host_packed_against_the_one_above_keeps_the_blank_line_below(
    tmp_path: Path,
) -> None:
    """A table written right under the previous one, with no blank line between, goes
    alone: the blank line after it still sets off what follows."""
    packed = 'version = 1\n[[hosts]]\nhost = "a.test"\n[[hosts]]\nhost = "b.test"\n\n# the end\n'
    path = tmp_path / "pins.toml"
    path.write_text(packed)
    remove(path, "b.test")
    assert path.read_text() == 'version = 1\n[[hosts]]\nhost = "a.test"\n\n# the end\n'


def test_remove_one_pin_keeps_the_comment_above_it(tmp_path: Path) -> None:
    """Removing a pin deletes its line (with its trailing comment) and nothing else."""
    path = _commented(tmp_path)
    change = remove(path, "api.example.com", pins=(Pin.parse(LEAF),))
    assert [str(e.pin) for e in change.removed] == [LEAF]
    lines = COMMENTED.splitlines(keepends=True)
    assert path.read_text() == "".join(line for line in lines if LEAF not in line)


def test_remove_the_only_pin_leaves_an_empty_array(tmp_path: Path) -> None:
    """The last pin of a host leaves `pins = []`, and the change says none are left."""
    path = _commented(tmp_path)
    change = remove(path, "pay.example.com", pins=(Pin.parse(PAY),))
    assert change.pins_left == 0
    assert path.read_text() == COMMENTED.replace(f'[{{ pin = "{PAY}" }}]', "[]")


HAND_WRAPPED = f"""\
version = 1

[[hosts]]
host = "a.example"
pins = [
  {{ pin = "{LEAF}" }},
  {{ pin = "{INTER}" }}]
"""


ADDED_LINE = f'  {{ pin = "{NEW}", level = "leaf" }},\n'


@pytest.mark.parametrize(
    ("last", "after"),
    [
        (f'  {{ pin = "{INTER}" }}]\n', f'  {{ pin = "{INTER}" }},\n{ADDED_LINE}]\n'),
        (
            f'  {{ pin = "{INTER}" }}  # the issuer\n]\n',
            f'  {{ pin = "{INTER}" }},  # the issuer\n{ADDED_LINE}]\n',
        ),
    ],
    ids=["closed-on-its-last-line", "comment-then-bracket"],
)
def test_a_pin_added_after_a_last_element_without_a_comma(
    tmp_path: Path, last: str, after: str
) -> None:
    """The last element gets the comma it lacked, at its own end and ahead of its comment
    (without it the file is not TOML), and the new pin goes on a line of its own above a
    `]` on its own line, in the array's indentation."""
    text = HAND_WRAPPED.replace(f'  {{ pin = "{INTER}" }}]\n', last)
    path = tmp_path / "pins.toml"
    path.write_text(text)
    add_pins(path, "a.example", 443, [PinEntry(NEW)])
    assert path.read_text() == text.replace(last, after)


@pytest.mark.parametrize(
    ("pins", "after"),
    [
        (f'pins = [\n    {{ pin = "{LEAF}" }},\n]\n',
         f'pins = [\n    {{ pin = "{LEAF}" }},\n    {{ pin = "{NEW}", level = "leaf" }},\n]\n'),
        (f'pins = [{{ pin = "{LEAF}" }},\n]\n',
         f'pins = [{{ pin = "{LEAF}" }},\n{ADDED_LINE}]\n'),
    ],
    ids=["four-spaces", "first-on-the-bracket-line"],
)  # fmt: skip
def test_a_pin_added_to_a_wrapped_array_takes_its_last_elements_indent(
    tmp_path: Path, pins: str, after: str
) -> None:
    """A new pin is indented as the array's last element on its own line is (four spaces
    here); an element that shares the `[` line sets no indent, and pinctl's own is used."""
    text = f'version = 1\n\n[[hosts]]\nhost = "a.example"\n{pins}'
    path = tmp_path / "pins.toml"
    path.write_text(text)
    add_pins(path, "a.example", 443, [PinEntry(NEW)])
    assert path.read_text() == text.replace(pins, after)


@pytest.mark.parametrize("indent", ["", "  "], ids=["flush", "indented"])
def test_a_pin_added_to_a_host_table_without_pins_starts_its_array(
    tmp_path: Path, indent: str
) -> None:
    """A [[hosts]] table with no `pins` yet gets a wrapped array after its last key, in
    that key's indentation, and nothing else in the file moves."""
    text = f'version = 1\n\n[[hosts]]\n{indent}host = "a.example"\n{indent}port = 8443\n# the end\n'
    path = tmp_path / "pins.toml"
    path.write_text(text)
    add_pins(path, "a.example", 8443, [PinEntry(NEW)])
    added = f"{indent}pins = [\n{indent}{ADDED_LINE}{indent}]\n"
    assert path.read_text() == text.replace("# the end\n", added + "# the end\n")
    assert [p.pin for p in load(path).hosts[0].pins] == [NEW]


def test_a_pin_added_to_a_last_host_without_a_final_newline_starts_its_array_below(
    tmp_path: Path,
) -> None:
    """A file whose last line (the host's last key) has no newline gets the new array on
    lines of its own after it, not glued to the key."""
    text = 'version = 1\n\n[[hosts]]\nhost = "a.example"\nport = 8443'
    path = tmp_path / "pins.toml"
    path.write_text(text)
    add_pins(path, "a.example", 8443, [PinEntry(NEW)])
    assert path.read_text() == text + f"\npins = [\n{ADDED_LINE}]\n"


def test_the_last_pin_without_a_comma_is_removed_with_its_line(tmp_path: Path) -> None:
    """The last element, with no comma after it, goes with its whole line: the comma of the
    one before it stays, as TOML allows, and nothing else moves."""
    text = HAND_WRAPPED.replace(f'{{ pin = "{INTER}" }}]', f'{{ pin = "{INTER}" }}\n]')
    path = tmp_path / "pins.toml"
    path.write_text(text)
    remove(path, "a.example", pins=(Pin.parse(INTER),))
    assert path.read_text() == text.replace(f'  {{ pin = "{INTER}" }}\n', "")


@pytest.mark.parametrize(
    ("comment", "extra"),
    [(False, ""), (False, ', note = "ticket #42"'), (True, "")],
    ids=["plain", "a-hash-in-a-note", "with-a-comment"],
)
def test_the_last_pin_of_a_wrapped_array_leaves_it_empty(
    tmp_path: Path, comment: bool, extra: str
) -> None:
    """The only pin of an array written over several lines leaves `pins = []`; a comment
    inside the array is the user's, so then only the pin's line goes and the comment stays.
    A `#` inside the pin's own strings is no comment."""
    note = "  # rotated 2026-11\n" if comment else ""
    head = 'version = 1\n\n[[hosts]]\nhost = "a.example"\n'
    text = f'{head}pins = [\n{note}  {{ pin = "{LEAF}"{extra} }},\n]\n'
    path = tmp_path / "pins.toml"
    path.write_text(text)
    remove(path, "a.example", pins=(Pin.parse(LEAF),))
    if comment:
        assert path.read_text() == text.replace(f'  {{ pin = "{LEAF}"{extra} }},\n', "")
    else:
        assert path.read_text() == f"{head}pins = []\n"


ONE_LINE = f"""\
version = 1

[[hosts]]
host = "a.example"
pins = [{{ pin = "{LEAF}" }}, {{ pin = "{INTER}" }}, {{ pin = "{PAY}" }}]
"""


@pytest.mark.parametrize(
    ("gone", "left"),
    [
        (LEAF, f'[{{ pin = "{INTER}" }}, {{ pin = "{PAY}" }}]'),
        (INTER, f'[{{ pin = "{LEAF}" }}, {{ pin = "{PAY}" }}]'),
        (PAY, f'[{{ pin = "{LEAF}" }}, {{ pin = "{INTER}" }}]'),
    ],
    ids=["first", "middle", "last"],
)
def test_a_pin_removed_from_a_one_line_array_takes_one_comma(
    tmp_path: Path, gone: str, left: str
) -> None:
    """On a line it shares, a pin goes with the comma after it, or, the last one, with the
    comma before it: the line keeps its form."""
    path = tmp_path / "pins.toml"
    path.write_text(ONE_LINE)
    remove(path, "a.example", pins=(Pin.parse(gone),))
    assert path.read_text() == ONE_LINE.replace(ONE_LINE.splitlines()[4][7:], left)


def test_a_pin_ending_a_shared_line_leaves_the_line(tmp_path: Path) -> None:
    """A pin at the end of a line that starts with something else (the array's opening, a
    pin before it) is removed with its comma; the rest of its line stays."""
    text = ONE_LINE.replace(f'{{ pin = "{INTER}" }}, ', f'{{ pin = "{INTER}" }},\n  ')
    path = tmp_path / "pins.toml"
    path.write_text(text)
    remove(path, "a.example", pins=(Pin.parse(INTER),))
    assert path.read_text() == text.replace(f'{{ pin = "{INTER}" }},', "")


def test_the_last_pin_of_a_one_line_array_with_a_trailing_comma_keeps_the_comma(
    tmp_path: Path,
) -> None:
    """`[A, B,]` without B is `[A,]`: the comma before B goes with it, and the trailing
    comma the file chose stays where it was."""
    text = ONE_LINE.replace(f'{{ pin = "{PAY}" }}]', f'{{ pin = "{PAY}" }},]')
    path = tmp_path / "pins.toml"
    path.write_text(text)
    remove(path, "a.example", pins=(Pin.parse(PAY),))
    assert path.read_text() == text.replace(f', {{ pin = "{PAY}" }},]', ",]")


TABLES = f"""\
version = 1

[[hosts]]
host = "a.example"

# the leaf
[[hosts.pins]]
pin = "{LEAF}"
level = "leaf"

[[hosts.pins]]
pin = "{INTER}"
level = "intermediate"  # R11

# next
[[hosts]]
host = "b.example"
pins = [{{ pin = "{PAY}" }}]
"""


def test_pins_written_as_tables_get_one_more_table(tmp_path: Path) -> None:
    """A host whose pins are [[hosts.pins]] tables gets new pins as tables after its last one."""
    path = tmp_path / "pins.toml"
    path.write_text(TABLES)
    change = add_pins(path, "a.example", 443, [PinEntry(NEW, backup=True, note="b-1")])
    assert [e.pin for e in change.added] == [NEW]
    assert path.read_text() == TABLES.replace(
        '"intermediate"  # R11\n',
        f'"intermediate"  # R11\n\n[[hosts.pins]]\npin = "{NEW}"\nbackup = true\nnote = "b-1"\n',
    )


def test_pins_written_as_tables_are_removed_table_by_table(tmp_path: Path) -> None:
    """Removing a pin written as a table deletes that table and its comment; the last one too."""
    path = tmp_path / "pins.toml"
    path.write_text(TABLES)
    remove(path, "a.example", pins=(Pin.parse(LEAF),))
    leaf_table = f'# the leaf\n[[hosts.pins]]\npin = "{LEAF}"\nlevel = "leaf"\n\n'
    assert path.read_text() == TABLES.replace(leaf_table, "")
    change = remove(path, "a.example", pins=(Pin.parse(INTER),))
    assert change.pins_left == 0
    inter_table = f'[[hosts.pins]]\npin = "{INTER}"\nlevel = "intermediate"  # R11\n\n'
    assert path.read_text() == TABLES.replace(leaf_table, "").replace(inter_table, "")
    assert load(path).hosts[0].pins == ()


def test_an_edit_pinctl_cannot_make_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    """When an edit would change more than was asked ([defaults] between a host's pin tables
    would go with the host), pinctl refuses, dry run or not, with the host's line, and leaves
    the file alone."""
    path = tmp_path / "pins.toml"
    text = (
        f'version = 1\n[[hosts]]\nhost = "a.example"\n[[hosts.pins]]\npin = "{LEAF}"\n'
        f'[defaults]\nwarn_days = 3\n[[hosts.pins]]\npin = "{INTER}"\n'
    )
    path.write_text(text)
    with pytest.raises(PinFileError, match=r"could not edit a\.example:443"):
        remove(path, "a.example", dry_run=True)
    with pytest.raises(PinFileError) as caught:
        remove(path, "a.example")
    message = str(caught.value)
    assert message.startswith(f"{path}:2: pinctl could not edit a.example:443 as this file")
    assert "the file is unchanged: make the change by hand" in message
    assert caught.value.exit_code == ExitCode.USAGE
    assert path.read_text() == text
    add_pins(path, "a.example", 443, [PinEntry(NEW)])
    assert [p.pin for p in load(path).hosts[0].pins] == [Pin.parse(LEAF), Pin.parse(INTER), NEW]
    assert load(path).defaults.warn_days == 3


@pytest.mark.parametrize(
    "value", ["[" * 5000 + "]" * 5000, "{ a = " * 3000 + "1" + " }" * 3000], ids=["array", "table"]
)
def test_nesting_deeper_than_the_parser_can_go_is_a_pin_file_error(
    tmp_path: Path, value: str
) -> None:
    """TOML nested past the parsers' recursion limit is a PinFileError naming the file."""
    path = tmp_path / "pins.toml"
    path.write_text(f"version = 1\nx = {value}\n")
    assert pinfile_text.fast_nodes(path.read_text()) is None
    with pytest.raises(PinFileError, match=f"^{re.escape(str(path))}:2: "):
        load(path)


@pytest.mark.parametrize(
    ("host", "port", "pin", "message"),
    [
        ("nope.example.com", None, None, "host 'nope.example.com' is not in"),
        ("api.example.com", 444, None, "host 'api.example.com:444' is not in"),
        ("api.example.com", None, NEW, f"pin {NEW} is not pinned for api.example.com:443 "
         f"in .*pins.toml \\(its pins: {re.escape(LEAF)}, {re.escape(INTER)}\\); see"),
    ],
)  # fmt: skip
def test_remove_names_what_is_missing(
    tmp_path: Path, host: str, port: int | None, pin: Pin | None, message: str
) -> None:
    """Removing a host or pin that is not there is a usage error naming it, and writes nothing."""
    path = _commented(tmp_path)
    with pytest.raises(UsageError, match=message) as caught:
        remove(path, host, port, () if pin is None else (pin,))
    assert caught.value.exit_code == ExitCode.USAGE
    assert path.read_text() == COMMENTED


def test_a_pin_asked_of_a_host_without_pins_says_it_has_none(tmp_path: Path) -> None:
    """The listing of a host's pins in the error says "none" rather than nothing."""
    path = tmp_path / "pins.toml"
    path.write_text('version = 1\n\n[[hosts]]\nhost = "a.test"\n')
    with pytest.raises(UsageError, match=r"\(its pins: none\); see `pinctl list`"):
        remove(path, "a.test", None, (NEW,))


def test_remove_asks_for_a_port_when_a_host_has_several(tmp_path: Path) -> None:
    """A host listed for two ports needs --port; with it, only that entry goes."""
    path = tmp_path / "pins.toml"
    add_pins(path, "a.test", 443, [PinEntry(NEW)])
    add_pins(path, "a.test", 8443, [PinEntry(NEW)])
    with pytest.raises(
        UsageError, match=r"for ports 443 and 8443; name one as a\.test:443 \(or with --port\)"
    ):
        remove(path, "a.test")
    remove(path, "a.test", 8443)
    assert [h.label for h in load(path).hosts] == ["a.test:443"]


def test_inline_hosts_array_is_edited_in_place(tmp_path: Path) -> None:
    """Hosts written as an inline array get new pins, new hosts and removals in that form."""
    path = tmp_path / "pins.toml"
    path.write_text(
        f'version = 1\nhosts = [\n  {{ host = "a.test", pins = [{{ pin = "{LEAF}" }}] }},\n]\n'
    )
    add_pins(path, "a.test", 443, [PinEntry(NEW)], host_fields={"verify_chain": False})
    add_pins(path, "b.test", 443, [PinEntry(BACKUP, backup=True)])
    assert f'  {{ host = "b.test", pins = [{{ pin = "{BACKUP}", backup = true }}] }},\n' in (
        path.read_text()
    ), "a new inline host is one line, its pins inline too"
    pin_file = load(path)
    assert [h.host for h in pin_file.hosts] == ["a.test", "b.test"]
    assert [e.pin for e in pin_file.hosts[0].pins] == [Pin.parse(LEAF), NEW]
    assert pin_file.hosts[0].verify_chain is False
    remove(path, "a.test")
    assert [h.host for h in load(path).hosts] == ["b.test"]


def test_an_inline_host_without_pins_gets_them_inline(tmp_path: Path) -> None:
    """An inline host that has no pins yet (a `clients` entry, say) gets a `pins` array
    in the same braces: the line is extended, nothing else moves."""
    path = tmp_path / "pins.toml"
    path.write_text('version = 1\nhosts = [\n  { host = "a.test", port = 8443 },\n]\n# end\n')
    add_pins(path, "a.test", 8443, [PinEntry(NEW)])
    assert path.read_text() == (
        'version = 1\nhosts = [\n  { host = "a.test", port = 8443, '
        f'pins = [{{ pin = "{NEW}", level = "leaf" }}] }},\n]\n# end\n'
    )


def test_crlf_and_byte_order_mark_are_kept(tmp_path: Path) -> None:
    """A Windows-edited file keeps its CRLF line ends and its BOM after an edit."""
    path = tmp_path / "pins.toml"
    path.write_bytes(b"\xef\xbb\xbf" + COMMENTED.replace("\n", "\r\n").encode())
    add_pins(path, "api.example.com", 443, [PinEntry(NEW)])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") == COMMENTED.count("\n") + 1


# --- which certificates a chain gives ------------------------------------------------------


def _chain(ca: trustme.CA) -> tuple[x509.Certificate, ...]:
    intermediate = ca.create_child_ca()
    served = intermediate.issue_cert("api.test").cert_chain_pems
    root = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    return (*(x509.load_pem_x509_certificate(p.bytes()) for p in served), root)


def _spki(cert: x509.Certificate) -> Pin:
    return compute(spki_der(cert.public_key()))


def test_chain_pins_levels(ca: trustme.CA) -> None:
    """A validated path gives leaf, intermediate and (the anchor) root, named by their CN."""
    leaf, inter, root = _chain(ca)
    pins = chain_pins((leaf, inter, root), LEVELS, validated=True, expires=date(2030, 1, 1))
    assert [(p.pin, p.level) for p in pins] == [
        (_spki(leaf), "leaf"),
        (_spki(inter), "intermediate"),
        (_spki(root), "root"),
    ]
    assert pins[0].note == "api.test"
    assert pins[0].expires == date(2030, 1, 1)
    only_root = chain_pins((leaf, inter, root), ("root",), validated=True, note="mine")
    assert [(p.pin, p.note) for p in only_root] == [(_spki(root), "mine")]


def test_unvalidated_chain_has_a_root_only_if_self_signed(ca: trustme.CA) -> None:
    """Without validation the last served certificate is a root only when it signed itself."""
    leaf, inter, root = _chain(ca)
    assert chain_pins((leaf, inter), ("root",), validated=False) == ()
    assert [p.level for p in chain_pins((leaf, inter), LEVELS, validated=False)] == [
        "leaf",
        "intermediate",
    ]
    assert [p.level for p in chain_pins((leaf, inter, root), ("root",), validated=False)] == [
        "root"
    ]


def test_the_core_reads_no_clock() -> None:
    """The pin file core never reads the clock: `today` and `now` come from the caller."""
    package = Path(pinfile_text.__file__).parent
    modules = [*package.glob("*.py"), Path(adding.__file__)]
    assert len(modules) > 8
    source = "".join(m.read_text() for m in modules)
    assert "datetime.now" not in source
    assert "date.today" not in source


@pytest.mark.parametrize("char", [chr(0xD800), chr(0xDFFF)])
def test_a_value_with_an_unpaired_surrogate_is_refused(char: str) -> None:
    """A TOML file is UTF-8, which cannot hold a lone surrogate: a usage error, not a crash."""
    from pinctl.errors import UsageError
    from pinctl.pinfile.writer import toml_value

    with pytest.raises(UsageError, match="unpaired surrogates"):
        toml_value(f"note {char}", None)


@pytest.mark.parametrize("char", [chr(0xD7FF), chr(0xE000), chr(0x1F600)])
def test_the_characters_around_the_surrogates_are_written(char: str) -> None:
    """The twins: the code points on either side of the surrogate block, and an emoji."""
    from pinctl.pinfile.writer import toml_value

    assert toml_value(f"note {char}", None) == f'"note {char}"'


def test_a_line_asked_of_a_file_changed_since_it_was_read_is_never_another_hosts(
    tmp_path: Path,
) -> None:
    """The line of a host's unusable ca_file is found by reading the file again. If the
    host has gone from the file meanwhile, the message falls back on [defaults]' line, never
    another host's line and never a crash; unchanged, the host's own line is named."""
    from pinctl.pinfile.reader import key_line

    host = '[[hosts]]\nhost = "{}"\nca_file = "{}.pem"\npins = []\n'
    text = 'version = 1\n[defaults]\nca_file = "d.pem"\n' + host.format("a.test", "a")
    path = tmp_path / "pins.toml"
    path.write_text(text + host.format("b.test", "b"))
    pin_file = load(path)
    second = pin_file.hosts[1]
    assert key_line(pin_file, second, "ca_file") == 10
    path.write_text(text)  # b.test removed by someone else
    assert key_line(pin_file, second, "ca_file") == 3
