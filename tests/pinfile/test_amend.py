"""Setting pin keys in place (`promote`): every layout the file may use, comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.errors import UsageError
from pinctl.pinfile.edit import transaction
from pinctl.pinfile.reader import load
from pinctl.pki.pins import parse_pin
from tests.support.pinfiles import BACKUP, LEAF, NEW

INLINE = f"""version = 1
[[hosts]]
host = "a.example"
pins = [
  {{ pin = "{LEAF}" }},  # live key
  {{ pin = "{BACKUP}", backup = true, note = "keys/b.key.pem" }},  # spare
]
"""

TABLES = f"""version = 1

[[hosts]]
host = "a.example"

  # the live key
  [[hosts.pins]]
  pin = "{LEAF}"

  [[hosts.pins]]
  pin = "{BACKUP}"
  backup = true
"""


@pytest.mark.parametrize("text", [INLINE, TABLES], ids=["inline", "tables"])
def test_promote_and_retire_in_place(tmp_path: Path, text: str) -> None:
    """backup = false and a longer note on one pin, retired = true on another; the
    comments and the rest of the file stay byte for byte."""
    path = tmp_path / "pins.toml"
    path.write_text(text)
    with transaction(path) as edit:
        change = edit.amend_pins(
            "a.example",
            None,
            {
                BACKUP: {"backup": False, "note": "promoted 2026-12-03"},
                parse_pin(LEAF): {"retired": True},
            },
        )
    assert len(change.amended) == 2
    [host] = load(path).hosts
    assert [(p.backup, p.retired, p.note) for p in host.pins] == [
        (False, True, None),
        (False, False, "promoted 2026-12-03"),
    ]
    after = path.read_text()
    comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
    assert all(f"#{comment}" in after for comment in comments)
    assert after.count("\n") == text.count("\n") + (2 if text is TABLES else 0)


def test_an_unknown_pin_is_refused(tmp_path: Path) -> None:
    """A pin the host does not have: a usage error, the file as it was."""
    path = tmp_path / "pins.toml"
    path.write_text(INLINE)
    with pytest.raises(UsageError, match="is not pinned"), transaction(path) as edit:
        edit.amend_pins("a.example", None, {NEW: {"retired": True}})
    assert path.read_text() == INLINE
