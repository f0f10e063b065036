"""`clients = [...]`: the clients verify judges for, in [defaults] or per host (SPEC.md §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.errors import PinFileError
from pinctl.pinfile.reader import loads
from pinctl.pinfile.writer import dumps
from tests.support.pinfiles import LEAF

FILE = f"""\
version = 1
[defaults]
clients = ["okhttp", "ios"]

[[hosts]]
host = "a.example"
clients = ["curl", "all"]
pins = [{{ pin = "{LEAF}" }}]

[[hosts]]
host = "b.example"
pins = [{{ pin = "{LEAF}" }}]
"""


def test_defaults_and_hosts_hold_client_lists() -> None:
    """The defaults' list, a host's own list, and None for a host that takes the defaults."""
    pins = loads(FILE)
    assert pins.defaults.clients == ("okhttp", "ios")
    assert [h.clients for h in pins.hosts] == [("curl", "all"), None]


def test_client_lists_survive_a_rewrite() -> None:
    """What the writer spells is what the reader reads back."""
    pins = loads(FILE, Path("pins.toml"))
    again = loads(dumps(pins), Path("pins.toml"))
    assert again.defaults == pins.defaults
    assert again.hosts == pins.hosts


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('["okhtp"]', "(unknown: 'okhtp')"),
        ('"ios"', "not the string 'ios'"),
        ("[1]", "(unknown: 1)"),
    ],
)
def test_a_bad_client_list_names_the_line_and_the_clients(value: str, words: str) -> None:
    """A misspelt client is refused at its line, with the names pinctl knows."""
    with pytest.raises(PinFileError) as caught:
        loads(f"version = 1\n[defaults]\nclients = {value}\n")
    message = str(caught.value)
    assert message.startswith("pins.toml:3: clients must be an array of client names")
    assert '"okhttp", "curl", "android", "ios", "trustkit", "all"' in message
    assert words in message


def test_a_good_list_is_not_refused() -> None:
    """Failing twin of the above: the same line with known names loads."""
    assert loads('version = 1\n[defaults]\nclients = ["trustkit"]\n').defaults.clients == (
        "trustkit",
    )
