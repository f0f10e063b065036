"""Retired pins (SPEC.md section 6) are kept on record and never exported to a client."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pinctl.errors import InputError
from pinctl.exports import EXPORTERS, ExportOptions
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pki.pins import compute

LIVE, LEAKED, SPARE = (compute(x) for x in (b"live", b"leaked", b"spare"))
OPTIONS = ExportOptions(today=date(2026, 12, 3))


def pins(*entries: PinEntry) -> PinFile:
    return PinFile(Path("pins.toml"), hosts=(HostEntry("api.example.com", pins=entries),))


@pytest.mark.parametrize("fmt", ["okhttp-kotlin", "android", "ios", "trustkit", "hpkp"])
def test_client_formats_leave_retired_pins_out(fmt: str) -> None:
    """The leaked key's pin appears nowhere in a client's export; a warning names it.
    Its twin, the same pin not retired, is exported."""
    retired = pins(PinEntry(LIVE), PinEntry(LEAKED, retired=True), PinEntry(SPARE, backup=True))
    done = EXPORTERS[fmt](retired, (), OPTIONS)  # type: ignore[index]
    body = str(LEAKED).removeprefix("sha256/")
    assert body not in done.text
    assert any("retired" in w and str(LEAKED) in w for w in done.warnings)
    twin = EXPORTERS[fmt](pins(PinEntry(LIVE), PinEntry(LEAKED)), (), OPTIONS)  # type: ignore[index]
    assert body in twin.text


def test_a_host_with_only_retired_pins_is_an_error() -> None:
    """Exporting nothing would leave the host unpinned in the app: refused instead."""
    with pytest.raises(InputError, match="retired"):
        EXPORTERS["okhttp-kotlin"](pins(PinEntry(LEAKED, retired=True)), (), OPTIONS)


def test_json_keeps_the_record() -> None:
    """`--format json` is the pin file as data: the retired pin is there, flagged."""
    done = EXPORTERS["json"](pins(PinEntry(LIVE), PinEntry(LEAKED, retired=True)), (), OPTIONS)
    listed = json.loads(done.text)["hosts"][0]["pins"]
    assert [p["retired"] for p in listed] == [False, True]
