"""One reading of HOST arguments for every command: names, ports, IPv6, and the misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.errors import InputError, UsageError
from pinctl.pinfile.model import HostEntry, PinFile
from pinctl.pinfile.selection import one_host, select_hosts, split_host

FILE = PinFile(
    Path("pins.toml"),
    hosts=(HostEntry("a.test"), HostEntry("a.test", 8443), HostEntry("::1", 9443)),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.test", ("a.test", None)),
        ("a.test:8443", ("a.test", 8443)),
        ("[::1]:9443", ("::1", 9443)),
        ("[::1]", ("::1", None)),
        ("::1", ("::1", None)),
        ("a.test:1", ("a.test", 1)),
        ("[::1]:65535", ("::1", 65535)),
    ],
)
def test_split_host_reads_every_spelling(text: str, expected: tuple[str, int | None]) -> None:
    """host, host:port, [v6]:port, [v6] and a bare IPv6 address are all understood, and
    the ports at both ends of the range are ports."""
    assert split_host(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[::1", "expected [IPv6-address] or [IPv6-address]:port"),
        ("[::1]x", "unexpected 'x' after the IPv6 address"),
        ("a.test:0", "port '0' is not a number from 1 to 65535"),
        ("a.test:70000", "port '70000' is not a number from 1 to 65535"),
        ("[::1]:65536", "port '65536' is not a number from 1 to 65535"),
        ("a.test:x", "port 'x' is not a number from 1 to 65535"),
    ],
)
def test_split_host_refuses_broken_spellings(text: str, why: str) -> None:
    """An unclosed bracket, text after the bracket or a bad port is a usage error naming
    the argument and what is wrong with it."""
    with pytest.raises(UsageError) as refused:
        split_host(text)
    assert str(refused.value) == f"HOST {text!r}: {why}"


def test_a_name_without_port_selects_every_entry_of_it() -> None:
    """`verify a.test` checks both ports; `a.test:8443` only that one."""
    assert [h.port for h in select_hosts(FILE, ["a.test"])] == [443, 8443]
    assert [h.port for h in select_hosts(FILE, ["A.TEST:8443"])] == [8443]
    assert select_hosts(FILE, ["[::1]:9443"]) == (FILE.hosts[2],)


def test_an_edit_needs_exactly_one_entry() -> None:
    """remove or promote of a name on two ports asks which; with the port it is that one."""
    with pytest.raises(UsageError, match=r"for ports 443 and 8443; name one as a\.test:443"):
        one_host(FILE, "a.test")
    assert one_host(FILE, "a.test", 8443).port == 8443
    assert one_host(FILE, "::1").port == 9443


def test_an_unknown_host_lists_the_hosts_the_file_has() -> None:
    """Every command words a miss the same way, and lists what is there."""
    with pytest.raises(
        UsageError, match=r"host 'b\.test' is not in pins\.toml \(it has a\.test:443"
    ):
        select_hosts(FILE, ["b.test"])
    with pytest.raises(UsageError, match=r"host 'a\.test:444' is not in"):
        one_host(FILE, "a.test", 444)


def test_the_question_spells_the_name_as_the_file_first_does() -> None:
    """Names match whatever their case; asked which port, the message spells the name as
    its first entry in the file does."""
    mixed = PinFile(Path("pins.toml"), hosts=(HostEntry("API.test"), HostEntry("api.test", 8443)))
    with pytest.raises(UsageError) as asked:
        one_host(mixed, "api.test")
    assert str(asked.value) == (
        "API.test is in pins.toml for ports 443 and 8443; name one as API.test:443 (or with --port)"
    )


@pytest.mark.parametrize(("count", "more"), [(10, ""), (11, " and 1 more")])
def test_a_miss_lists_ten_hosts_and_counts_the_rest(count: int, more: str) -> None:
    """Ten hosts are listed whole; an eleventh is counted, never "and 0 more"."""
    hosts = tuple(HostEntry(f"h{i}.test") for i in range(count))
    listed = ", ".join(f"h{i}.test:443" for i in range(10))
    with pytest.raises(UsageError) as missed:
        select_hosts(PinFile(Path("pins.toml"), hosts=hosts), ["b.test"])
    assert f"(it has {listed}{more}); see `pinctl list`" in str(missed.value)


def test_a_port_given_twice_must_agree() -> None:
    """`remove a.test:443 --port 8443` contradicts itself."""
    with pytest.raises(UsageError, match="says port 443 but --port says 8443"):
        one_host(FILE, "a.test:443", 8443)


class TestSelection:
    def test_select_by_name_and_port(self) -> None:
        """Hosts are named as host or host:port, matched case-insensitively, in file order."""
        a, b, c = HostEntry("a.test"), HostEntry("a.test", port=8443), HostEntry("c.test")
        pin_file = PinFile(Path("pins.toml"), hosts=(a, b, c))
        assert select_hosts(pin_file, []) == (a, b, c)
        assert select_hosts(pin_file, ["c.test", "A.TEST"]) == (a, b, c)
        assert select_hosts(pin_file, ["a.test:8443"]) == (b,)

    def test_unknown_host_is_a_usage_error(self) -> None:
        """A host that is not in the pin file is refused, naming the known ones."""
        pin_file = PinFile(Path("pins.toml"), hosts=(HostEntry("a.test"),))
        with pytest.raises(
            UsageError, match=r"host 'b\.test' is not in pins\.toml \(it has a\.test:443\)"
        ):
            select_hosts(pin_file, ["b.test"])
        with pytest.raises(UsageError):
            select_hosts(pin_file, ["a.test:444"])

    def test_empty_pin_file_is_refused(self) -> None:
        """Verifying nothing must not pass: a pin file without hosts is an error."""
        with pytest.raises(InputError, match="no hosts"):
            select_hosts(PinFile(Path("pins.toml")), [])
