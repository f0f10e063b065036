"""The editor's last line of defence: a splice that writes the wrong text is refused.

Every edit is read back and compared with what was asked before it is kept. These tests
make the splicer wrong on purpose (the one collaborator replaced, the check under test
real) and prove that each kind of wrong text is refused with the file left unchanged, and
that the same edit spliced correctly goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pinctl.errors import PinFileError
from pinctl.pinfile.edit import Transaction, transaction
from pinctl.pinfile.model import PinEntry
from pinctl.pinfile.reader import load
from pinctl.pinfile.splice import Edit, apply_edits
from pinctl.pki.pins import Pin, parse_pin
from tests.support.pinfiles import COMMENTED, INTER, LEAF, NEW, PAY

API = "api.example.com"
ADDED = PinEntry(NEW)
INTER_PIN = parse_pin(INTER)
PAY_TABLE = f'[[hosts]]\nhost = "pay.example.com"\nport = 8443\npins = [{{ pin = "{PAY}" }}]\n'


def _spoil(monkeypatch: pytest.MonkeyPatch, wrong: Callable[[str], str]) -> None:
    def spliced(text: str, edits: Sequence[Edit]) -> str:
        return wrong(apply_edits(text, edits))

    monkeypatch.setattr("pinctl.pinfile.edit.apply_edits", spliced)


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    path = tmp_path / "pins.toml"
    path.write_text(COMMENTED)
    return path


def _refused(path: Path, words: str, change: Callable[[Transaction], object]) -> None:
    with pytest.raises(PinFileError) as refused, transaction(path) as tx:
        change(tx)
    assert words in str(refused.value)
    assert "the file is unchanged" in str(refused.value)
    assert path.read_text() == COMMENTED


def test_removing_one_pin_may_not_remove_its_host(
    pins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked to drop one pin, the text lost the whole host: refused, though every pin
    asked to go is indeed gone."""
    _spoil(monkeypatch, lambda text: text.split("# Main API")[0] + "# Payments\n" + PAY_TABLE)
    _refused(pins, "did not say what was asked", lambda tx: tx.remove(API, 443, [INTER_PIN]))


def test_an_added_pin_must_be_in_the_text(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The splice returned the text unchanged: the pin that was asked for is not there."""
    _spoil(monkeypatch, lambda text: COMMENTED)
    _refused(pins, "did not say what was asked", lambda tx: tx.add_pins(API, 443, [ADDED]))


def test_an_edit_must_read_back_as_a_pin_file(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The splice left a broken table header: the text is no pin file at all, and that is
    pinctl's failure, refused as one, never blamed on the user's TOML."""
    _spoil(monkeypatch, lambda text: text + "[[hosts\n")
    _refused(pins, "the edited text would not read back", lambda tx: tx.add_pins(API, 443, [ADDED]))


def test_an_edit_may_not_touch_another_host(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pin was added, and another host's pin went with it."""
    _spoil(monkeypatch, lambda text: text.replace(PAY, INTER))
    _refused(pins, "changed other entries too", lambda tx: tx.add_pins(API, 443, [ADDED]))


def test_a_field_asked_for_must_be_set(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_chain = false was asked for; the text has the pin but not the field."""
    _spoil(monkeypatch, lambda text: text.replace("verify_chain = false", "verify_chain = true"))

    def add(tx: Transaction) -> object:
        return tx.add_pins(API, 443, [ADDED], host_fields={"verify_chain": False})

    _refused(pins, "did not set what was asked", add)


def test_the_same_edits_spliced_correctly_are_written(pins: Path) -> None:
    """The twin: with the real splicer, every one of those edits is kept."""
    with transaction(pins) as tx:
        tx.add_pins(API, 443, [ADDED], host_fields={"verify_chain": False})
        tx.remove(API, 443, [INTER_PIN])
    host = load(pins).find_host(API, 443)
    assert host is not None
    assert host.verify_chain is False
    assert [str(p.pin) for p in host.pins][-1] == str(NEW)
    assert INTER not in pins.read_text()
    assert PAY in pins.read_text()


LEAF_PIN = parse_pin(LEAF)
TWO_FLAGS: dict[Pin, dict[str, object]] = {LEAF_PIN: {"backup": True}, INTER_PIN: {"note": "ca"}}
"""Two pins of one host amended in one call: edited one after the other."""


def test_an_amended_field_must_be_in_the_text(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """promote asked for backup = true; the text came back without it."""
    _spoil(monkeypatch, lambda text: COMMENTED)
    _refused(pins, "did not say what was asked", lambda tx: tx.amend_pins(API, 443, TWO_FLAGS))


def test_an_amend_may_not_touch_another_host(pins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flags were set, and another host's pin changed with them."""
    _spoil(monkeypatch, lambda text: text.replace(PAY, str(NEW)))
    _refused(pins, "changed other entries too", lambda tx: tx.amend_pins(API, 443, TWO_FLAGS))


def _without_api(text: str) -> str:
    return text.split("# Main API")[0] + "# Payments\n" + PAY_TABLE


def test_a_host_lost_between_two_pin_edits_is_refused(
    pins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first of two pin edits lost the whole host: the second finds no host to edit,
    and nothing is written, whether the pins were being amended or removed."""
    _spoil(monkeypatch, _without_api)
    _refused(pins, "the host went missing while its pins were edited",
             lambda tx: tx.amend_pins(API, 443, TWO_FLAGS))  # fmt: skip
    _refused(pins, "the host went missing while its pins were removed",
             lambda tx: tx.remove(API, 443, [LEAF_PIN, INTER_PIN]))  # fmt: skip


def test_the_same_amends_spliced_correctly_are_written(pins: Path) -> None:
    """The twin: with the real splicer, both pins get their fields and nothing else moves."""
    with transaction(pins) as tx:
        tx.amend_pins(API, 443, TWO_FLAGS)
    host = load(pins).find_host(API, 443)
    assert host is not None
    assert [(p.backup, p.note) for p in host.pins] == [(True, "k1"), (False, "ca")]
    assert PAY in pins.read_text()
