"""Export and verdict share one source: for any pin set and chain, a client's verdict is
accept exactly when the pins its export writes (read back from the exported text) match
the chain under that client's documented rule."""

from __future__ import annotations

import base64
import plistlib
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import InputError
from pinctl.exports import EXPORTERS, ExportOptions, Format
from pinctl.exports.clients import Apps
from pinctl.exports.verdicts import Served
from pinctl.pinfile.model import CLIENTS, Client, HostEntry, PinEntry, PinFile
from pinctl.pki.pins import Pin, compute

TODAY = date(2026, 6, 1)
KEYS = [compute(f"key {n}".encode()) for n in range(6)]
FORMAT: dict[Client, Format] = {
    "okhttp": "okhttp-java",
    "curl": "curl",
    "android": "android",
    "ios": "ios",
    "trustkit": "trustkit",
}

pin_entries = st.builds(
    PinEntry,
    pin=st.sampled_from(KEYS),
    kind=st.sampled_from(["spki", "spki", "cert"]),
    level=st.sampled_from(["leaf", "intermediate", "root"]),
    backup=st.booleans(),
    expires=st.one_of(st.none(), st.integers(-3, 3).map(lambda d: TODAY + timedelta(days=d))),
)
chains = st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True)


def b64(text: str) -> Pin:
    return Pin("sha256", base64.b64decode(text))


def expected(client: Client, text: str, chain: list[Pin], at: date) -> str:
    """What the exported text makes the app do, by the client's rule, read from the text."""
    if client == "okhttp":
        pinned = {b64(m) for m in re.findall(r'\.add\("[^"]*", "sha256/([^"]+)"\)', text)}
        return "accept" if pinned & set(chain) else "reject"
    if client == "curl":
        pinned = {b64(v.removeprefix("sha256//")) for v in text.strip().split(";")}
        return "accept" if chain[0] in pinned else "reject"
    if client == "android":
        pin_set = ET.fromstring(text).find("domain-config/pin-set")  # noqa: S314  # our own text
        assert pin_set is not None
        expiration = pin_set.get("expiration")
        if expiration and at >= date.fromisoformat(expiration):
            return "accept-expired"
        pinned = {b64(p.text or "") for p in pin_set.findall("pin")}
        return "accept" if pinned & set(chain) else "reject"
    if client == "ios":
        [config] = plistlib.loads(text.encode())["NSAppTransportSecurity"][
            "NSPinnedDomains"
        ].values()
        leaf = {b64(i["SPKI-SHA256-BASE64"]) for i in config.get("NSPinnedLeafIdentities", [])}
        ca = {b64(i["SPKI-SHA256-BASE64"]) for i in config.get("NSPinnedCAIdentities", [])}
        ok = (not leaf or chain[0] in leaf) and (not ca or bool(ca & set(chain[1:])))
        return "accept" if ok else "reject"
    found = re.search(r'kTSKExpirationDate: "([0-9-]+)"', text)
    if found and at >= date.fromisoformat(found[1]):
        return "accept-expired"
    pinned = {b64(m) for m in re.findall(r'^\s+"([A-Za-z0-9+/=]{44})", //', text, re.MULTILINE)}
    return "accept" if pinned & set(chain) else "reject"


@given(
    entries=st.lists(pin_entries, max_size=5, unique_by=lambda p: (p.pin, p.kind)),
    chain=chains,
    days=st.integers(0, 5),
    subdomains=st.booleans(),
)
def test_verdict_is_accept_exactly_when_the_exported_pins_match(
    entries: list[PinEntry], chain: list[Pin], days: int, subdomains: bool
) -> None:
    """For every client: an export that cannot be made is no pin (or a refusal at launch);
    otherwise the verdict is what the exported text, read back, makes the app do."""
    host = HostEntry("api.example.com", include_subdomains=subdomains, pins=tuple(entries))
    pin_file = PinFile(Path("pins.toml"), hosts=(host,))
    at = TODAY + timedelta(days=days)
    verdicts = Apps(pin_file, TODAY).verdicts(host, CLIENTS, Served(tuple(chain)), at)
    for client, verdict in zip(CLIENTS, verdicts, strict=True):
        try:
            text = EXPORTERS[FORMAT[client]](pin_file, (), ExportOptions(TODAY)).text
        except InputError:
            assert verdict.verdict in ("not-pinned", "config-error"), (client, verdict)
            continue
        assert verdict.verdict == expected(client, text, chain, at), (client, verdict, text)
        if verdict.verdict == "accept":
            assert verdict.matched is not None
            assert verdict.matched.pin in chain
