"""Triage of pin-failure reports: each class, for TrustKit iOS, Android and HPKP reports.

The chains are built by the test PKI: a root and an intermediate, the pinned leaf, a
new leaf under the same intermediate, and a rogue hierarchy that names the same host.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography import x509

from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.triage.classify import Triage, triage
from pinctl.triage.reports import MAX_REPORT, Malformed, Report, read_stream
from tests.support.hosts import other_pin, pin
from tests.support.pki import NOW, issue
from tests.support.reports import hpkp, json_lines, trustkit_android, trustkit_ios

Builder = Callable[..., dict[str, Any]]
BUILDERS: dict[str, Builder] = {
    "trustkit-ios": trustkit_ios,
    "trustkit-android": trustkit_android,
    "hpkp": hpkp,
}


class Pki(NamedTuple):
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    new_leaf: x509.Certificate
    other_name: x509.Certificate
    rogue_root: x509.Certificate
    rogue_leaf: x509.Certificate
    sub_leaf: x509.Certificate


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = issue("Root")
    intermediate = issue("Intermediate", root)
    rogue = issue("Corporate Inspection Root")
    return Pki(
        root[0],
        intermediate[0],
        issue("api.test", intermediate, sans=["api.test"])[0],
        issue("api.test 2027", intermediate, sans=["api.test"])[0],
        issue("other.test", intermediate, sans=["other.test"])[0],
        rogue[0],
        issue("api.test", rogue, sans=["api.test"])[0],
        issue("m.apps.test", intermediate, sans=["m.apps.test"])[0],
    )


@pytest.fixture
def pin_file(tmp_path: Path, pki: Pki) -> PinFile:
    """api.test pins its leaf (and a backup); apps.test pins the intermediate for subdomains;
    keyonly.test is pinned by key alone."""
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = tmp_path / "root.pem"
    ca.write_bytes(pki.root.public_bytes(Encoding.PEM))
    hosts = (
        HostEntry("api.test", pins=(pin(pki.leaf), other_pin())),
        HostEntry(
            "apps.test",
            include_subdomains=True,
            pins=(pin(pki.intermediate, level="intermediate"),),
        ),
        HostEntry("keyonly.test", verify_chain=False, pins=(pin(pki.leaf),)),
    )
    return PinFile(tmp_path / "pins.toml", defaults=Defaults(ca_file=ca), hosts=hosts)


def run(pin_file: PinFile, *reports: object, name: str = "reports.jsonl") -> Triage:
    stream = io.BytesIO(json_lines(reports).encode())
    return triage(pin_file, read_stream(name, stream), NOW)


def classes(result: Triage) -> list[tuple[str, str, int]]:
    return [(g.host, g.cls, g.count) for g in result.groups]


@pytest.mark.parametrize("source", BUILDERS)
def test_one_report_of_each_class(source: str, pin_file: PinFile, pki: Pki) -> None:
    """The current chain is stale-app, a new trusted key rotation, a rogue root
    interception, and a host outside the pin file unknown-host, for every report format."""
    build = BUILDERS[source]
    result = run(
        pin_file,
        build([pki.leaf, pki.intermediate]),
        build([pki.new_leaf, pki.intermediate]),
        build([pki.rogue_leaf, pki.rogue_root]),
        build([pki.other_name, pki.intermediate], hostname="other.test"),
    )
    assert classes(result) == [
        ("api.test", "interception", 1),
        ("api.test", "rotation", 1),
        ("api.test", "stale-app", 1),
        ("other.test", "unknown-host", 1),
    ]
    assert (result.reports, result.malformed, int(result.exit_code)) == (4, (), 1)
    stale = next(g for g in result.groups if g.cls == "stale-app")
    assert stale.chain == (str(pin(pki.leaf).pin), str(pin(pki.intermediate).pin))
    assert stale.app_version == (None if source == "hpkp" else "2.1.0")


def test_only_stale_apps_exit_0(pin_file: PinFile, pki: Pki) -> None:
    """Reports that all match current pins need an app release, not an incident: exit 0."""
    result = run(pin_file, *[trustkit_ios([pki.leaf, pki.intermediate])] * 3)
    assert classes(result) == [("api.test", "stale-app", 3)]
    assert int(result.exit_code) == 0


def test_a_genuine_intermediate_appended_to_a_rogue_chain_is_interception(
    pin_file: PinFile, pki: Pki
) -> None:
    """Pins match the validated path only: a rogue leaf followed by our pinned CA is not
    stale-app; the genuine chain under that CA pin (the twin) is."""
    result = run(
        pin_file,
        trustkit_ios([pki.rogue_leaf, pki.intermediate], hostname="m.apps.test"),
        trustkit_ios([pki.sub_leaf, pki.intermediate], hostname="m.apps.test"),
    )
    assert classes(result) == [("apps.test", "interception", 1), ("apps.test", "stale-app", 1)]


def test_a_trusted_chain_for_another_name_is_interception(pin_file: PinFile, pki: Pki) -> None:
    """A chain to a trusted root that is not valid for the host the app asked for."""
    result = run(pin_file, trustkit_android([pki.other_name, pki.intermediate]))
    assert classes(result) == [("api.test", "interception", 1)]


def test_trust_is_judged_when_the_app_saw_the_chain(pin_file: PinFile, pki: Pki) -> None:
    """The same chain reported while valid is stale-app; reported after the leaf expired,
    the app was shown an expired certificate: interception."""
    late = (NOW + timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    chain = [pki.leaf, pki.intermediate]
    result = run(pin_file, trustkit_ios(chain), trustkit_ios(chain, **{"date-time": late}))
    assert classes(result) == [("api.test", "interception", 1), ("api.test", "stale-app", 1)]
    again = run(pin_file, trustkit_ios(chain, **{"date-time": late}), trustkit_ios(chain))
    assert sorted(classes(again)) == sorted(classes(result)), "the cache keeps the order moot"


def test_an_expired_pin_is_no_current_pin(tmp_path: Path, pin_file: PinFile, pki: Pki) -> None:
    """A chain matching only a pin past its expiry is a rotation, not a stale app."""
    old = PinEntry(pin(pki.leaf).pin, expires=(NOW - timedelta(days=2)).date())
    entry = HostEntry("api.test", pins=(old,))
    expired = PinFile(pin_file.path, defaults=pin_file.defaults, hosts=(entry,))
    assert classes(run(expired, hpkp([pki.leaf, pki.intermediate]))) == [
        ("api.test", "rotation", 1)
    ]


def test_a_host_pinned_by_key_alone(pin_file: PinFile, pki: Pki) -> None:
    """verify_chain = false: the pinned key is stale-app; an unknown key has no trust
    store to vouch for it, so it is interception."""
    result = run(
        pin_file,
        trustkit_ios([pki.leaf], hostname="keyonly.test"),
        trustkit_ios([pki.new_leaf], hostname="keyonly.test"),
    )
    assert classes(result) == [
        ("keyonly.test", "interception", 1),
        ("keyonly.test", "stale-app", 1),
    ]


def test_hosts_are_matched_by_name_and_port(pin_file: PinFile, pki: Pki) -> None:
    """The report's port counts (443 when absent); a subdomain needs include_subdomains."""
    chain = [pki.leaf, pki.intermediate]
    no_port = trustkit_ios(chain)
    del no_port["port"]
    result = run(
        pin_file,
        no_port,
        trustkit_ios(chain, port=8443),
        trustkit_ios(chain, hostname="API.test"),
        trustkit_ios(chain, hostname="www.api.test"),
    )
    assert sorted((g.host, g.port, g.cls, g.count) for g in result.groups) == [
        ("api.test", 443, "stale-app", 2),
        ("api.test", 8443, "unknown-host", 1),
        ("www.api.test", 443, "unknown-host", 1),
    ]


def test_reports_are_grouped_by_app_version_and_chain(pin_file: PinFile, pki: Pki) -> None:
    """Alike reports are one group with a count; another version or chain is another group."""
    chain = [pki.new_leaf, pki.intermediate]
    result = run(
        pin_file,
        trustkit_ios(chain, app_version="1.0"),
        trustkit_ios(chain, app_version="1.0"),
        trustkit_android(chain, app_version="1.1"),
        trustkit_ios([pki.new_leaf], app_version="1.0"),
    )
    got = [(g.cls, g.app_version, len(g.chain), g.count) for g in result.groups]
    assert got == [
        ("interception", "1.0", 1, 1),  # no intermediate: the leaf alone leads to no root
        ("rotation", "1.0", 2, 2),
        ("rotation", "1.1", 2, 1),
    ]
    assert all(g.subjects[0] == "CN=api.test 2027" for g in result.groups)


def read(text: bytes | str, name: str = "r.json") -> list[Report | Malformed]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_stream(name, io.BytesIO(data)))


def test_an_object_an_array_and_json_lines_are_all_read(pki: Pki) -> None:
    """One pretty-printed object, a JSON array (named file:[i]) and JSON lines (file:N)."""
    report = trustkit_ios([pki.leaf])
    [one] = read(json.dumps(report, indent=2))
    assert isinstance(one, Report)
    assert (one.where, one.source, one.hostname) == ("r.json", "trustkit-ios", "api.test")
    many = read(json.dumps([report, trustkit_android([pki.leaf]), hpkp([pki.leaf])]))
    assert [(r.where, getattr(r, "source", None)) for r in many] == [
        ("r.json:[0]", "trustkit-ios"),
        ("r.json:[1]", "trustkit-android"),
        ("r.json:[2]", "hpkp"),
    ]
    lines = read("\n" + json_lines([report, report]) + "\n\n")
    assert [r.where for r in lines] == ["r.json:2", "r.json:3"]
    assert read("") == []
    assert read("\n\n") == []


def test_android_reports_are_judged_on_the_served_chain(pki: Pki) -> None:
    """The served chain is what the server sent; the validated one is what the app built."""
    report = trustkit_android([pki.leaf, pki.intermediate])
    report["validated-certificate-chain"] = report["validated-certificate-chain"][:1]
    [parsed] = read(json.dumps(report))
    assert isinstance(parsed, Report)
    assert (parsed.chain_field, len(parsed.chain)) == ("served-certificate-chain", 2)


MALFORMED: list[tuple[str, str]] = [
    ("not json", "not JSON (Expecting value"),
    ("[1, 2", "not JSON"),
    ('"a string"', "a report is a JSON object, not a string"),
    ("{}", "missing field hostname"),
    ('{"hostname": 5}', "hostname must be a host name string, not a number"),
    ('{"hostname": "api.test"}', "missing field validated-certificate-chain"),
    ('{"hostname": "api.test", "validated-certificate-chain": []}', "non-empty list of PEM"),
    (
        '{"hostname": "api.test", "validated-certificate-chain": ["x"], "port": "443"}',
        "port must be an integer, not a string",
    ),
    (
        '{"hostname": "api.test", "validated-certificate-chain": ["x"], "port": 0}',
        "port 0 is out of range",
    ),
    (
        '{"hostname": "api.test", "validated-certificate-chain": ["x"], "date-time": "soon"}',
        "date-time 'soon' is not an ISO 8601 time",
    ),
]


@pytest.mark.parametrize(("line", "error"), MALFORMED)
def test_malformed_reports_are_named_and_the_others_still_read(
    line: str, error: str, pki: Pki
) -> None:
    """A broken report between two good ones is named file:line with the reason."""
    good = json.dumps(trustkit_ios([pki.leaf]))
    reads = read(f"{good}\n{line}\n{good}\n", "field.jsonl")
    assert [type(r).__name__ for r in reads] == ["Report", "Malformed", "Report"]
    bad = reads[1]
    assert isinstance(bad, Malformed)
    assert bad.where == "field.jsonl:2"
    assert error in bad.error


def test_a_pem_that_is_not_a_certificate_is_malformed(pin_file: PinFile, pki: Pki) -> None:
    """A chain entry that is no certificate names the field and index; the rest is triaged."""
    key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----\n"
    broken = trustkit_ios([pki.leaf])
    broken["validated-certificate-chain"].append(key)
    garbage = trustkit_ios([pki.leaf])
    garbage["validated-certificate-chain"][0] = (
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    result = run(pin_file, broken, garbage, trustkit_ios([pki.leaf]))
    assert [(m.where, m.error) for m in result.malformed] == [
        (
            "reports.jsonl:1",
            "validated-certificate-chain[1] is not a PEM certificate (no BEGIN CERTIFICATE line)",
        ),
        (
            "reports.jsonl:2",
            "validated-certificate-chain[0] is not a PEM certificate "
            "(its content is no DER certificate)",
        ),
    ]
    assert result.reports == 1


def test_a_10_mb_report_is_skipped_unread(pki: Pki) -> None:
    """A line of 10 MB is malformed (too large), and the report after it is still read."""
    huge = json.dumps(trustkit_ios([pki.leaf], padding="x" * (10 * 1024 * 1024)))
    reads = read(huge + "\n" + json.dumps(trustkit_ios([pki.leaf])) + "\n", "big.jsonl")
    assert len(huge) > MAX_REPORT
    assert isinstance(reads[0], Malformed)
    assert reads[0].where == "big.jsonl:1"
    assert "more than 1 MiB" in reads[0].error
    assert isinstance(reads[1], Report)
    assert reads[1].where == "big.jsonl:2"


def test_a_broken_pretty_printed_object_is_one_malformed_report() -> None:
    """A multi-line document that is not JSON is one error naming its line, not one per line."""
    [bad] = read('{\n  "hostname": "api.test",\n  oops\n}\n')
    assert isinstance(bad, Malformed)
    assert bad.where == "r.json"
    assert "line 3" in bad.error


def test_a_byte_order_mark_is_no_malformed_report(pki: Pki) -> None:
    """A file saved by a Windows tool starts with a UTF-8 BOM; its reports still read."""
    text = json_lines([trustkit_ios([pki.leaf])] * 2).encode()
    assert [type(r).__name__ for r in read(b"\xef\xbb\xbf" + text)] == ["Report", "Report"]
    array = json.dumps([trustkit_ios([pki.leaf])]).encode()
    assert [type(r).__name__ for r in read(b"\xef\xbb\xbf" + array)] == ["Report"]


def test_the_same_chain_is_judged_for_each_name_it_was_shown_for(
    pin_file: PinFile, pki: Pki
) -> None:
    """Two subdomains share an entry: the chain valid for one name is interception for
    the other, whichever comes first (a verdict is remembered per name, not per entry)."""
    chain = [pki.sub_leaf, pki.intermediate]
    for names in (("m.apps.test", "x.apps.test"), ("x.apps.test", "m.apps.test")):
        result = run(pin_file, *(trustkit_ios(chain, hostname=name) for name in names))
        assert classes(result) == [("apps.test", "interception", 1), ("apps.test", "stale-app", 1)]
