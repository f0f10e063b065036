"""What an export tells the app developer the pins alone do not do: trust a private CA (or
a key-alone host), and pin an IP address on platforms that pin domain names only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pinctl.errors import InputError
from pinctl.exports import EXPORTERS, ExportOptions, Format
from pinctl.exports.clients import Apps
from pinctl.exports.verdicts import Served
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pki.pins import compute
from tests.support.judges import check_android, check_ios

A, B = compute(b"key a"), compute(b"key b")
PINS = (PinEntry(A), PinEntry(B, backup=True))
BASE = Path("/repo")
APP_FORMATS: list[Format] = ["okhttp-kotlin", "okhttp-java", "android", "ios", "trustkit", "curl"]

TODAY = date(2026, 6, 1)


def pin_file(*hosts: HostEntry, ca: Path | None = None) -> PinFile:
    return PinFile(BASE / "pins.toml", defaults=Defaults(ca_file=ca), hosts=hosts)


def export(fmt: Format, pins: PinFile) -> tuple[str, tuple[str, ...]]:
    done = EXPORTERS[fmt](pins, (), ExportOptions(TODAY))
    return done.text, done.warnings


@pytest.mark.parametrize("fmt", APP_FORMATS)
def test_a_private_ca_host_warns_that_the_app_must_trust_it(fmt: Format) -> None:
    """Pins narrow trust, never add it: every app format says the app must trust ca_file."""
    pins = pin_file(HostEntry("api.example.com", pins=PINS), ca=BASE / "certs/internal-root.pem")
    _, warnings = export(fmt, pins)
    [warning] = [w for w in warnings if "ca_file" in w]
    assert warning.startswith(
        "api.example.com: is trusted through ca_file certs/internal-root.pem (a private CA), "
        "which the app does not trust, so it refuses the server before any pin counts; "
    )


@pytest.mark.parametrize("fmt", APP_FORMATS)
def test_a_key_alone_host_warns_too(fmt: Format) -> None:
    """verify_chain = false: the chain does not validate, so the app must trust it itself."""
    pins = pin_file(HostEntry("api.example.com", verify_chain=False, pins=PINS))
    _, warnings = export(fmt, pins)
    assert any("pinned by key alone (verify_chain = false)" in w for w in warnings)


@pytest.mark.parametrize("fmt", APP_FORMATS)
def test_a_public_host_has_no_trust_warning(fmt: Format) -> None:
    """Failing twin: a host trusted through the system roots gets no such warning."""
    _, warnings = export(fmt, pin_file(HostEntry("api.example.com", pins=PINS)))
    assert not [w for w in warnings if "ca_file" in w or "verify_chain" in w]


def test_android_names_the_private_ca_in_a_trust_anchors_placeholder() -> None:
    """security-config "Configure a custom CA": a domain-config's <trust-anchors> holds the
    CA as <certificates src="@raw/..."/>; pinctl writes it for the user to fill in."""
    pins = pin_file(HostEntry("api.example.com", pins=PINS), ca=BASE / "certs/Internal-Root.pem")
    text, _ = export("android", pins)
    root = check_android(text)
    [anchors] = root.findall("domain-config/trust-anchors")
    assert [c.attrib for c in anchors] == [{"src": "@raw/internal_root"}]
    assert "<!-- pinctl: placeholder: put the CA of ca_file certs/Internal-Root.pem" in text


def test_android_key_alone_host_gets_a_placeholder_for_its_certificate() -> None:
    """verify_chain = false: the placeholder names the server's own certificate."""
    pins = pin_file(HostEntry("10.0.0.5", verify_chain=False, pins=PINS))
    root = check_android(export("android", pins)[0])
    [certificates] = root.findall("domain-config/trust-anchors/certificates")
    assert certificates.get("src") == "@raw/ca_10_0_0_5_cert"


def test_android_public_host_has_no_trust_anchors() -> None:
    """Failing twin: the system roots need no <trust-anchors> (it would replace them)."""
    root = check_android(export("android", pin_file(HostEntry("api.example.com", pins=PINS)))[0])
    assert root.findall("domain-config/trust-anchors") == []


def test_ios_warns_that_an_ip_key_needs_ios_17() -> None:
    """NSExceptionDomains (whose rules NSPinnedDomains follows): IP addresses are allowed
    from iOS 17 and macOS 14; older releases take domain names only."""
    text, warnings = export("ios", pin_file(HostEntry("10.0.0.5", pins=PINS)))
    check_ios(text)
    assert any("10.0.0.5: is an IP address; before iOS 17" in w for w in warnings)
    _, named = export("ios", pin_file(HostEntry("api.example.com", pins=PINS)))
    assert not [w for w in named if "IP address" in w]


@pytest.mark.parametrize("name", ["10.0.0.5", "::1", "localhost"])
def test_trustkit_refuses_what_its_configuration_check_refuses(name: str) -> None:
    """TrustKit raises "initialized with an invalid domain" for a name without a public
    suffix; the export says so instead of an app that does not start, and the verdict is
    config-error."""
    host = HostEntry(name, pins=PINS)
    with pytest.raises(InputError, match="not a domain under a public suffix"):
        export("trustkit", pin_file(host))
    [verdict] = Apps(pin_file(host), TODAY).verdicts(host, ["trustkit"], Served((A,)), TODAY)
    assert verdict.verdict == "config-error"
    assert (verdict.reason or "").endswith("the app does not start")
