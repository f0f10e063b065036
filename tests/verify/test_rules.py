"""OkHttp's matching rule: which certificates of a chain a pin may match."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives.serialization import Encoding

from pinctl.pinfile.model import PinEntry
from pinctl.pki.pins import HashAlg, compute
from pinctl.verify.rules import OkHttpRule, Presented
from tests.support.hosts import (
    TODAY,
    ServedPki,
    certs,
    other_pin,
    pin,
    root_of,
    spki,
    verify_saved_chain,
)


class TestOkHttpRule:
    def test_leaf_pin_matches(self, tmp_path: Path, pki: ServedPki) -> None:
        """A pin of the leaf key passes."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [pin(served[0]), other_pin()])
        assert (host.status, host.ok, host.matched) == ("pass", True, pin(served[0]))

    def test_unknown_pin_fails(self, tmp_path: Path, pki: ServedPki) -> None:
        """The failing twin: a pin of an unrelated key is a pin-mismatch."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [other_pin()])
        assert (host.status, host.ok, host.matched) == ("pin-mismatch", False, None)
        assert host.error == "no pin matches the chain"

    def test_intermediate_pin_matches(self, tmp_path: Path, pki: ServedPki) -> None:
        """A pin on the intermediate passes, as in OkHttp."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [pin(served[1], level="intermediate")])
        assert host.status == "pass"

    def test_unserved_anchor_pin_matches(self, tmp_path: Path, pki: ServedPki) -> None:
        """A pin on the root the server never sent matches: validation reached it."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [pin(root_of(root), level="root")])
        assert host.status == "pass"
        assert [c.served for c in host.chain] == [True, True, False]
        assert host.chain[-1].spki == spki(root_of(root))

    def test_anchor_pin_without_validation_fails(self, tmp_path: Path, pki: ServedPki) -> None:
        """With verify_chain = false only the served chain counts, so the root pin fails."""
        root, _, served = pki
        pins = [pin(root_of(root), level="root")]
        host = verify_saved_chain(tmp_path, root, served, pins, verify_chain=False)
        assert host.status == "pin-mismatch"
        assert [c.served for c in host.chain] == [True, True]

    def test_served_certificate_off_the_path_never_matches(
        self, tmp_path: Path, pki: ServedPki
    ) -> None:
        """A certificate the server appends but validation does not use cannot satisfy a pin."""
        root, _, served = pki
        stray = root_of(trustme.CA())
        host = verify_saved_chain(tmp_path, root, (*served, stray), [pin(stray)])
        assert host.status == "pin-mismatch"
        assert spki(stray) not in [c.spki for c in host.chain]

    def test_expired_pin_never_matches(self, tmp_path: Path, pki: ServedPki) -> None:
        """A pin past its expires date does not match even the right key."""
        root, _, served = pki
        yesterday = TODAY - timedelta(days=1)
        host = verify_saved_chain(tmp_path, root, served, [pin(served[0], expires=yesterday)])
        assert host.status == "pin-mismatch"
        assert any("expired on" in w for w in host.warnings)

    @pytest.mark.parametrize("lines", [False, True], ids=["no-lines", "with-lines"])
    @pytest.mark.parametrize("count", [1, 2])
    def test_only_expired_pins_matching_is_said_so(
        self, tmp_path: Path, pki: ServedPki, count: int, lines: bool
    ) -> None:
        """The mismatch names the fix: the pins that match have expired, the last on the
        latest of their dates; one pin or two (the leaf's and the intermediate's), with
        the pin file's lines when they are known."""
        root, _, served = pki
        days = [TODAY - timedelta(days=1), TODAY - timedelta(days=3)][:count]
        pins = [
            pin(cert, expires=day, line=(7 + n if lines else None))
            for n, (cert, day) in enumerate(zip(served, days, strict=False))
        ]
        host = verify_saved_chain(tmp_path, root, served, pins)
        assert host.status == "pin-mismatch"
        last = days[0].isoformat()
        where = (" (line 7)" if count == 1 else " (line 7, line 8)") if lines else ""
        assert host.error == (
            f"the only matching pin{where} expired on {last}"
            if count == 1
            else f"the 2 matching pins{where} have expired, the last on {last}"
        )

    def test_pin_matches_on_its_expiry_day(self, tmp_path: Path, pki: ServedPki) -> None:
        """The twin: a pin is good through its expires day."""
        root, _, served = pki
        host = verify_saved_chain(
            tmp_path, root, served, [pin(served[0], expires=TODAY), other_pin()]
        )
        assert host.status == "pass"

    def test_cert_pin_matches_certificate_hash(self, tmp_path: Path, pki: ServedPki) -> None:
        """A cert pin is the hash of the whole certificate."""
        root, _, served = pki
        fingerprint = compute(served[0].public_bytes(Encoding.DER))
        host = verify_saved_chain(tmp_path, root, served, [PinEntry(fingerprint, kind="cert")])
        assert host.status == "pass"

    def test_cert_kind_does_not_match_spki_hash(self, tmp_path: Path, pki: ServedPki) -> None:
        """The twin: an SPKI hash declared as kind = cert matches nothing."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [PinEntry(spki(served[0]), kind="cert")])
        assert host.status == "pin-mismatch"

    @pytest.mark.parametrize("alg", ["sha384", "sha512", "sha1"])
    def test_other_hash_algorithms_match(
        self, tmp_path: Path, pki: ServedPki, alg: HashAlg
    ) -> None:
        """Pins are compared with their own algorithm, sha1 included (with a warning)."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [PinEntry(spki(served[0], alg))])
        assert host.status == "pass"
        assert any("sha1" in w for w in host.warnings) == (alg == "sha1")

    def test_unvalidated_pin_on_a_genuine_chain_matches(
        self, tmp_path: Path, pki: ServedPki
    ) -> None:
        """With verify_chain = false, the leaf's real issuer served after it may match a pin."""
        _, _, served = pki
        pins = [pin(served[1], level="intermediate")]
        host = verify_saved_chain(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert host.status == "pass"

    @pytest.mark.parametrize("appended", ["leaf", "leaf+intermediate", "intermediate"])
    def test_appended_genuine_certificates_never_match_unvalidated(
        self, tmp_path: Path, pki: ServedPki, appended: str
    ) -> None:
        """The twin: copies of the genuine chain after an attacker's leaf never satisfy a pin."""
        _, _, genuine = pki
        evil = certs(trustme.CA().issue_cert("api.test").cert_chain_pems)
        copies = {"leaf": genuine[:1], "leaf+intermediate": genuine, "intermediate": genuine[1:]}
        served = evil + copies[appended]
        pins = [pin(cert) for cert in genuine]
        host = verify_saved_chain(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert (host.status, host.matched) == ("pin-mismatch", None)
        assert [c.spki for c in host.chain] == [spki(evil[0])]

    def test_unvalidated_chain_stops_at_the_first_break(self, pki: ServedPki) -> None:
        """Issuers count link by link in served order; one stray certificate ends the chain."""
        _, _, (leaf, intermediate) = pki
        stray = root_of(trustme.CA())
        rule = OkHttpRule()
        assert rule.considered(Presented((leaf, intermediate, stray), None)) == (leaf, intermediate)
        assert rule.considered(Presented((leaf, stray, intermediate), None)) == (leaf,)
        assert rule.considered(Presented((intermediate, leaf), None)) == (intermediate,)

    def test_rule_is_replaceable(self, pki: ServedPki) -> None:
        """The rule is a part: the OkHttp one looks at the path when there is one."""
        _, _, served = pki
        rule = OkHttpRule()
        assert rule.considered(Presented(served, None)) == served
        assert rule.match([pin(served[1])], Presented(served, served[:1]), TODAY) is None
