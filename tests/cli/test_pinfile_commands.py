"""`pinctl add`, `remove` and `list` end to end: real loopback TLS servers, real pin files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509

from pinctl.cli.suggestions import complete_hosts
from pinctl.pinfile.reader import load
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import Pin, compute
from tests.support.cli import Invocation, Run
from tests.support.pinfiles import COMMENTED, LEAF, MALFORMED, PAY
from tests.support.servers import closed_port, server_context, tls_server

TODAY = datetime.now(timezone.utc).date()


def spki(pem: trustme.Blob | bytes) -> Pin:
    cert = x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else pem.bytes())
    return compute(spki_der(cert.public_key()))


class Site:
    """A loopback TLS server serving leaf + intermediate under the session `ca`."""

    def __init__(self, ca: trustme.CA, name: str = "127.0.0.1") -> None:
        self.ca = ca
        intermediate = ca.create_child_ca()
        self.cert = intermediate.issue_cert(name)
        leaf_pem, inter_pem = self.cert.cert_chain_pems
        self.leaf, self.intermediate, self.root = spki(leaf_pem), spki(inter_pem), spki(ca.cert_pem)


@pytest.fixture(scope="module")
def site(ca: trustme.CA) -> Site:
    return Site(ca)


@pytest.fixture
def address(site: Site) -> Iterator[str]:
    with tls_server(server_context(site.cert)) as server:
        yield server.address


@pytest.fixture
def other_ca_pem(tmp_path: Path) -> Path:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def add(run: Run, pin_file: Path, *args: str) -> Invocation:
    return run(["add", "--timeout", "5", "--pin-file", str(pin_file), *args])


def test_add_pins_leaf_and_intermediate(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """add creates the pin file with the validated chain's leaf and intermediate pins."""
    pin_file = tmp_path / "pins.toml"
    result = add(run, pin_file, "--ca-file", str(ca_pem), address)
    assert result.exit_code == 0, result.stderr
    setting, *lines = result.stdout.splitlines()
    # As written: relative to the pin file (ca.pem lies beside it).
    assert setting == f'~ {address} ca_file = "{ca_pem.relative_to(tmp_path)}"'
    assert [line.split(" (")[0] for line in lines] == [
        f"+ {address} {site.leaf}",
        f"+ {address} {site.intermediate}",
    ]
    assert lines[0].endswith("(leaf, 127.0.0.1)")
    assert lines[1].startswith(f"+ {address} {site.intermediate} (intermediate, OU=Testing CA")
    assert result.stderr == f"created {pin_file}\n"
    (host,) = load(pin_file).hosts
    assert (host.host, host.port, host.verify_chain) == (
        "127.0.0.1",
        int(address.split(":")[1]),
        True,
    )
    assert [(p.pin, p.level, p.backup) for p in host.pins] == [
        (site.leaf, "leaf", False),
        (site.intermediate, "intermediate", False),
    ]
    assert host.ca_file == ca_pem
    assert 'ca_file = "ca.pem"' in pin_file.read_text()


def test_second_add_changes_nothing(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """Adding the same chain again reports the pins as present and leaves the file alone."""
    pin_file = tmp_path / "pins.toml"
    assert add(run, pin_file, "--ca-file", str(ca_pem), address).exit_code == 0
    before = pin_file.read_bytes()
    again = add(run, pin_file, "--ca-file", str(ca_pem), address)
    assert again.exit_code == 0
    assert [line[:2] for line in again.stdout.splitlines()] == ["= ", "= "]
    assert "already pinned" in again.stdout
    assert again.stderr == f"{pin_file} is unchanged: every pin was already there\n"
    assert pin_file.read_bytes() == before


def test_a_new_key_is_added_beside_the_old_pins(
    run: Run, tmp_path: Path, ca: trustme.CA, address: str, ca_pem: Path, site: Site
) -> None:
    """Failing twin of idempotency: a server with a new key adds its new pins, keeping the old."""
    pin_file = tmp_path / "pins.toml"
    assert add(run, pin_file, "--ca-file", str(ca_pem), address).exit_code == 0
    renewed = Site(ca)
    port = int(address.split(":")[1])
    with tls_server(server_context(renewed.cert)) as server:
        result = add(
            run, pin_file, "--ca-file", str(ca_pem), "--connect-to", server.address, address
        )
    assert result.exit_code == 0, result.stderr
    assert [line[:2] for line in result.stdout.splitlines()] == ["~ ", "+ ", "+ "]
    host = load(pin_file).find_host("127.0.0.1", port)
    assert host is not None
    assert [p.pin for p in host.pins] == [
        site.leaf,
        site.intermediate,
        renewed.leaf,
        renewed.intermediate,
    ]
    assert host.connect_to == server.address


def test_recorded_ca_file_is_used_next_time(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """A host's recorded ca_file (or [defaults] ca_file) validates later adds without --ca-file."""
    pin_file = tmp_path / "pins.toml"
    assert add(run, pin_file, "--ca-file", str(ca_pem), "--level", "leaf", address).exit_code == 0
    again = add(run, pin_file, address)
    assert again.exit_code == 0, again.stderr
    assert (
        again.stdout
        == f"+ {address} {site.intermediate} (intermediate, {again.stdout.split(', ', 1)[1]}"
    )
    other = tmp_path / "other.toml"
    other.write_text('version = 1\n[defaults]\nca_file = "ca.pem"\n')
    assert add(run, other, address).exit_code == 0
    assert "ca_file" not in other.read_text().split("[[hosts]]")[1]


def test_dry_run_writes_nothing(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """--dry-run prints what would be added and creates no file."""
    pin_file = tmp_path / "pins.toml"
    result = add(run, pin_file, "--dry-run", "--ca-file", str(ca_pem), address)
    assert result.exit_code == 0
    assert f"+ {address} {site.leaf} (leaf" in result.stdout
    assert result.stderr == f"dry run: {pin_file} was not written\n"
    assert not pin_file.exists()


def test_untrusted_chain_is_refused(
    run: Run, tmp_path: Path, address: str, other_ca_pem: Path
) -> None:
    """A chain that does not validate is refused with exit 2 and a pointer to --no-verify-chain."""
    pin_file = tmp_path / "pins.toml"
    result = add(run, pin_file, "--ca-file", str(other_ca_pem), address)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert re.fullmatch(
        rf"pinctl: error: {re.escape(address)}: refusing to pin a chain that fails validation "
        r"\(.+\); .*--no-verify-chain \(recorded as verify_chain = false\)\n",
        result.stderr,
    )
    assert not pin_file.exists()


@pytest.mark.parametrize("store", ["system", "SSL_CERT_FILE"])
def test_without_any_ca_file_add_trusts_the_system_store(
    run: Run,
    tmp_path: Path,
    site: Site,
    address: str,
    ca_pem: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With neither --ca-file nor a recorded ca_file, a host of a pin file that has one is
    judged against the system store, as openssl and curl judge it: a private CA is refused,
    and trusted once SSL_CERT_FILE names it."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    if store == "SSL_CERT_FILE":
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    pin_file = tmp_path / "pins.toml"
    pin_file.write_text('version = 1\n\n[[hosts]]\nhost = "other.test"\npins = []\n')
    result = add(run, pin_file, "--level", "leaf", address)
    if store == "system":
        assert result.exit_code == 2
        assert "refusing to pin a chain that fails validation" in result.stderr
        assert "trust its CA with --ca-file" in result.stderr
    else:
        assert result.exit_code == 0, result.stderr
        assert str(site.leaf) in pin_file.read_text()


def test_name_mismatch_is_refused(run: Run, tmp_path: Path, address: str, ca_pem: Path) -> None:
    """A trusted chain for another name is refused as well."""
    result = add(
        run, tmp_path / "p.toml", "--ca-file", str(ca_pem), "--servername", "other.test", address
    )
    assert result.exit_code == 2
    assert "refusing to pin" in result.stderr
    assert result.stderr.count("\n") == 1


def test_no_verify_chain_records_it(
    run: Run, tmp_path: Path, site: Site, address: str, other_ca_pem: Path
) -> None:
    """--no-verify-chain pins the served chain and records verify_chain = false."""
    pin_file = tmp_path / "pins.toml"
    result = add(run, pin_file, "--no-verify-chain", "--ca-file", str(other_ca_pem), address)
    assert result.exit_code == 0, result.stderr
    assert f"~ {address} verify_chain = false\n" in result.stdout
    (host,) = load(pin_file).hosts
    assert host.verify_chain is False
    assert [p.pin for p in host.pins] == [site.leaf, site.intermediate]
    assert "verify_chain = false\n" in pin_file.read_text()


def test_level_root_pins_the_trust_anchor(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """--level root pins the anchor validation reached, which the server never sent."""
    pin_file = tmp_path / "pins.toml"
    result = add(run, pin_file, "--ca-file", str(ca_pem), "--level", "root", address)
    assert result.exit_code == 0, result.stderr
    (host,) = load(pin_file).hosts
    assert [(p.pin, p.level) for p in host.pins] == [(site.root, "root")]
    assert site.root not in (site.leaf, site.intermediate)


def test_a_level_the_chain_lacks_is_refused(
    run: Run, tmp_path: Path, address: str, other_ca_pem: Path
) -> None:
    """Unvalidated, a chain has no root unless one is served: --level root is refused, exit 2."""
    pin_file = tmp_path / "pins.toml"
    args = ["--no-verify-chain", "--ca-file", str(other_ca_pem), "--level", "root", address]
    result = add(run, pin_file, *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert "the served chain has no root certificate to pin" in result.stderr
    assert not pin_file.exists()


def test_expires_and_note(run: Run, tmp_path: Path, address: str, ca_pem: Path) -> None:
    """--expires DAYS and --note are recorded on every new pin."""
    pin_file = tmp_path / "pins.toml"
    args = [
        "--ca-file",
        str(ca_pem),
        "--level",
        "leaf",
        "--expires",
        "30",
        "--note",
        "api key 2025",
    ]
    result = add(run, pin_file, *args, address)
    assert result.exit_code == 0, result.stderr
    (pin,) = load(pin_file).hosts[0].pins
    assert (pin.note, pin.expires) == ("api key 2025", TODAY + timedelta(days=30))
    assert (
        f"(leaf, api key 2025, expires {(TODAY + timedelta(days=30)).isoformat()})" in result.stdout
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [("soon", "give a number of days (90) or a date"), ("2001-01-01", "is in the past")],
)
def test_bad_expires_is_a_usage_error(run: Run, tmp_path: Path, value: str, message: str) -> None:
    """A bad --expires is refused before anything is contacted."""
    result = add(run, tmp_path / "p.toml", "--expires", value, f"127.0.0.1:{closed_port()}")
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr
    assert result.stderr.startswith("pinctl: error: --expires")


def test_unreachable_target_exits_3_and_the_others_are_added(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """A target that cannot be reached exits 3; the reachable ones are still pinned."""
    pin_file = tmp_path / "pins.toml"
    dead = f"127.0.0.1:{closed_port()}"
    result = add(run, pin_file, "--ca-file", str(ca_pem), dead, address)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"pinctl: error: {dead}: ")
    assert [h.label for h in load(pin_file).hosts] == [address]


# --- list and remove ---------------------------------------------------------------------


@pytest.fixture
def commented(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED.replace('note = "k1" }', 'note = "k1", expires = 2000-01-01 }'))
    return path


def test_list_table(run: Run, commented: Path) -> None:
    """list prints one aligned row per pin with level, kind, backup flag, expiry and note."""
    result = run(["list", "--pin-file", str(commented)])
    assert result.exit_code == 0
    assert result.stderr == ""
    header, first, second, third = result.stdout.splitlines()
    assert header.split() == ["HOST", "LEVEL", "KIND", "BACKUP", "EXPIRES", "DAYS", "PIN", "NOTE"]
    assert first.split() == [
        "api.example.com:443",
        "leaf",
        "spki",
        "no",
        "2000-01-01",
        "expired",
        LEAF,
        "k1",
    ]
    assert second.split()[:6] == ["api.example.com:443", "intermediate", "spki", "no", "-", "-"]
    assert third.split() == ["pay.example.com:8443", "leaf", "spki", "no", "-", "-", PAY]
    assert first.index(LEAF) == header.index("PIN")


def test_list_json(run: Run, commented: Path) -> None:
    """list -o json is one document with every host and pin, days to expiry included."""
    result = run(["list", "--pin-file", str(commented), "-o", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    api = document["hosts"][0]
    assert (api["host"], api["port"], api["line"], api["verify_chain"]) == (
        "api.example.com",
        443,
        9,
        True,
    )
    first = api["pins"][0]
    assert first["pin"] == LEAF
    assert first["expired"] is True
    assert first["line"] == 13
    assert first["days_left"] == (datetime(2000, 1, 1).date() - TODAY).days
    assert document["hosts"][1]["pins"][0]["days_left"] is None


def test_list_without_a_pin_file(run: Run, tmp_path: Path) -> None:
    """list with no pin file exits 2 and says how to make one."""
    result = run(["list", "--pin-file", str(tmp_path / "none.toml")])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith("; create one with `pinctl add HOST`\n")


def test_pin_file_from_environment(run: Run, commented: Path) -> None:
    """$PINCTL_PIN_FILE locates the pin file when --pin-file is not given."""
    result = run(["list", "-o", "json"], env={"PINCTL_PIN_FILE": str(commented)})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["pin_file"] == str(commented)


@pytest.mark.parametrize(
    ("name", "text", "line", "words"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_exit_2_with_one_line(
    run: Run, tmp_path: Path, name: str, text: str, line: int, words: str
) -> None:
    """Every malformed pin file makes list exit 2 with a one-line error naming file and line."""
    path = tmp_path / "pins.toml"
    path.write_text(text)
    result = run(["list", "--pin-file", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"pinctl: error: {path}:{line}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_remove_a_pin(run: Run, commented: Path) -> None:
    """remove --pin deletes that pin's line and prints it."""
    result = run(["remove", "--pin-file", str(commented), "api.example.com", "--pin", LEAF])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"- api.example.com:443 {LEAF} (leaf, k1, expires 2000-01-01)")
    assert LEAF not in commented.read_text()


def test_remove_a_host_with_its_port(run: Run, commented: Path) -> None:
    """remove HOST:PORT deletes the host; a dry run first leaves the file alone."""
    before = commented.read_text()
    dry = run(["remove", "--pin-file", str(commented), "--dry-run", "pay.example.com:8443"])
    assert dry.exit_code == 0
    assert commented.read_text() == before
    assert dry.stdout.endswith("- pay.example.com:8443 (the whole host)\n")
    result = run(["remove", "--pin-file", str(commented), "pay.example.com:8443"])
    assert result.exit_code == 0
    assert [h.label for h in load(commented).hosts] == ["api.example.com:443"]


def test_removing_the_last_pin_warns(run: Run, commented: Path) -> None:
    """Removing a host's only pin leaves it empty and warns that verify will fail it."""
    result = run(["remove", "--pin-file", str(commented), "pay.example.com", "--pin", PAY])
    assert result.exit_code == 0
    assert "pinctl: warning: pay.example.com:8443 has no pins left" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.example.com"], "host 'nope.example.com' is not in"),
        (["api.example.com", "--pin", "sha256/abc="], "pin 'sha256/abc=' has 2 bytes"),
        (["api.example.com", "--pin", str(compute(b"x"))], "is not pinned for api.example.com:443"),
        (["api.example.com:443", "--port", "8443"], "says port 443 but --port says 8443"),
    ],
)
def test_remove_errors(run: Run, commented: Path, args: list[str], message: str) -> None:
    """remove of something that is not there, or a bad pin, exits 2 naming it; nothing changes."""
    before = commented.read_text()
    result = run(["remove", "--pin-file", str(commented), *args])
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert commented.read_text() == before


@pytest.mark.parametrize("name", ["add", "remove", "list"])
def test_help_has_examples(run: Run, name: str) -> None:
    """Each command's help has a summary and an Examples block."""
    result = run([name, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"pinctl {name}" in result.stdout


def test_terminal_table_never_cuts_a_pin(commented: Path) -> None:
    """On a narrow terminal the rich table widens rather than truncating a pin or a host."""
    import io
    from datetime import date

    from pinctl.output.pinfile import render_table
    from pinctl.output.terminal import Sink
    from pinctl.pinfile.model import Listing

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    render_table(Listing(load(commented), date(2026, 1, 1)), Sink(out, Terminal()))
    assert LEAF in out.getvalue()
    assert "pay.example.com:8443" in out.getvalue()
    assert "…" not in out.getvalue()


# --- pins written as [[hosts.pins]] tables -----------------------------------------------


def _tables(path: Path, host: str, *pins: Pin | str, extra: str = "") -> Path:
    sections = "".join(f'\n[[hosts.pins]]\npin = "{p}"\nlevel = "leaf"\n' for p in pins)
    path.write_text(f'version = 1\n\n[[hosts]]\nhost = "{host}"\n{extra}{sections}')
    return path


def test_add_to_pins_written_as_tables(
    run: Run, tmp_path: Path, site: Site, address: str, ca_pem: Path
) -> None:
    """add appends [[hosts.pins]] tables to a host that writes its pins that way."""
    name, port = address.split(":")
    pin_file = _tables(tmp_path / "pins.toml", name, site.leaf, extra=f"port = {port}\n")
    result = add(run, pin_file, "--ca-file", str(ca_pem), address)
    assert result.exit_code == 0, result.stderr
    assert sorted(line[:2] for line in result.stdout.splitlines()) == ["+ ", "= ", "~ "]
    assert pin_file.read_text().count("[[hosts.pins]]") == 2
    (host,) = load(pin_file).hosts
    assert [p.pin for p in host.pins] == [site.leaf, site.intermediate]


def test_remove_a_pin_written_as_a_table(run: Run, tmp_path: Path) -> None:
    """remove --pin deletes a [[hosts.pins]] table, the host's only one included."""
    pin_file = _tables(tmp_path / "pins.toml", "a.example", LEAF, PAY)
    result = run(["remove", "--pin-file", str(pin_file), "a.example", "--pin", LEAF])
    assert (result.exit_code, result.stderr) == (0, f"updated {pin_file}: 1 pin removed\n")
    assert [str(p.pin) for p in load(pin_file).hosts[0].pins] == [PAY]
    result = run(["remove", "--pin-file", str(pin_file), "a.example", "--pin", PAY])
    assert result.exit_code == 0
    assert "has no pins left" in result.stderr
    assert pin_file.read_text() == 'version = 1\n\n[[hosts]]\nhost = "a.example"\n'


def test_backup_keygen_adds_to_pins_written_as_tables(run: Run, tmp_path: Path) -> None:
    """backup-keygen --host adds its backup pins as [[hosts.pins]] tables too."""
    pin_file = _tables(tmp_path / "pins.toml", "a.example", LEAF)
    result = run(
        [
            "backup-keygen",
            "--no-encrypt",
            "--count",
            "1",
            "--out-dir",
            str(tmp_path),
            "--host",
            "a.example",
            "--pin-file",
            str(pin_file),
            "-o",
            "pins",
        ]
    )
    assert result.exit_code == 0, result.stderr
    backup = Pin.parse(result.stdout.strip())
    (host,) = load(pin_file).hosts
    assert [(p.pin, p.backup) for p in host.pins] == [(Pin.parse(LEAF), False), (backup, True)]
    assert pin_file.read_text().count("[[hosts.pins]]") == 2


def test_an_edit_pinctl_cannot_make_exits_2_and_keeps_the_file(run: Run, tmp_path: Path) -> None:
    """An edit that would change more than asked is refused in one line; the file is kept."""
    pin_file = tmp_path / "pins.toml"
    text = (
        f'version = 1\n[[hosts]]\nhost = "a.example"\n[[hosts.pins]]\npin = "{LEAF}"\n'
        f'[defaults]\nwarn_days = 3\n[[hosts.pins]]\npin = "{PAY}"\n'
    )
    pin_file.write_text(text)
    result = run(["remove", "--pin-file", str(pin_file), "a.example"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"pinctl: error: {pin_file}:2: pinctl could not edit")
    assert result.stderr.count("\n") == 1
    assert pin_file.read_text() == text


# --- pin files nested past the parser's depth --------------------------------------------


def test_a_deeply_nested_file_is_a_one_line_error(run: Run, tmp_path: Path) -> None:
    """A pin file nested thousands deep exits 2 naming the file, not with an internal error."""
    pin_file = tmp_path / "pins.toml"
    pin_file.write_text("version = 1\nx = " + "[" * 6000 + "]" * 6000 + "\n")
    result = run(["list", "--pin-file", str(pin_file)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"pinctl: error: {pin_file}:2: ")
    assert result.stderr.count("\n") == 1


def test_host_completion_completes_nothing_from_a_deeply_nested_file(tmp_path: Path) -> None:
    """TAB completion of hosts returns nothing for a file too deep to parse, and never raises."""
    import click

    from pinctl.cli import cli

    pin_file = tmp_path / "pins.toml"
    ctx = click.Context(cli)
    ctx.params["pin_file"] = str(pin_file)
    param = click.Argument(["hosts"])
    pin_file.write_text('version = 1\n[[hosts]]\nhost = "a.example"\n')
    assert complete_hosts(ctx, param, "") == ["a.example"]
    pin_file.write_text("version = 1\nx = " + "[" * 6000 + "]" * 6000 + "\n")
    assert complete_hosts(ctx, param, "") == []


def test_add_of_several_targets_reads_and_writes_the_pin_file_once(
    run: Run, tmp_path: Path, site: Site, ca_pem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`add A B C` opens the pin file once and replaces it once, with all three hosts in it."""
    import os

    from pinctl import files

    pin_file = tmp_path / "pins.toml"
    pin_file.write_text(COMMENTED)
    real_open, opened = os.open, []

    def counting_open(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> int:
        if str(path) == str(pin_file):
            opened.append(path)
        return real_open(path, *args, **kwargs)

    writes: list[object] = []

    def counting_write(*args: Any, **kwargs: Any) -> None:
        writes.append(args)
        files.write_atomic(*args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr("pinctl.pinfile.edit.write_atomic", counting_write)
    context = server_context(site.cert)
    with tls_server(context) as a, tls_server(context) as b, tls_server(context) as c:
        addresses = [a.address, b.address, c.address]
        result = add(run, pin_file, "--ca-file", str(ca_pem), *addresses)
    assert result.exit_code == 0, result.stderr
    assert len(opened) == 1
    assert len(writes) == 1
    hosts = load(pin_file).hosts
    assert [h.label for h in hosts[2:]] == addresses
    assert pin_file.read_text().startswith(COMMENTED.split("# the end")[0])


def test_add_of_several_targets_writes_nothing_when_one_is_refused(
    run: Run, tmp_path: Path, address: str, ca_pem: Path
) -> None:
    """Failing twin: with one untrusted chain among the targets, the file is not written."""
    pin_file = tmp_path / "pins.toml"
    pin_file.write_text(COMMENTED)
    other = Site(trustme.CA())
    with tls_server(server_context(other.cert)) as untrusted:
        result = add(run, pin_file, "--ca-file", str(ca_pem), address, untrusted.address)
    assert result.exit_code == 2
    assert "refusing to pin a chain that fails validation" in result.stderr
    assert pin_file.read_text() == COMMENTED
