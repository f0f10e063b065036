"""The Prometheus renderer, read back by prometheus_client's own parser of the text format."""

from __future__ import annotations

import io
import math
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from pinctl.output.prometheus import FAMILIES, escape, number, render_prometheus
from pinctl.output.terminal import Sink
from pinctl.pinfile.model import HostEntry, PinEntry
from pinctl.pki.pins import compute
from pinctl.verify.results import ChainCert, Reached, VerifyResult
from tests.support.hosts import certs, host_result

NOW = datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)
LEAF_PIN = PinEntry(compute(b"leaf"), expires=date(2027, 1, 31))
BACKUP = PinEntry(compute(b"backup"), backup=True)
OLD_BACKUP = PinEntry(compute(b"old"), backup=True, expires=date(2026, 1, 1))
PER_HOST = {
    "pinctl_check_ok",
    "pinctl_check_status",
    "pinctl_check_result",
    "pinctl_pin_matched",
    "pinctl_backup_pins",
    "pinctl_pin_expires_timestamp_seconds",
    "pinctl_check_duration_seconds",
}
"""SPEC.md section 13: the families every host has, whatever its status."""

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> tuple[Samples, dict[str, tuple[str, str]]]:
    """Samples by family, and each family's (type, help), as Prometheus reads them."""
    samples: Samples = {}
    meta: dict[str, tuple[str, str]] = {}
    for family in text_string_to_metric_families(text):
        meta[family.name] = (family.type, family.documentation)
        samples[family.name] = [(dict(s.labels), s.value) for s in family.samples]
    return samples, meta


def render(*hosts: object) -> str:
    result = VerifyResult(tuple(hosts), Path("pins.toml"), NOW)  # type: ignore[arg-type]
    out = io.StringIO()
    render_prometheus(result, Sink(out, io.StringIO()))
    return out.getvalue()


@pytest.fixture(scope="module")
def chain() -> tuple[ChainCert, ...]:
    ca = trustme.CA()
    served = certs(ca.issue_cert("a.test").cert_chain_pems)
    root = certs([ca.cert_pem])
    return (ChainCert(served[0], True), ChainCert(root[0], False))


def test_every_host_has_its_series_whatever_its_status(chain: tuple[ChainCert, ...]) -> None:
    """A passing, a failing and an unreachable host each get every per-host family."""
    pins = (LEAF_PIN, BACKUP)
    text = render(
        host_result(HostEntry("ok.test", pins=pins), "pass", chain=chain, elapsed=0.25),
        host_result(HostEntry("bad.test", pins=pins), "pin-mismatch", chain=chain),
        host_result(HostEntry("gone.test", 8443, pins=pins), "unreachable"),
    )
    samples, meta = parse(text)
    for name in PER_HOST:
        hosts = {(labels["host"], labels["port"]) for labels, _ in samples[name]}
        assert hosts == {("ok.test", "443"), ("bad.test", "443"), ("gone.test", "8443")}, name
    ok = {labels["host"]: value for labels, value in samples["pinctl_check_ok"]}
    assert ok == {"ok.test": 1, "bad.test": 0, "gone.test": 0}
    status = {labels["host"]: labels["status"] for labels, _ in samples["pinctl_check_status"]}
    assert status == {"ok.test": "pass", "bad.test": "pin-mismatch", "gone.test": "unreachable"}
    assert all(value == 1 for _, value in samples["pinctl_check_status"])
    durations = {
        labels["host"]: value for labels, value in samples["pinctl_check_duration_seconds"]
    }
    assert durations["ok.test"] == 0.25
    assert samples["pinctl_last_run_timestamp_seconds"] == [({}, NOW.timestamp())]
    assert all(kind == "gauge" and doc for kind, doc in meta.values())


def test_help_and_type_come_once_before_each_family(chain: tuple[ChainCert, ...]) -> None:
    """Each family is one block: HELP, TYPE, then all its samples, never split across hosts."""
    text = render(
        host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "pass", chain=chain),
        host_result(HostEntry("b.test", pins=(LEAF_PIN,)), "pass", chain=chain),
    )
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP")]
    assert len(names) == len(set(names))
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP"):
            current = line.split()[2]
        elif line.startswith("# TYPE"):
            assert line.split()[2] == current
        else:
            assert line.split("{")[0].split(" ")[0] == current


def test_backup_pins_count_those_not_in_the_chain(chain: tuple[ChainCert, ...]) -> None:
    """Backups found in the live chain or expired are no backup; unreached hosts count all."""
    in_chain = PinEntry(chain[0].spki, backup=True)
    pins = (LEAF_PIN, BACKUP, in_chain, OLD_BACKUP)
    text = render(
        host_result(HostEntry("a.test", pins=pins), "pass", chain=chain),
        host_result(HostEntry("b.test", pins=pins), "timeout"),
        host_result(HostEntry("c.test", pins=(LEAF_PIN,)), "pass", chain=chain),
    )
    samples, _ = parse(text)
    counts = {labels["host"]: value for labels, value in samples["pinctl_backup_pins"]}
    assert counts == {"a.test": 1, "b.test": 2, "c.test": 0}


def test_pin_expiry_is_the_first_second_the_pin_no_longer_counts() -> None:
    """A pin expiring 2027-01-31 stops counting at 2027-02-01T00:00:00Z; no expiry is +Inf."""
    text = render(host_result(HostEntry("a.test", pins=(LEAF_PIN, BACKUP)), "unreachable"))
    samples, _ = parse(text)
    expiry = {
        (labels["pin"], labels["level"], labels["backup"]): value
        for labels, value in samples["pinctl_pin_expires_timestamp_seconds"]
    }
    day_after = datetime(2027, 2, 1, tzinfo=timezone.utc).timestamp()
    assert expiry == {
        (str(LEAF_PIN.pin), "leaf", "false"): day_after,
        (str(BACKUP.pin), "leaf", "true"): math.inf,
    }


def test_certificates_are_listed_leaf_first_with_their_pins(chain: tuple[ChainCert, ...]) -> None:
    """Each certificate judged has its notAfter, position 0 the leaf, the trust anchor last."""
    text = render(host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "pass", chain=chain))
    samples, _ = parse(text)
    got = [
        (labels["position"], labels["spki"], value)
        for labels, value in samples["pinctl_cert_not_after_timestamp_seconds"]
    ]
    assert got == [
        (str(i), str(c.spki), c.cert.not_valid_after_utc.timestamp()) for i, c in enumerate(chain)
    ]
    unreached = render(host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "unreachable"))
    assert "pinctl_cert_not_after_timestamp_seconds{" not in unreached


def test_no_two_series_share_a_label_set(chain: tuple[ChainCert, ...]) -> None:
    """The same host twice (and a pin listed twice) still gives one series per label set."""
    entry = HostEntry("a.test", pins=(LEAF_PIN, LEAF_PIN, BACKUP))
    text = render(host_result(entry, "pass", chain=chain), host_result(entry, "pass", chain=chain))
    samples, _ = parse(text)
    for name, series in samples.items():
        keys = [tuple(sorted(labels.items())) for labels, _ in series]
        assert len(keys) == len(set(keys)), name
    assert len(samples["pinctl_pin_expires_timestamp_seconds"]) == 2


def test_label_values_are_escaped() -> None:
    """Backslash, quote and newline in a label value are escaped, and parse back intact."""
    assert escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape("plain.test") == "plain.test"
    entry = HostEntry('we"ird\\host\nname', pins=(LEAF_PIN,))
    text = render(host_result(entry, "unreachable", 'refused "x"'))
    samples, _ = parse(text)
    [(labels, value)] = samples["pinctl_check_ok"]
    assert (labels["host"], value) == ('we"ird\\host\nname', 0)
    assert len(text.splitlines()) == text.count("\n"), "no raw newline inside a sample"


def test_numbers_are_spelt_as_the_format_wants() -> None:
    """Counts and timestamps without a fraction; infinity as +Inf; fractions kept."""
    assert [number(v) for v in (1.0, 0.0, 1798848000.0, math.inf, 0.5)] == [
        "1",
        "0",
        "1798848000",
        "+Inf",
        "0.5",
    ]


def test_the_checks_still_being_built_emit_nothing_yet() -> None:
    """Revocation and CT families are declared but empty until their checks land, as the
    client family is without --as: an empty family is not written (no HELP without samples)."""
    names = {f.name for f in FAMILIES}
    assert {"pinctl_revocation_status", "pinctl_ct_compliant", "pinctl_client_accepts"} <= names
    text = render(host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "pass"))
    assert "pinctl_revocation_status" not in text
    assert "pinctl_client_accepts" not in text


def test_each_check_result_is_a_series() -> None:
    """pinctl_check_result gives one series per check of the host, labelled with its result."""
    text = render(host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "untrusted", "bad root"))
    samples, _ = parse(text)
    results = {labels["check"]: labels["result"] for labels, _ in samples["pinctl_check_result"]}
    assert results == {"connect": "pass", "chain": "fail", "pins": "pass"}
    matched = samples["pinctl_pin_matched"]
    assert matched == [({"host": "a.test", "port": "443"}, 1)]


@given(st.text(max_size=40))
def test_any_label_value_parses_back_unchanged(text: str) -> None:
    """Whatever text a label carries, Prometheus's parser reads back exactly that text."""
    samples, _ = parse(render(host_result(HostEntry(text), "unreachable")))
    [(labels, _)] = samples["pinctl_check_ok"]
    assert labels["host"] == text


def test_a_crashed_check_still_has_every_series() -> None:
    """A host whose check hit a bug fails closed in the metrics too: ok 0, every family."""
    from pinctl.verify.results import Crashed, HostResult

    crashed = HostResult(HostEntry("a.test", pins=(LEAF_PIN, BACKUP)), (), Crashed("boom"))
    samples, _ = parse(render(crashed))
    assert PER_HOST - {"pinctl_check_result"} <= set(samples)
    assert samples["pinctl_check_ok"] == [({"host": "a.test", "port": "443"}, 0)]
    assert samples["pinctl_check_status"][0][0]["status"] == "tls-error"
    assert samples["pinctl_backup_pins"][0][1] == 1


def test_each_judged_client_is_a_series(chain: tuple[ChainCert, ...]) -> None:
    """verify --as: 1 for a client whose app would connect, 0 for one that would refuse."""
    from dataclasses import replace

    from pinctl.exports.verdicts import ClientVerdict

    verdicts = (
        ClientVerdict("okhttp", "accept"),
        ClientVerdict("curl", "reject", "no leaf pin matches the served leaf"),
        ClientVerdict("android", "accept-expired", "the pin-set expired"),
        ClientVerdict("trustkit", "config-error", "fewer than two pins"),
        ClientVerdict("ios", "not-pinned", "no pin for ios"),
    )
    host = host_result(HostEntry("a.test", pins=(LEAF_PIN,)), "client-reject", chain=chain)
    judged = replace(host, outcome=Reached(chain, None, None, verdicts))
    samples, _ = parse(render(judged, host_result(HostEntry("b.test"), "unreachable")))
    accepts = {labels["client"]: value for labels, value in samples["pinctl_client_accepts"]}
    assert accepts == {"okhttp": 1, "curl": 0, "android": 1, "trustkit": 0, "ios": 1}
    assert {labels["host"] for labels, _ in samples["pinctl_client_accepts"]} == {"a.test"}
