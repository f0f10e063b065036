"""`pinctl export`: every format, checked against what its client documents or does.

curl is run for real against a loopback server; Android's and Apple's documented
structures are written out as checkers in tests/support/judges.py; the OkHttp proof is in
tests/exports/test_okhttp.py, and the command's own behaviour in tests/cli/test_export.py.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
import trustme
from cryptography import x509

from pinctl.cli.export import command as export_command
from pinctl.errors import InputError, UsageError
from pinctl.exports import DEFAULT_MAX_AGE, EXPORTERS, FORMATS, Export, ExportOptions, Format
from pinctl.exports.okhttp import string_literal
from pinctl.pinfile.model import HostEntry, PinEntry, PinFile
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import Pin, compute
from tests.support.judges import check_android, check_ios
from tests.support.servers import server_context, tls_server
from tests.support.tools import needs

TODAY = date(2025, 6, 1)
OPTIONS = ExportOptions(TODAY)
A = compute(b"key a")
B = compute(b"key b")
C = compute(b"key c")


def entry(pin: Pin, **fields: Any) -> PinEntry:
    return PinEntry(pin, **fields)


def pin_file(*hosts: HostEntry) -> PinFile:
    return PinFile(Path("pins.toml"), hosts=hosts)


def host(name: str, *pins: PinEntry, **fields: Any) -> HostEntry:
    return HostEntry(name, pins=pins, **fields)


def two_pins(name: str = "api.example.com", **fields: Any) -> HostEntry:
    return host(name, entry(A, line=7), entry(B, backup=True, line=8), line=5, **fields)


def run_export(fmt: Format, pins: PinFile, *names: str, options: ExportOptions = OPTIONS) -> Export:
    return EXPORTERS[fmt](pins, names, options)


def spki_of(pem: bytes) -> Pin:
    return compute(spki_der(x509.load_pem_x509_certificate(pem).public_key()))


# -- the registry -----------------------------------------------------------------------


def test_every_format_choice_has_an_exporter() -> None:
    """`--format` offers exactly the registry's keys, so no choice can lack an exporter."""
    choice = next(p for p in export_command.params if p.name == "format_").type
    assert isinstance(choice, click.Choice)
    choices = choice.choices
    assert tuple(choices) == FORMATS
    assert set(EXPORTERS) == set(FORMATS)
    assert set(FORMATS) == {
        "okhttp-kotlin",
        "okhttp-java",
        "android",
        "ios",
        "trustkit",
        "hpkp",
        "curl",
        "json",
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_exporter_renders_a_valid_pin_file(fmt: Format) -> None:
    """Each format turns a host with a pin and a backup into text naming both pins."""
    result = run_export(fmt, pin_file(two_pins()))
    assert result.text.endswith("\n")
    assert A.base64 in result.text
    assert B.base64 in result.text
    assert all(isinstance(w, str) and "\n" not in w for w in result.warnings)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_exporter_refuses_an_unknown_host(fmt: Format) -> None:
    """Naming a host the pin file lacks is a usage error that names it and the known ones."""
    with pytest.raises(
        UsageError, match=r"host 'nope\.example\.com' is not in pins\.toml.*api\.example\.com"
    ):
        run_export(fmt, pin_file(two_pins()), "nope.example.com")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_exporter_refuses_an_empty_pin_file(fmt: Format) -> None:
    """A pin file without hosts exports nothing, loudly, rather than an empty config."""
    with pytest.raises(InputError, match="no hosts"):
        run_export(fmt, pin_file())


CLIENT_FORMATS = [f for f in FORMATS if f != "json"]


@pytest.mark.parametrize("fmt", CLIENT_FORMATS)
@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (entry(C, kind="cert", line=9), "a cert pin"),
        (entry(compute(b"key c", "sha384"), line=9), "a sha384 pin"),
        (entry(Pin("sha1", b"\x01" * 19 + b"\x02"), line=9), r"a sha1 pin \(weak\)"),
        (entry(C, expires=date(2025, 5, 31), line=9), "expired on 2025-05-31"),
    ],
)
def test_unexportable_pins_are_left_out_with_a_warning(
    fmt: Format, bad: PinEntry, why: str
) -> None:
    """cert, non-sha256 and expired pins never reach a client; the warning names host, pin, why."""
    base = two_pins()
    result = run_export(fmt, pin_file(replace(base, pins=(*base.pins, bad))))
    assert base64.b64encode(bad.pin.digest).decode() not in result.text
    [warning] = [w for w in result.warnings if "left out" in w]
    assert re.search(
        rf"^api\.example\.com: left out {re.escape(str(bad.pin))} \(pins\.toml:9\): {why}", warning
    )


@pytest.mark.parametrize("fmt", CLIENT_FORMATS)
def test_a_host_without_a_usable_pin_is_an_error(fmt: Format) -> None:
    """A host whose pins are all unusable would be left unpinned, so it is refused instead."""
    pins = pin_file(
        host("api.example.com", entry(A, kind="cert"), entry(B, expires=date(2020, 1, 1)), line=5)
    )
    with pytest.raises(
        InputError,
        match=r"pins\.toml:5: api\.example\.com has no pin that .* can use "
        r"\(a cert pin, expired on 2020-01-01\)",
    ):
        run_export(fmt, pins)


def test_a_pin_that_expires_today_is_still_exported() -> None:
    """A pin is good through its expiry day, as the pin file defines it."""
    pins = pin_file(host("api.example.com", entry(A, expires=TODAY), entry(B)))
    assert A.base64 in run_export("okhttp-kotlin", pins).text


def test_hosts_limit_the_export_and_accept_host_port() -> None:
    """HOST arguments pick hosts by name or host:port, and the rest stay out."""
    other = host("other.example.org", entry(C), entry(B), port=8443)
    pins = pin_file(two_pins(), other)
    only_other = run_export("okhttp-kotlin", pins, "OTHER.example.org:8443").text
    assert "other.example.org" in only_other
    assert "api.example.com" not in only_other
    with pytest.raises(UsageError, match=r"other\.example\.org:443"):
        run_export("okhttp-kotlin", pins, "other.example.org:443")


def test_entries_of_one_name_on_several_ports_merge() -> None:
    """Clients pin names, not ports: both ports' pins go under the one name, once each."""
    pins = pin_file(two_pins(), host("API.example.com", entry(C), entry(A), port=8443))
    text = run_export("okhttp-kotlin", pins).text
    assert text.count('.add("api.example.com"') == 3


def test_entries_that_disagree_on_subdomains_include_them_with_a_warning() -> None:
    """A name on two ports, one with include_subdomains, is exported with it and a warning."""
    pins = pin_file(two_pins(include_subdomains=True), two_pins(port=8443))
    result = run_export("android", pins)
    assert 'includeSubdomains="true"' in result.text
    assert any("disagree on include_subdomains" in w for w in result.warnings)


# -- OkHttp ------------------------------------------------------------------------------


def test_okhttp_kotlin_is_a_certificate_pinner_builder() -> None:
    """Kotlin output is the documented builder chain, one .add per pin with its note."""
    pins = pin_file(
        host(
            "api.example.com",
            entry(A, note="api key 2025", expires=date(2026, 3, 1)),
            entry(B, level="intermediate", note="R11"),
        )
    )
    assert run_export("okhttp-kotlin", pins).text == (
        "val certificatePinner = CertificatePinner.Builder()\n"
        f'    .add("api.example.com", "sha256/{A.base64}")'
        " // leaf, expires 2026-03-01: api key 2025\n"
        f'    .add("api.example.com", "sha256/{B.base64}") // intermediate: R11\n'
        "    .build()\n"
    )


def test_okhttp_java_is_a_statement() -> None:
    """Java output declares the pinner with `new` and ends with a semicolon."""
    text = run_export("okhttp-java", pin_file(two_pins())).text
    assert text.startswith(
        "CertificatePinner certificatePinner = new CertificatePinner.Builder()\n"
    )
    assert text.endswith("    .build();\n")


def test_okhttp_subdomains_use_double_star() -> None:
    """include_subdomains becomes `**.host`, with a warning about OkHttp's depth and version."""
    result = run_export("okhttp-java", pin_file(two_pins(include_subdomains=True)))
    assert '.add("**.api.example.com", ' in result.text
    assert any("any depth" in w and "OkHttp 4.3" in w for w in result.warnings)
    plain = run_export("okhttp-java", pin_file(two_pins()))
    assert "**." not in plain.text
    assert not any("**." in w for w in plain.warnings)


def test_okhttp_warns_when_a_host_has_no_backup() -> None:
    """A single pin ships an app that the next key change bricks; the export says so."""
    single = run_export("okhttp-kotlin", pin_file(host("api.example.com", entry(A))))
    assert any(
        "no backup" in w and "backup-keygen --host api.example.com" in w for w in single.warnings
    )
    assert not run_export("okhttp-kotlin", pin_file(two_pins())).warnings


def test_ios_warns_when_a_host_has_no_backup() -> None:
    """The iOS export names the app, the host and the fix; with a backup pin it is silent."""
    single = run_export("ios", pin_file(host("api.example.com", entry(A))))
    assert (
        "api.example.com: only one pin, so no backup: if that key changes, the app cannot "
        "connect until an update ships; add one with `pinctl backup-keygen --host "
        "api.example.com`"
    ) in single.warnings
    assert not any("no backup" in w for w in run_export("ios", pin_file(two_pins())).warnings)


@pytest.mark.parametrize(
    ("text", "kotlin", "expected"),
    [
        ('a"b\\c', False, '"a\\"b\\\\c"'),
        ("$x", True, '"\\$x"'),
        ("$x", False, '"$x"'),
        ("é\n", False, '"\\u00e9\\u000a"'),
        ("\U0001f600", True, '"\\ud83d\\ude00"'),
    ],
)
def test_okhttp_string_literals_are_escaped(text: str, kotlin: bool, expected: str) -> None:
    """Quotes, backslashes, Kotlin's `$` and non-ASCII never break out of the literal."""
    assert string_literal(text, kotlin=kotlin) == expected


def test_okhttp_comments_cannot_smuggle_code() -> None:
    """A note with a newline, a unicode escape or bidi marks stays one inert comment line."""
    note = "x\ny\u202e \\u000a System.exit(1);"
    text = run_export(
        "okhttp-java", pin_file(host("api.example.com", entry(A, note=note), entry(B)))
    ).text
    assert len(text.splitlines()) == 4
    assert "\u202e" not in text
    assert "// leaf: x y \\\\u000a System.exit(1);" in text


# -- Android -----------------------------------------------------------------------------


def test_android_config_follows_the_documented_structure() -> None:
    """The XML has one domain-config per host, with the domain, its subdomain flag and the pins."""
    pins = pin_file(
        two_pins(include_subdomains=True), host("other.example.org", entry(C), entry(A))
    )
    text = run_export("android", pins).text
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = check_android(text)
    configs = root.findall("domain-config")
    assert [c.findtext("domain") for c in configs] == ["api.example.com", "other.example.org"]
    domains = [c.find("domain") for c in configs]
    assert [d.get("includeSubdomains") for d in domains if d is not None] == ["true", "false"]
    assert [p.text for p in configs[0].iter("pin")] == [A.base64, B.base64]


def test_the_android_checker_rejects_what_android_would() -> None:
    """The checker is not vacuous: a wrong digest name, element or attribute fails it."""
    good = run_export("android", pin_file(two_pins())).text
    for broken in (
        good.replace('digest="SHA-256"', 'digest="SHA256"'),
        good.replace("pin-set>", "pinset>"),
        good.replace("includeSubdomains=", "includeSubDomains="),
        good.replace("<pin-set>", '<pin-set expiration="tomorrow">'),
    ):
        with pytest.raises(AssertionError):
            check_android(broken)


def test_android_pin_set_expires_with_the_earliest_pin() -> None:
    """`expiration` is the earliest expiry of the exported pins; Android's fail-open is warned."""
    pins = pin_file(
        host(
            "api.example.com",
            entry(A, expires=date(2026, 3, 1)),
            entry(B, expires=date(2025, 12, 24)),
            entry(C, expires=date(2025, 1, 1)),
        )
    )
    result = run_export("android", pins)
    pin_set = check_android(result.text).find("domain-config/pin-set")
    assert pin_set is not None
    assert pin_set.get("expiration") == "2025-12-24"
    assert any(
        "stops enforcing these pins on 2025-12-24" in w and "fails open" in w
        for w in result.warnings
    )


def test_android_pin_set_has_no_expiration_without_expiring_pins() -> None:
    """With no pin expiry the attribute is omitted, and nothing is said about failing open."""
    result = run_export("android", pin_file(two_pins()))
    pin_set = check_android(result.text).find("domain-config/pin-set")
    assert pin_set is not None
    assert "expiration" not in pin_set.attrib
    assert not result.warnings


def test_android_xml_escapes_hostile_notes() -> None:
    """Notes with markup, `--` and control characters still give well-formed XML."""
    note = "</pin-set> <!-- & -- \x00 -"
    text = run_export(
        "android", pin_file(host("api.example.com", entry(A, note=note), entry(B)))
    ).text
    root = check_android(text)
    assert [p.text for p in root.iter("pin")] == [A.base64, B.base64]


# -- iOS ---------------------------------------------------------------------------------


def test_ios_plist_sorts_pins_by_level() -> None:
    """Leaf pins go to NSPinnedLeafIdentities, intermediate and root to NSPinnedCAIdentities."""
    pins = pin_file(
        host(
            "api.example.com",
            entry(A),
            entry(B, level="intermediate"),
            entry(C, level="root"),
            include_subdomains=True,
        )
    )
    result = run_export("ios", pins)
    domain = check_ios(result.text)["api.example.com"]
    assert domain["NSIncludesSubdomains"] is True
    assert [i["SPKI-SHA256-BASE64"] for i in domain["NSPinnedLeafIdentities"]] == [A.base64]
    assert [i["SPKI-SHA256-BASE64"] for i in domain["NSPinnedCAIdentities"]] == [B.base64, C.base64]
    assert any("requires a match in each list" in w for w in result.warnings)
    assert any("one more label only" in w and "any depth" in w for w in result.warnings)


def test_ios_leaf_only_host_has_no_ca_list_and_no_warnings() -> None:
    """A host with leaf pins only has just the leaf list, and nothing needs saying."""
    result = run_export("ios", pin_file(two_pins()))
    domain = check_ios(result.text)["api.example.com"]
    assert set(domain) == {"NSIncludesSubdomains", "NSPinnedLeafIdentities"}
    assert domain["NSIncludesSubdomains"] is False
    assert not result.warnings


def test_the_ios_checker_rejects_a_misspelt_key() -> None:
    """The checker is not vacuous: a wrong key name or an empty list fails it."""
    good = run_export("ios", pin_file(two_pins())).text
    for broken in (
        good.replace("NSPinnedLeafIdentities", "NSPinnedLeafIdentity"),
        good.replace("SPKI-SHA256-BASE64", "SPKI-SHA256"),
    ):
        with pytest.raises(AssertionError):
            check_ios(broken)


def test_ios_warns_that_pins_never_expire() -> None:
    """ATS has no pin expiry: the export says the pins stay enforced after their date."""
    pins = pin_file(host("api.example.com", entry(A, expires=date(2026, 1, 1)), entry(B)))
    result = run_export("ios", pins)
    assert any("never expire" in w and "2026-01-01" in w for w in result.warnings)


# -- TrustKit ----------------------------------------------------------------------------

_SWIFT_TOKEN = re.compile(r'\s*(?:(//[^\n]*)|("(?:[^"\\]|\\.)*")|([\[\]:,])|([A-Za-z_]\w*))')
_SWIFT_ESCAPE = re.compile(r'\\(?:u\{([0-9a-fA-F]+)\}|(["\\]))')
TRUSTKIT_HEAD = "let trustKitConfig: [String: Any] = "
TRUSTKIT_CALL = "TrustKit.initSharedInstance(withConfiguration: trustKitConfig)\n"


def parse_swift_literal(text: str) -> Any:
    """Parse the Swift a TrustKit config uses: [k: v] dictionaries, [v] arrays, strings, bools."""
    assert text.startswith(TRUSTKIT_HEAD)
    assert text.endswith(TRUSTKIT_CALL)
    literal = text[len(TRUSTKIT_HEAD) : -len(TRUSTKIT_CALL)].rstrip()
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(literal):
        match = _SWIFT_TOKEN.match(literal, pos)
        assert match, f"not Swift: {literal[pos : pos + 30]!r}"
        pos = match.end()
        if match[2]:
            body = match[2][1:-1]
            tokens.append(("str", _SWIFT_ESCAPE.sub(lambda m: m[2] or chr(int(m[1], 16)), body)))
        elif match[3]:
            tokens.append((match[3], match[3]))
        elif match[4]:
            tokens.append(("id", {"true": True, "false": False}.get(match[4], match[4])))

    def value(i: int) -> tuple[Any, int]:
        kind, token = tokens[i]
        if kind in {"str", "id"}:
            return token, i + 1
        assert kind == "[", f"unexpected {token!r}"
        i += 1
        items: list[Any] = []
        pairs: dict[Any, Any] = {}
        while tokens[i][0] != "]":
            first, i = value(i)
            if tokens[i][0] == ":":
                assert first not in pairs, f"duplicate key {first!r}"
                pairs[first], i = value(i + 1)
            else:
                items.append(first)
            if tokens[i][0] == ",":
                i += 1
            else:
                assert tokens[i][0] == "]", f"expected , or ] after {first!r}"
        assert not (items and pairs), "mixed array and dictionary"
        return (pairs or items), i + 1

    parsed, end = value(0)
    assert end == len(tokens), "text after the literal"
    return parsed


def test_trustkit_config_has_the_documented_keys() -> None:
    """The Swift literal holds kTSKPinnedDomains > host > hashes, enforcement and subdomains."""
    pins = pin_file(
        two_pins(include_subdomains=True),
        host("other.example.org", entry(C), entry(A, expires=date(2026, 2, 1))),
    )
    result = run_export("trustkit", pins)
    config = parse_swift_literal(result.text)
    assert config["kTSKSwizzleNetworkDelegates"] is False
    api = config["kTSKPinnedDomains"]["api.example.com"]
    assert api == {
        "kTSKEnforcePinning": True,
        "kTSKIncludeSubdomains": True,
        "kTSKPublicKeyHashes": [A.base64, B.base64],
    }
    other = config["kTSKPinnedDomains"]["other.example.org"]
    assert other["kTSKExpirationDate"] == "2026-02-01"
    assert any("TrustKit stops enforcing these pins on 2026-02-01" in w for w in result.warnings)


def test_trustkit_refuses_a_domain_without_a_backup_pin() -> None:
    """TrustKit throws at launch with under two hashes; the export refuses first, naming it."""
    pins = pin_file(
        two_pins(), host("lonely.example.com", entry(C), entry(A, kind="cert"), line=12)
    )
    with pytest.raises(
        InputError,
        match=r"pins\.toml:12: lonely\.example\.com has 1 pin TrustKit can use"
        r".*backup-keygen --host lonely\.example\.com",
    ):
        run_export("trustkit", pins)


# -- HPKP --------------------------------------------------------------------------------


def test_hpkp_header_for_one_host() -> None:
    """One host gives one RFC 7469 header line, max-age 60 days by default."""
    result = run_export("hpkp", pin_file(two_pins(include_subdomains=True)))
    assert result.text == (
        f'Public-Key-Pins: pin-sha256="{A.base64}"; pin-sha256="{B.base64}"; '
        "max-age=5184000; includeSubDomains\n"
    )
    assert DEFAULT_MAX_AGE == 5184000
    directives = result.text.removeprefix("Public-Key-Pins: ").strip().split("; ")
    for directive in directives:
        assert re.fullmatch(
            r'pin-sha256="[A-Za-z0-9+/]{43}="|max-age=\d+|includeSubDomains', directive
        )


def test_hpkp_max_age_and_several_hosts() -> None:
    """--max-age is used as given; several hosts get a `# host` line before each header."""
    pins = pin_file(two_pins(), host("other.example.org", entry(C, backup=True), entry(A)))
    text = run_export("hpkp", pins, options=ExportOptions(TODAY, max_age=600)).text
    lines = text.splitlines()
    assert lines[0] == "# api.example.com"
    assert lines[2] == "# other.example.org"
    assert lines[1].endswith("; max-age=600")
    assert "includeSubDomains" not in text


def test_hpkp_refuses_a_host_without_a_backup_pin() -> None:
    """RFC 7469 section 4.3 needs two pins; one is refused with the host named."""
    with pytest.raises(InputError, match=r"api\.example\.com has 1 pin for HPKP.*RFC 7469"):
        run_export("hpkp", pin_file(host("api.example.com", entry(A))))


def test_hpkp_warns_when_no_pin_is_a_backup() -> None:
    """Two pins both in the served chain still fail RFC 7469's backup rule: the export warns."""
    result = run_export(
        "hpkp", pin_file(host("api.example.com", entry(A), entry(B, level="intermediate")))
    )
    assert any("no pin is marked backup" in w for w in result.warnings)
    assert not any("backup" in w for w in run_export("hpkp", pin_file(two_pins())).warnings)


# -- curl --------------------------------------------------------------------------------

requires_curl = needs("curl")


@pytest.fixture(scope="module")
def localhost(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost")


@pytest.fixture(scope="module")
def port(localhost: trustme.LeafCert) -> Iterator[int]:
    """One server for the module: stopping a LoopbackServer costs seconds."""
    with tls_server(server_context(localhost)) as server:
        yield server.port


def curl(value: str, ca_file: Path, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "5",
            "--resolve",
            f"localhost:{port}:127.0.0.1",
            "--noproxy",
            "*",
            "--cacert",
            str(ca_file),
            "--pinnedpubkey",
            value,
            f"https://localhost:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


def test_curl_value_has_no_spaces() -> None:
    """curl compares the text byte for byte: pins are joined by a bare `;`."""
    assert (
        run_export("curl", pin_file(two_pins())).text == f"sha256//{A.base64};sha256//{B.base64}\n"
    )


@requires_curl
def test_curl_connects_with_the_exported_value(
    localhost: trustme.LeafCert, port: int, ca_pem: Path
) -> None:
    """Real curl accepts the server with the exported pins; the backup pin does no harm."""
    leaf = spki_of(localhost.cert_chain_pems[0].bytes())
    value = run_export(
        "curl", pin_file(host("localhost", entry(B, backup=True), entry(leaf)))
    ).text.strip()
    done = curl(value, ca_pem, port)
    assert (done.returncode, done.stdout) == (0, "ok"), done.stderr


@requires_curl
def test_curl_fails_with_a_wrong_pin(port: int, ca_pem: Path) -> None:
    """With pins that are not the server's key, real curl refuses: exit 90, pin mismatch."""
    value = run_export("curl", pin_file(host("localhost", entry(A), entry(B)))).text.strip()
    done = curl(value, ca_pem, port)
    assert done.returncode == 90, done.stderr
    assert done.stdout == ""


@requires_curl
def test_curl_never_matches_a_ca_pin(
    ca: trustme.CA, localhost: trustme.LeafCert, port: int, ca_pem: Path
) -> None:
    """Why CA pins are left out: curl checks the leaf key only, so a root pin fails (exit 90)."""
    root = spki_of(ca.cert_pem.bytes())
    done = curl(f"sha256//{root.base64}", ca_pem, port)
    assert done.returncode == 90, done.stderr
    leaf = spki_of(localhost.cert_chain_pems[0].bytes())
    result = run_export("curl", pin_file(host("localhost", entry(root, level="root"), entry(leaf))))
    assert result.text == f"sha256//{leaf.base64}\n"
    assert any(
        f"left out {root} (root): curl checks the leaf key only" in w for w in result.warnings
    )


def test_curl_refuses_a_host_with_ca_pins_only() -> None:
    """A host pinned only at CA level has nothing curl can match: an error, not an empty value."""
    pins = pin_file(host("api.example.com", entry(A, level="intermediate"), entry(B, level="root")))
    with pytest.raises(InputError, match="has no leaf pin"):
        run_export("curl", pins)


def test_curl_needs_one_server() -> None:
    """One value pins one server: several are refused, naming each; host:port picks one."""
    pins = pin_file(two_pins(), two_pins(port=8443), host("other.example.org", entry(C)))
    with pytest.raises(
        UsageError, match=r"api\.example\.com:443, api\.example\.com:8443, other\.example\.org:443"
    ):
        run_export("curl", pins)
    with pytest.raises(UsageError, match="2 are selected"):
        run_export("curl", pins, "api.example.com")
    assert run_export("curl", pins, "api.example.com:8443").text.startswith("sha256//")


# -- JSON --------------------------------------------------------------------------------


def test_json_is_the_pin_file_with_every_field() -> None:
    """JSON keeps every pin (cert, expired included) and field, with ISO dates."""
    pins = pin_file(
        host(
            "api.example.com",
            entry(A, note="api key", expires=date(2026, 3, 1)),
            entry(B, kind="cert", level="root", backup=True),
            port=8443,
            include_subdomains=True,
        )
    )
    document = json.loads(run_export("json", pins).text)
    assert document["version"] == 1
    assert document["defaults"] == {
        "warn_days": 30,
        "min_tls": "1.2",
        "forward_secrecy": True,
        "ca_file": None,
        "clients": [],
        "rotate_days": 90,
        "release_lead_days": 30,
        "audit_log": None,
        "ct": "off",
        "ct_policy": "both",
        "ct_log_list": None,
        "revocation": "soft",
    }
    [api] = document["hosts"]
    assert api["clients"] is None
    assert api["host"] == "api.example.com"
    assert api["port"] == 8443
    assert api["include_subdomains"] is True
    assert api["verify_chain"] is True
    assert api["pins"] == [
        {
            "pin": str(A),
            "kind": "spki",
            "level": "leaf",
            "backup": False,
            "note": "api key",
            "expires": "2026-03-01",
            "reencoded": None,
            "retired": False,
        },
        {
            "pin": str(B),
            "kind": "cert",
            "level": "root",
            "backup": True,
            "note": None,
            "expires": None,
            "reencoded": None,
            "retired": False,
        },
    ]


def test_json_follows_the_host_selection() -> None:
    """HOST arguments limit the JSON too."""
    pins = pin_file(two_pins(), host("other.example.org", entry(C)))
    document = json.loads(run_export("json", pins, "other.example.org").text)
    assert [h["host"] for h in document["hosts"]] == ["other.example.org"]
