"""What verify's text report and JUnit file say, judged offline on saved chains (--chain):
the wording a person on call reads, once and to the point."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import trustme

from tests.support.cli import Run
from tests.support.hosts import certs, spki

OTHER = "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="


class Saved:
    """A saved chain for api.test, its CA, and a pin file for it."""

    def __init__(self, tmp_path: Path) -> None:
        ca = trustme.CA()
        leaf = ca.issue_cert("api.test")
        self.dir = tmp_path
        self.ca = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca))
        self.chain = tmp_path / "chain.pem"
        self.chain.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        self.leaf_pin = str(spki(certs(leaf.cert_chain_pems)[0]))
        self.pins = tmp_path / "pins.toml"

    def write(self, *pin_lines: str) -> Path:
        body = ",\n".join(f"  {line}" for line in pin_lines)
        self.pins.write_text(
            f'version = 1\n\n[defaults]\nca_file = "{self.ca}"\n\n'
            f'[[hosts]]\nhost = "api.test"\npins = [\n{body},\n]\n'
        )
        return self.pins

    def verify(self, run: Run, *args: str) -> tuple[int, str]:
        result = run(["verify", "--pin-file", str(self.pins), "--chain", str(self.chain), *args])
        return result.exit_code, result.stdout


@pytest.fixture
def saved(tmp_path: Path) -> Saved:
    return Saved(tmp_path)


NO_BACKUP = "no backup pin (a backup = true pin that matches nothing in the current chain)"


def test_a_strict_failure_names_the_warning_once(run: Run, saved: Saved) -> None:
    """Under --strict a host failed by a warning reads `FAIL host  strict: <warning>`, once."""
    saved.write(f'{{ pin = "{saved.leaf_pin}" }}')
    code, out = saved.verify(run, "--strict")
    assert code == 1
    assert out.splitlines()[0] == f"FAIL  api.test:443  strict: {NO_BACKUP}"
    assert out.count(NO_BACKUP) == 1
    assert "pass:" not in out
    assert "warning(s)" not in out


def test_without_strict_the_warning_stays_a_warning(run: Run, saved: Saved) -> None:
    """The twin: without --strict the host passes and the same text is a warning line."""
    saved.write(f'{{ pin = "{saved.leaf_pin}" }}')
    code, out = saved.verify(run)
    assert code == 0
    assert f"      warning: {NO_BACKUP}" in out.splitlines()
    assert "strict:" not in out


def test_junit_says_strict_once(run: Run, saved: Saved) -> None:
    """The JUnit failure message of a --strict failure is `strict: <warning>`."""
    saved.write(f'{{ pin = "{saved.leaf_pin}" }}')
    report = saved.dir / "report.xml"
    code, _ = saved.verify(run, "--strict", "--junit-xml", str(report))
    assert code == 1
    failure = ET.parse(report).find(".//failure")  # noqa: S314 — pinctl's own report
    assert failure is not None
    assert failure.get("message") == f"strict: {NO_BACKUP}"
    assert failure.get("type") == "strict"


def test_a_mismatch_by_an_expired_pin_says_so(run: Run, saved: Saved) -> None:
    """When the only pin that matches has expired, the report names its line and date."""
    saved.write(f'{{ pin = "{saved.leaf_pin}", expires = 2020-11-01 }}', f'{{ pin = "{OTHER}" }}')
    code, out = saved.verify(run)
    assert code == 1
    assert out.splitlines()[0] == (
        "FAIL  api.test:443  pin-mismatch: the only matching pin (line 9) expired on 2020-11-01"
    )


def test_a_mismatch_with_no_matching_pin_says_none_matches(run: Run, saved: Saved) -> None:
    """The twin: an expired pin that matches nothing is not blamed; no pin matches."""
    saved.write(f'{{ pin = "{OTHER}", expires = 2020-11-01 }}')
    code, out = saved.verify(run)
    assert code == 1
    assert out.splitlines()[0] == "FAIL  api.test:443  pin-mismatch: no pin matches the chain"


def test_a_bad_ca_file_in_the_pin_file_names_the_file_line_and_key(run: Run, saved: Saved) -> None:
    """A host's ca_file that does not exist is reported as pins.toml:LINE: ca_file, exit 2,
    not as a --ca-file the user never gave."""
    saved.pins.write_text(
        'version = 1\n\n[[hosts]]\nhost = "api.test"\nca_file = "certs/missing.pem"\n'
        f'pins = [{{ pin = "{saved.leaf_pin}" }}]\n'
    )
    result = run(["verify", "--pin-file", str(saved.pins), "--chain", str(saved.chain)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"pinctl: error: {saved.pins}:5: cannot read ca_file {saved.dir}/certs/missing.pem: "
        "No such file or directory; fix the path or the file\n"
    )


def test_a_defaults_ca_file_that_holds_no_roots_names_its_line(run: Run, saved: Saved) -> None:
    """[defaults] ca_file naming a file with no certificates is named by its own line."""
    (saved.dir / "empty.pem").write_text("not a certificate\n")
    saved.pins.write_text(
        'version = 1\n[defaults]\nwarn_days = 30\nca_file = "empty.pem"\n\n'
        f'[[hosts]]\nhost = "api.test"\npins = [{{ pin = "{saved.leaf_pin}" }}]\n'
    )
    result = run(["verify", "--pin-file", str(saved.pins), "--chain", str(saved.chain)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"pinctl: error: {saved.pins}:4: ca_file {saved.dir}/empty.pem")


def test_a_bad_ca_file_option_is_still_named_as_the_option(run: Run, saved: Saved) -> None:
    """The twin: --ca-file given on the command line is named as --ca-file."""
    saved.write(f'{{ pin = "{saved.leaf_pin}" }}')
    missing = saved.dir / "nope.pem"
    result = run(
        [
            "verify",
            "--pin-file",
            str(saved.pins),
            "--chain",
            str(saved.chain),
            "--ca-file",
            str(missing),
        ]
    )
    assert result.exit_code == 2
    assert "--ca-file" in result.stderr
    assert str(saved.pins) not in result.stderr


class TestQuiet:
    """`verify --quiet`: a CI log of many passing hosts shows only what needs a look."""

    def _two_hosts(self, saved: Saved, second_pins: str) -> Path:
        saved.pins.write_text(
            f'version = 1\n[defaults]\nca_file = "{saved.ca}"\n'
            f'[[hosts]]\nhost = "api.test"\n'
            f'pins = [{{ pin = "{saved.leaf_pin}" }}, {{ pin = "{OTHER}", backup = true }}]\n'
            f'[[hosts]]\nhost = "api.test"\nport = 8443\npins = [{second_pins}]\n'
        )
        return saved.pins

    def _run(self, run: Run, saved: Saved, *args: str) -> tuple[int, str]:
        result = run(
            ["verify", "--pin-file", str(saved.pins), "--chain", str(saved.chain), "api.test",
             "api.test:8443", *args]
        )  # fmt: skip
        return result.exit_code, result.stdout

    def test_quiet_leaves_out_clean_passes(self, run: Run, saved: Saved) -> None:
        """A clean pass disappears; a failure and the summary stay."""
        self._two_hosts(saved, f'{{ pin = "{OTHER}" }}')
        code, out = self._run(run, saved, "--quiet")
        assert code == 1
        assert out.splitlines() == [
            "FAIL  api.test:8443  pin-mismatch: no pin matches the chain",
            *out.splitlines()[1:-1],
            "2 hosts: 1 passed, 1 failed, 0 could not be checked",
        ]
        assert "ok    api.test:443" not in out

    def test_quiet_keeps_a_pass_with_a_warning(self, run: Run, saved: Saved) -> None:
        """A pass with a warning stays, with its warning."""
        self._two_hosts(saved, f'{{ pin = "{saved.leaf_pin}" }}')
        code, out = self._run(run, saved, "-q")
        assert code == 0
        assert out.splitlines()[0].startswith("ok    api.test:8443")
        assert f"      warning: {NO_BACKUP}" in out
        assert "api.test:443 " not in out

    def test_without_quiet_every_host_is_listed(self, run: Run, saved: Saved) -> None:
        """The twin: without --quiet the clean pass has its line."""
        self._two_hosts(saved, f'{{ pin = "{OTHER}" }}')
        _, out = self._run(run, saved)
        assert out.splitlines()[0].startswith("ok    api.test:443")


def _terminal(argv: list[str], columns: int) -> list[str]:
    """The lines `python -m pinctl ARGV` shows on a terminal `columns` wide (rich reads
    COLUMNS), colours removed."""
    import os
    import re
    import sys

    from tests.support.pty import watch_on_pty

    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    screen, code = watch_on_pty([sys.executable, "-m", "pinctl", *argv], b"", env=env)
    assert code in (0, 1), screen
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode()).replace("\r", "")
    return text.splitlines()


class TestNarrowTerminals:
    """At 80 columns no verify or list line wraps in the middle of a pin."""

    def _long_hosts(self, saved: Saved) -> None:
        saved.pins.write_text(
            f'version = 1\n[defaults]\nca_file = "{saved.ca}"\n'
            '[[hosts]]\nhost = "api.test"\n'
            f'pins = [{{ pin = "{saved.leaf_pin}", note = "the leaf key of 2026" }},\n'
            f'  {{ pin = "{OTHER}", backup = true, note = "keys/backup-1.key.pem" }}]\n'
            '[[hosts]]\nhost = "api.test"\nport = 8443\n'
            f'pins = [{{ pin = "{saved.leaf_pin}" }}, {{ pin = "{OTHER}", backup = true }}]\n'
        )

    def test_verify_puts_the_pin_on_its_own_line(self, saved: Saved) -> None:
        """A passing host's matched pin goes on the next line, whole; hosts are padded."""
        self._long_hosts(saved)
        args = ["verify", "--pin-file", str(saved.pins), "--chain", str(saved.chain),
                "api.test", "api.test:8443"]  # fmt: skip
        lines = _terminal(args, 80)
        assert all(len(line) <= 80 for line in lines)
        assert f"      matched {saved.leaf_pin} (leaf)" in lines
        assert "ok    api.test:443" in lines
        assert "ok    api.test:8443" in lines

    def test_verify_on_a_wide_terminal_keeps_one_line(self, saved: Saved) -> None:
        """The twin: at 160 columns the pin stays on the host's line (after the padded name)."""
        self._long_hosts(saved)
        args = ["verify", "--pin-file", str(saved.pins), "--chain", str(saved.chain), "api.test"]
        lines = _terminal(args, 160)
        assert f"ok    api.test:443   matched {saved.leaf_pin} (leaf)" in lines
        assert f"ok    api.test:8443  matched {saved.leaf_pin} (leaf)" in lines

    def test_list_puts_each_pin_on_its_own_line(self, saved: Saved) -> None:
        """`list` at 80 columns: the other columns aligned, each pin whole below its row."""
        self._long_hosts(saved)
        lines = _terminal(["list", "--pin-file", str(saved.pins)], 80)
        assert all(len(line) <= 80 for line in lines)
        assert lines.count(f"  {saved.leaf_pin}") == 2
        assert lines.count(f"  {OTHER}") == 2
        assert lines[0].split() == ["HOST", "LEVEL", "KIND", "BACKUP", "EXPIRES", "DAYS", "NOTE"]

    def test_list_on_a_wide_terminal_is_one_row_per_pin(self, saved: Saved) -> None:
        """The twin: at 200 columns each pin stays in its row."""
        self._long_hosts(saved)
        lines = _terminal(["list", "--pin-file", str(saved.pins)], 200)
        assert any(line.startswith("api.test:443") and saved.leaf_pin in line for line in lines)
