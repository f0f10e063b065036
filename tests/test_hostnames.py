"""Host names are told from garbage once, for the pin file, targets and every export."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.errors import PinFileError, UsageError
from pinctl.hostnames import is_host_name
from pinctl.net.targets import parse_target
from pinctl.pinfile.reader import loads

GOOD = ["api.example.com", "api.example.com.", "my_host.internal", "xn--bcher-kva.example",
        "bücher.example", "127.0.0.1", "::1", "fe80::1%eth0", "a" * 63 + ".example"]  # fmt: skip
BAD = ["a\x01b.example", "evil\u202egro.example", "*.example.com", "a b.example", "",
       "-lead.example", "trail-.example", "a..b", ".dot.example", "a" * 64 + ".example",
       "api.example.com/x", "a\u200bb.example"]  # fmt: skip


@pytest.mark.parametrize("name", GOOD)
def test_real_names_and_addresses_are_host_names(name: str) -> None:
    """DNS names (IDN and underscores included) and IP literals are accepted."""
    assert is_host_name(name)


@pytest.mark.parametrize("name", BAD)
def test_control_format_and_wildcard_characters_are_not(name: str) -> None:
    """Control and format characters, `*`, spaces and malformed labels are refused."""
    assert not is_host_name(name)


@pytest.mark.parametrize("name", BAD[:4])
def test_the_pin_file_refuses_such_a_host_naming_the_line(name: str) -> None:
    """A pin file with such a host is an error at its line, before any export can see it."""
    escaped = name.encode("unicode_escape").decode("ascii")
    text = f'version = 1\n[[hosts]]\nhost = "{escaped}"\n'
    with pytest.raises(PinFileError, match=r"pins\.toml:3: host must be"):
        loads(text, Path("pins.toml"))


def test_a_good_host_loads_twin() -> None:
    """Failing twin: the same file with a real name loads."""
    text = 'version = 1\n[[hosts]]\nhost = "bücher.example"\n'
    assert loads(text, Path("pins.toml")).hosts[0].host == "bücher.example"


@pytest.mark.parametrize("name", ["*.example.com", "evil\u202egro.example"])
def test_a_target_with_such_a_host_is_a_usage_error(name: str) -> None:
    """fetch/add refuse the same names, with the same rule."""
    with pytest.raises(UsageError, match="is not a host name or IP address"):
        parse_target(name)
