"""The tomlkit hook: the private names it needs exist, and it records what the user wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit
from tomlkit.parser import Parser

from pinctl.errors import PinFileError
from pinctl.pinfile import tomlkit_hook
from pinctl.pinfile.nodes import Node, parse_nodes

HOOK = "pinctl/pinfile/tomlkit_hook.py"
SPELLINGS = """\
version = 1
[[hosts]]
host = 'literal.example'
port = 0x1BB
include_subdomains = true
pins = [ { pin = "sha256/x", expires = 2026-03-01, note = "n" } ]
"""


def test_tomlkit_still_has_what_the_hook_uses() -> None:
    """tomlkit's Parser still has `_parse_value` and `_idx`; if not, the hook must be redone."""
    missing = tomlkit_hook.missing_names()
    assert missing == [], (
        f"tomlkit {tomlkit.__version__} no longer has Parser.{missing}: {HOOK} must be "
        "rewritten for it, or pyproject.toml's tomlkit bound lowered"
    )


def test_recorded_spans_are_the_text_the_user_wrote() -> None:
    """Each value's span cuts out exactly its spelling (hex, literal strings, dates)."""
    root = parse_nodes(SPELLINGS, Path("pins.toml"))
    (host,) = root.value["hosts"].value
    (pin,) = host.value["pins"].value

    def cut(node: Node) -> str:
        span = node.span
        assert span is not None, f"{HOOK} recorded no span: has tomlkit's parser changed?"
        return SPELLINGS[span.start : span.end]

    spelled = {
        "host": cut(host.value["host"]),
        "port": cut(host.value["port"]),
        "include_subdomains": cut(host.value["include_subdomains"]),
        "expires": cut(pin.value["expires"]),
    }
    assert spelled == {
        "host": "'literal.example'",
        "port": "0x1BB",
        "include_subdomains": "true",
        "expires": "2026-03-01",
    }, f"{HOOK} records spans that are not the user's text: has tomlkit's parser changed?"
    assert cut(host.value["pins"]).startswith("[ {")
    assert cut(host.value["pins"]).endswith("} ]")
    assert (host.value["port"].value, host.value["port"].line) == (443, 4)


def test_a_tomlkit_without_the_hooked_names_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Failing twin: a tomlkit lacking `_parse_value` is named, with the versions to install."""
    monkeypatch.delattr(Parser, "_parse_value")
    assert tomlkit_hook.missing_names() == ["_parse_value"]
    with pytest.raises(
        PinFileError,
        match=r"lacks Parser\._parse_value, which "
        r"pinctl\.pinfile\.tomlkit_hook relies on; install .*<0\.16",
    ):
        parse_nodes(SPELLINGS, Path("pins.toml"))
