"""Each client's verdict (`verify --as`), against the rule its documentation or source states.

The chains here are sha256 SPKI pins, leaf first, the trust anchor last: the only thing a
client compares. Each fixture names the documentation point it encodes; the real OkHttp
and curl are judges in tests/exports/test_real_clients.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinctl.errors import UsageError
from pinctl.exports.clients import APPS, Apps, parse_clients, selected
from pinctl.exports.verdicts import ClientVerdict, Served
from pinctl.pinfile.model import CLIENTS, Client, Defaults, HostEntry, PinEntry, PinFile
from pinctl.pki.pins import compute

LEAF, INTER, ROOT, NEW_LEAF, SPARE = (
    compute(f"key {n}".encode()) for n in ("leaf", "inter", "root", "new leaf", "spare")
)
SERVED = Served((LEAF, INTER, ROOT))
"""What the server sends (leaf, intermediate) and the anchor validation added (root)."""
ROTATED = Served((NEW_LEAF, INTER, ROOT))
TODAY = date(2026, 6, 1)


def pins(*entries: tuple[Any, str], **fields: Any) -> tuple[PinEntry, ...]:
    return tuple(PinEntry(pin, level=level, **fields) for pin, level in entries)  # type: ignore[arg-type]


def judge(
    client: Client,
    *hosts: HostEntry,
    served: Served = SERVED,
    at: date = TODAY,
    host: HostEntry | None = None,
) -> ClientVerdict:
    pin_file = PinFile(Path("pins.toml"), hosts=hosts)
    [verdict] = Apps(pin_file, TODAY).verdicts(host or hosts[0], [client], served, at)
    return verdict


LEAF_AND_SPARE = pins((LEAF, "leaf"), (SPARE, "leaf"))
INTER_AND_SPARE = pins((INTER, "intermediate"), (SPARE, "leaf"))
ROOT_AND_SPARE = pins((ROOT, "root"), (SPARE, "leaf"))
OLD_LEAF_AND_INTER = pins((LEAF, "leaf"), (INTER, "intermediate"))


def test_every_client_of_the_schema_has_a_judge() -> None:
    """The names the pin file accepts and the judges `--as` runs are the same list."""
    assert tuple(APPS) == CLIENTS


# -- OkHttp: CertificatePinner, any pin on any certificate of the cleaned chain ----------


@pytest.mark.parametrize("host_pins", [LEAF_AND_SPARE, INTER_AND_SPARE, ROOT_AND_SPARE])
def test_okhttp_accepts_a_pin_anywhere_on_the_path(host_pins: tuple[PinEntry, ...]) -> None:
    """OkHttp's CertificatePinner checks every certificate of the cleaned chain, the
    trust anchor included even when the server did not send it."""
    verdict = judge("okhttp", HostEntry("api.example.com", pins=host_pins))
    assert verdict.verdict == "accept"
    assert verdict.matched == host_pins[0]


def test_okhttp_rejects_when_no_pin_is_on_the_path() -> None:
    """Failing twin: pins of keys the chain does not hold."""
    verdict = judge("okhttp", HostEntry("api.example.com", pins=pins((SPARE, "leaf"))))
    assert (verdict.verdict, verdict.reason) == (
        "reject",
        "no pin matches a certificate of the validated chain",
    )


def test_okhttp_adds_the_pins_of_a_covering_wildcard() -> None:
    """CertificatePinner.findMatchingPins returns the host's pins and those of every
    `**.` pattern that matches it: a parent's pin is enough."""
    parent = HostEntry("example.com", include_subdomains=True, pins=pins((INTER, "intermediate")))
    own = HostEntry("b.a.example.com", pins=pins((SPARE, "leaf")))
    assert judge("okhttp", parent, own, host=own).verdict == "accept"
    narrow = HostEntry("example.com", pins=pins((INTER, "intermediate")))
    assert judge("okhttp", narrow, own, host=own).verdict == "reject"


# -- curl: --pinnedpubkey compares the leaf's key only ------------------------------------


def test_curl_accepts_the_leaf_key_only() -> None:
    """curl's CURLOPT_PINNEDPUBLICKEY is compared with the server certificate's key."""
    assert judge("curl", HostEntry("api.example.com", pins=LEAF_AND_SPARE)).verdict == "accept"
    rotated = judge("curl", HostEntry("api.example.com", pins=OLD_LEAF_AND_INTER), served=ROTATED)
    assert (rotated.verdict, rotated.reason) == ("reject", "no leaf pin matches the served leaf")


def test_curl_is_not_pinned_by_ca_pins() -> None:
    """The curl export leaves CA pins out, so a host with CA pins only gives curl nothing."""
    verdict = judge("curl", HostEntry("api.example.com", pins=pins((INTER, "intermediate"))))
    assert verdict.verdict == "not-pinned"
    assert "curl checks the leaf key only" in (verdict.reason or "")


def test_curl_pins_one_server_not_a_name() -> None:
    """The curl value is one host and port's: another port's leaf pin does not count."""
    other = HostEntry("api.example.com", port=8443, pins=pins((LEAF, "leaf")))
    mine = HostEntry("api.example.com", pins=pins((INTER, "intermediate")))
    assert judge("curl", other, mine, host=mine).verdict == "not-pinned"
    assert judge("curl", other, mine, host=other).verdict == "accept"


# -- Android: network security config -------------------------------------------------------

# Android: developer.android.com/privacy-and-security/security-config ("security-config"),
# and the platform's NetworkSecurityTrustManager and XmlConfigSource that implement it.
# iOS: developer.apple.com/documentation/bundleresources/information-property-list/
# nsapptransportsecurity/nspinneddomains and the NSPinned*Identities, NSIncludesSubdomains
# pages it links. TrustKit: datatheorem/TrustKit, TrustKit/parse_configuration.m.


def test_android_accepts_any_pin_of_the_trusted_chain() -> None:
    """security-config "Pin certificates": a chain is valid only if it contains at least one of the
    pinned public keys; NetworkSecurityTrustManager.checkPins walks the trusted chain,
    anchor included."""
    for host_pins in (LEAF_AND_SPARE, INTER_AND_SPARE, ROOT_AND_SPARE):
        assert judge("android", HostEntry("api.example.com", pins=host_pins)).verdict == "accept"
    spare = judge("android", HostEntry("api.example.com", pins=pins((SPARE, "leaf"))))
    assert spare.verdict == "reject"


def test_android_stops_enforcing_on_the_expiration_date() -> None:
    """security-config `<pin-set expiration>`: the date at which the pins expire, disabling pinning.
    XmlConfigSource parses it with SimpleDateFormat("yyyy-MM-dd") (the start of that day)
    and checkPins skips pinning once currentTimeMillis() is past it."""
    host = HostEntry(
        "api.example.com",
        pins=(PinEntry(SPARE, expires=date(2026, 6, 10)), PinEntry(compute(b"other"))),
    )
    before = judge("android", host, at=date(2026, 6, 9))
    assert before.verdict == "reject"  # enforced, and these pins do not match
    on = judge("android", host, at=date(2026, 6, 10))
    assert on.verdict == "accept-expired"
    assert "pinning is silently off" in (on.reason or "")
    assert on.warns
    assert not on.breaks


def test_android_uses_the_most_specific_domain_config() -> None:
    """security-config "Configuration inheritance behavior": the most specific matching
    domain-config applies; includeSubdomains covers subdomains of subdomains too."""
    parent = HostEntry("example.com", include_subdomains=True, pins=pins((INTER, "intermediate")))
    deep = HostEntry("b.a.example.com", pins=pins((SPARE, "leaf")))
    assert judge("android", parent, deep, host=deep).verdict == "reject"  # its own pin-set
    bare = HostEntry("b.a.example.com", pins=pins((LEAF, "leaf"), kind="cert"))
    assert judge("android", parent, bare, host=bare).verdict == "accept"  # the parent's


# -- iOS: NSPinnedDomains -------------------------------------------------------------------


def test_ios_leaf_list_must_name_the_leaf() -> None:
    """NSPinnedLeafIdentities: ATS blocks the connection unless it finds the SPKI digest of
    the leaf certificate presented by the server among the digests in this array."""
    assert judge("ios", HostEntry("api.example.com", pins=LEAF_AND_SPARE)).verdict == "accept"
    rotated = judge("ios", HostEntry("api.example.com", pins=LEAF_AND_SPARE), served=ROTATED)
    assert (rotated.verdict, rotated.reason) == ("reject", "no leaf pin matches the served leaf")


def test_ios_ca_list_must_name_a_ca_of_the_chain() -> None:
    """NSPinnedCAIdentities: ATS blocks the connection unless it finds the digest of at least
    one CA or sub-CA certificate in the chain; the leaf does not count as a CA."""
    ca_only = HostEntry("api.example.com", pins=pins((ROOT, "root")))
    assert judge("ios", ca_only).verdict == "accept"
    leaf_as_ca = HostEntry("api.example.com", pins=pins((LEAF, "intermediate")))
    verdict = judge("ios", leaf_as_ca)
    assert (verdict.verdict, verdict.reason) == (
        "reject",
        "no CA pin matches a CA certificate of the chain",
    )


def test_ios_requires_a_match_in_each_list() -> None:
    """NSPinnedDomains: "If you specify both, App Transport Security (ATS) requires a match
    in each category." A leaf rotated under the same CA passes OkHttp, not iOS."""
    host = HostEntry("api.example.com", pins=OLD_LEAF_AND_INTER)
    assert judge("ios", host).verdict == "accept"
    assert judge("ios", host, served=ROTATED).verdict == "reject"
    assert judge("okhttp", host, served=ROTATED).verdict == "accept"


def test_ios_subdomains_cover_one_label() -> None:
    """NSIncludesSubdomains: applies to subdomains "that have one additional path
    component" (math.example.com), not to advanced.math.example.com."""
    parent = HostEntry("example.com", include_subdomains=True, pins=pins((LEAF, "leaf")))
    one = HostEntry("math.example.com", pins=pins((LEAF, "leaf"), kind="cert"))
    two = HostEntry("advanced.math.example.com", pins=pins((LEAF, "leaf"), kind="cert"))
    assert judge("ios", parent, one, two, host=one).verdict == "accept"
    deep = judge("ios", parent, one, two, host=two)
    assert deep.verdict == "not-pinned"
    assert "covers 1 label only" in (deep.reason or "")
    assert judge("android", parent, one, two, host=two).verdict == "accept"


def test_ios_pins_never_expire() -> None:
    """NSPinnedDomains has no expiration key: past a pin's date the app still enforces it."""
    host = HostEntry("api.example.com", pins=(PinEntry(SPARE, expires=date(2026, 6, 10)),))
    assert judge("ios", host, at=date(2027, 1, 1)).verdict == "reject"


# -- TrustKit ---------------------------------------------------------------------------


def test_trustkit_refuses_a_domain_without_a_backup_pin() -> None:
    """parse_configuration.m raises "TrustKit was initialized with less than 2 pins (ie. no
    backup pins)" when pinning is enforced: the app does not start."""
    verdict = judge("trustkit", HostEntry("api.example.com", pins=pins((LEAF, "leaf"))))
    assert verdict.verdict == "config-error"
    assert verdict.breaks
    assert judge("trustkit", HostEntry("api.example.com", pins=LEAF_AND_SPARE)).verdict == "accept"


@pytest.mark.parametrize("name", ["10.0.0.5", "localhost"])
def test_trustkit_refuses_names_outside_a_public_suffix(name: str) -> None:
    """parse_configuration.m raises "initialized with an invalid domain" when
    GetRegistryLength is 0: no public suffix, as for an IP address or a single label."""
    assert judge("trustkit", HostEntry(name, pins=LEAF_AND_SPARE)).verdict == "config-error"


def test_trustkit_fails_open_from_its_expiration_date() -> None:
    """kTSKExpirationDate is parsed as midnight UTC; TSKPinningValidator treats a policy
    whose date is before now as not pinned."""
    host = HostEntry(
        "api.example.com",
        pins=(PinEntry(SPARE, expires=date(2026, 6, 10)), PinEntry(compute(b"other"))),
    )
    assert judge("trustkit", host, at=date(2026, 6, 9)).verdict == "reject"
    assert judge("trustkit", host, at=date(2026, 6, 10)).verdict == "accept-expired"


# -- what the export leaves out, the app does not have --------------------------------------


def test_a_pin_the_export_leaves_out_never_matches() -> None:
    """Cert pins, sha384 pins and pins expired on the export day are not in any app."""
    leaf_cert = HostEntry("api.example.com", pins=pins((LEAF, "leaf"), kind="cert"))
    for client in CLIENTS:
        assert judge(client, leaf_cert).verdict == "not-pinned", client
    expired = HostEntry(
        "api.example.com",
        pins=(PinEntry(LEAF, expires=date(2026, 5, 31)), PinEntry(SPARE, backup=True)),
    )
    assert judge("okhttp", expired).verdict == "reject"


# -- choosing the clients ---------------------------------------------------------------


def test_clients_are_parsed_from_lists_repeats_and_all() -> None:
    """`--as okhttp,ios --as curl` and `--as all`, in order, each once."""
    assert parse_clients(["okhttp,ios", "curl", "ios"]) == ("okhttp", "ios", "curl")
    assert parse_clients(["all"]) == CLIENTS
    assert parse_clients([" IOS , all"]) == ("ios", "okhttp", "curl", "android", "trustkit")


def test_an_unknown_client_is_a_usage_error_listing_the_clients() -> None:
    """A typo names itself and every client pinctl knows."""
    with pytest.raises(UsageError) as caught:
        parse_clients(["okhttp,iOS,okhtp"])
    assert str(caught.value) == (
        "--as: unknown client 'okhtp'; the clients are okhttp, curl, android, ios, trustkit "
        "(or all)"
    )


def test_as_overrides_the_host_which_overrides_the_defaults() -> None:
    """--as wins; else the host's clients; else [defaults] clients; else none."""
    plain = HostEntry("a.example")
    own = HostEntry("b.example", clients=("curl",))
    silent = HostEntry("c.example", clients=())
    pin_file = PinFile(Path("p"), defaults=Defaults(clients=("ios", "okhttp")), hosts=(plain, own))
    assert selected(plain, pin_file, None) == ("ios", "okhttp")
    assert selected(own, pin_file, None) == ("curl",)
    assert selected(silent, pin_file, None) == ()
    assert selected(own, pin_file, ("android",)) == ("android",)
    assert selected(plain, PinFile(Path("p"), hosts=(plain,)), None) == ()


@given(st.lists(st.text(max_size=20), max_size=4))
def test_any_as_value_is_clients_or_the_clean_usage_error(values: list[str]) -> None:
    """Whatever is typed after --as gives known clients, each once, or the one usage error."""
    words = [w.strip().lower() for v in values for w in v.split(",")]
    if all(w in (*CLIENTS, "all") for w in words):
        chosen = parse_clients(values)
        assert set(chosen) <= set(CLIENTS)
        assert len(set(chosen)) == len(chosen)
        return
    with pytest.raises(UsageError) as caught:
        parse_clients(values)
    message = str(caught.value)
    assert message.startswith("--as: unknown client ")
    assert message.endswith("the clients are okhttp, curl, android, ios, trustkit (or all)")
