"""verify's warnings: no backup, expiring or weak pins, a leaf about to expire; --strict."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import trustme

from pinctl.errors import ExitCode
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry, PinFile
from pinctl.pki.pins import Pin
from pinctl.verify.run import VerifyOptions, verify
from pinctl.verify.warnings import chain_warnings, pin_warnings
from tests.support.hosts import (
    NOW,
    TODAY,
    ServedPki,
    certs,
    other_pin,
    pin,
    verify_saved_chain,
)


class TestWarnings:
    def test_pin_file_warnings(self) -> None:
        """Expired, soon-expiring and sha1 pins are each named, with their line."""
        digest = bytes(range(1, 21))
        pins = [
            PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY - timedelta(days=3), line=4),
            PinEntry(Pin("sha256", bytes(range(1, 33))), expires=TODAY + timedelta(days=5)),
            PinEntry(Pin("sha1", digest)),
            PinEntry(Pin("sha256", bytes(range(2, 34))), expires=TODAY + timedelta(days=90)),
        ]
        warnings = pin_warnings(pins, TODAY, 30)
        assert len(warnings) == 3
        assert "(line 4) expired on" in warnings[0]
        assert "expires in 5 days" in warnings[1]
        assert "sha1" in warnings[2]

    def test_no_backup_pin(self, pki: ServedPki) -> None:
        """Every pin matching the current chain means no backup: a warning."""
        _, _, served = pki
        assert "no backup pin" in chain_warnings([pin(served[0])], served, NOW, 0)[0]
        assert chain_warnings([pin(served[0]), other_pin()], served, NOW, 0) == ()

    def test_expired_pin_is_no_backup(self, pki: ServedPki) -> None:
        """A backup that has expired no longer counts as one."""
        _, _, served = pki
        stale = replace(other_pin(), expires=TODAY - timedelta(days=1))
        assert chain_warnings([pin(served[0]), stale], served, NOW, 0)

    def test_leaf_expiring(self) -> None:
        """A leaf expiring within warn_days is a warning; later is not."""
        ca = trustme.CA()
        soon = certs(ca.issue_cert("a.test", not_after=NOW + timedelta(days=10)).cert_chain_pems)
        pins = [pin(soon[0]), other_pin()]
        assert "expires in" in chain_warnings(pins, soon, NOW, 30)[0]
        assert chain_warnings(pins, soon, NOW, 5) == ()

    def test_strict_fails_a_pass_with_warnings(self, tmp_path: Path, pki: ServedPki) -> None:
        """--strict turns warnings into a failure (exit 1); without it the host passes."""
        root, _, served = pki
        entry = HostEntry("api.test", pins=(pin(served[0]),))
        ca = tmp_path / "root.pem"
        root.cert_pem.write_to_path(str(ca))
        pin_file = PinFile(tmp_path / "p.toml", defaults=Defaults(ca_file=ca), hosts=(entry,))
        lax = verify(pin_file, pin_file.hosts, VerifyOptions(), NOW, chain=served)
        strict = verify(pin_file, pin_file.hosts, VerifyOptions(strict=True), NOW, chain=served)
        assert (lax.hosts[0].ok, lax.exit_code) == (True, ExitCode.OK)
        assert lax.hosts[0].warnings
        assert (strict.hosts[0].status, strict.hosts[0].ok) == ("pass", False)
        assert strict.exit_code == ExitCode.FAILED
        assert (strict.hosts[0].error or "").startswith("--strict")


class TestStanding:
    """SPEC.md section 5's warnings, from the definitions `plan` shares (verify/standing.py)."""

    def test_retired_pin_never_matches(self, tmp_path: Path, pki: ServedPki) -> None:
        """A retired pin on the served leaf does not pass the host; unretired, it does."""
        root, _, served = pki
        retired = verify_saved_chain(tmp_path, root, served, [pin(served[0], retired=True)])
        assert (retired.status, retired.ok) == ("pin-mismatch", False)
        assert "retired" in (retired.error or "")
        twin = verify_saved_chain(tmp_path, root, served, [pin(served[0]), other_pin()])
        assert twin.status == "pass"

    def test_retired_pin_presented_warns(self, pki: ServedPki) -> None:
        """A retired pin the server still presents is named; a retired absent key is not."""
        _, _, served = pki
        pins = [pin(served[0]), pin(served[1], retired=True), other_pin()]
        assert any("retired pin" in w for w in chain_warnings(pins, served, NOW, 0))
        absent = [pin(served[0]), replace(other_pin(), backup=False, retired=True), other_pin()]
        assert chain_warnings(absent, served, NOW, 0) == ()

    def test_retired_pin_is_no_backup(self, pki: ServedPki) -> None:
        """A retired key's pin that matches nothing does not count as a backup."""
        _, _, served = pki
        retired = replace(other_pin(), retired=True)
        assert "no backup pin" in chain_warnings([pin(served[0]), retired], served, NOW, 0)[0]

    def test_backup_in_live_chain_warns(self, pki: ServedPki) -> None:
        """A backup pin on a served certificate is no longer a backup: a warning, twice over."""
        _, _, served = pki
        warnings = chain_warnings([pin(served[0], backup=True)], served, NOW, 0)
        assert warnings[0].startswith("no backup pin")
        assert "is in the live chain" in warnings[1]
        assert "promote" in warnings[1]
        assert chain_warnings([pin(served[0]), other_pin()], served, NOW, 0) == ()

    def test_stale_pin_warns(self, pki: ServedPki) -> None:
        """A pin of no served key that is not a backup is stale; flagged as backup, it is not."""
        _, _, served = pki
        stale = replace(other_pin(), backup=False)
        warnings = chain_warnings([pin(served[0]), stale, other_pin()], served, NOW, 0)
        assert len(warnings) == 1
        assert "is stale" in warnings[0]
        assert chain_warnings([pin(served[0]), other_pin()], served, NOW, 0) == ()
