"""verify's warnings: no backup, expiring or weak pins, a leaf about to expire; --strict."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import trustme
from cryptography import x509

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


class TestWarnDaysBoundaries:
    """`warn_days` is inclusive: a pin or leaf with exactly that many days left warns; one
    more day does not. A pin is usable through its `expires` day, and expired the day after."""

    WARN = 30

    def test_a_pin_expiring_in_exactly_warn_days_warns(self) -> None:
        at = [PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY + timedelta(days=30))]
        assert pin_warnings(at, TODAY, self.WARN) == (
            f"pin {at[0].pin} expires in 30 days ({at[0].expires})",
        )

    def test_a_retired_pin_says_nothing_and_the_pins_after_it_still_do(self) -> None:
        """A retired pin is kept on record only: its own expiry is no warning, and the pins
        listed after it are judged as ever."""
        old = PinEntry(Pin("sha256", bytes(range(1, 33))), retired=True, expires=TODAY)
        soon = PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY + timedelta(days=3))
        assert pin_warnings([old, soon], TODAY, self.WARN) == (
            f"pin {soon.pin} expires in 3 days ({soon.expires})",
        )

    def test_a_pin_with_a_day_more_does_not_warn(self) -> None:
        after = [PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY + timedelta(days=31))]
        assert pin_warnings(after, TODAY, self.WARN) == ()

    def test_a_pin_expiring_today_warns_and_still_counts(self, pki: ServedPki) -> None:
        """Its last day: a warning with 0 days, and it still matches (no 'no backup' alone)."""
        _, _, served = pki
        today = PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY)
        assert pin_warnings([today], TODAY, self.WARN) == (
            f"pin {today.pin} expires in 0 days ({TODAY})",
        )
        assert pin_warnings([today], TODAY, 0) == pin_warnings([today], TODAY, self.WARN)
        backup_today = replace(other_pin(), expires=TODAY)
        assert chain_warnings([pin(served[0]), backup_today], served, NOW, 0) == ()

    def test_a_pin_that_expired_yesterday_is_expired(self, pki: ServedPki) -> None:
        _, _, served = pki
        gone = PinEntry(Pin("sha256", bytes(range(32))), expires=TODAY - timedelta(days=1))
        assert pin_warnings([gone], TODAY, self.WARN) == (
            f"pin {gone.pin} expired on {gone.expires} and never matches",
        )
        backup_gone = replace(other_pin(), expires=TODAY - timedelta(days=1))
        assert "no backup pin" in chain_warnings([pin(served[0]), backup_gone], served, NOW, 0)[0]

    def _leaf(self, days: int) -> tuple[x509.Certificate, ...]:
        ca = trustme.CA()
        exact = NOW.replace(microsecond=0)
        return certs(
            ca.issue_cert("a.test", not_after=exact + timedelta(days=days)).cert_chain_pems
        )

    def test_a_leaf_expiring_in_exactly_warn_days_warns(self) -> None:
        chain = self._leaf(self.WARN)
        found = chain_warnings([pin(chain[0]), other_pin()], chain, NOW.replace(microsecond=0), 30)
        assert len(found) == 1
        assert found[0].endswith(f"expires in 30 days ({(TODAY + timedelta(days=30))})")

    def test_a_leaf_with_a_day_more_does_not_warn(self) -> None:
        chain = self._leaf(self.WARN + 1)
        now = NOW.replace(microsecond=0)
        assert chain_warnings([pin(chain[0]), other_pin()], chain, now, self.WARN) == ()

    def test_a_leaf_expiring_today_warns_with_zero_days(self) -> None:
        chain = self._leaf(0)
        now = NOW.replace(microsecond=0) - timedelta(hours=1)
        found = chain_warnings([pin(chain[0]), other_pin()], chain, now, 0)
        assert len(found) == 1
        assert "expires in 0 days" in found[0]

    def test_strict_fails_the_boundary_and_passes_the_day_after(
        self, tmp_path: Path, pki: ServedPki
    ) -> None:
        """--strict: a pin with exactly warn_days left fails the host; one more day passes."""
        root, _, served = pki
        ca = tmp_path / "root.pem"
        root.cert_pem.write_to_path(str(ca))
        outcomes = {}
        for days in (self.WARN, self.WARN + 1):
            pins = (
                replace(pin(served[0]), expires=TODAY + timedelta(days=days)),
                replace(other_pin(), expires=TODAY + timedelta(days=400)),
            )
            entry = HostEntry("api.test", pins=pins)
            defaults = Defaults(ca_file=ca, warn_days=self.WARN)
            pin_file = PinFile(tmp_path / "p.toml", defaults=defaults, hosts=(entry,))
            for strict in (False, True):
                result = verify(
                    pin_file, pin_file.hosts, VerifyOptions(strict=strict), NOW, chain=served
                )
                outcomes[days, strict] = (result.exit_code, result.hosts[0].warnings)
        assert outcomes[self.WARN, False][0] == ExitCode.OK
        assert outcomes[self.WARN, False][1]
        assert outcomes[self.WARN, True][0] == ExitCode.FAILED
        assert outcomes[self.WARN + 1, False] == (ExitCode.OK, ())
        assert outcomes[self.WARN + 1, True] == (ExitCode.OK, ())


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


def _year_zero_leaf(tmp_path: Path) -> tuple[Path, Path]:
    """A leaf whose notAfter is 0000-01-01 (valid GeneralizedTime, which `datetime` cannot
    hold), issued by a trustme CA: the chain file and the CA file."""
    import base64
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca = trustme.CA()
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "y0")]))
        .issuer_name(ca_cert.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2050, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("y0.test")]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    der = leaf.public_bytes(serialization.Encoding.DER)
    der = der.replace(b"20500101000000Z", b"00000101000000Z")  # the signature no longer holds
    chain, roots = tmp_path / "y0.pem", tmp_path / "ca.pem"
    body = base64.encodebytes(der).decode()
    chain.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
    ca.cert_pem.write_to_path(str(roots))
    return chain, roots


def test_a_leaf_that_expired_in_year_zero_fails_with_its_date(tmp_path: Path) -> None:
    """notAfter 0000-01-01 is a date, not a crash: verify --chain fails the host as
    untrusted, warns that the leaf expired on 0000-01-01, and the metrics give its
    notAfter as the seconds before 1970 that `date -d 0000-01-01` counts."""
    from tests.support.cli import invoke

    chain, roots = _year_zero_leaf(tmp_path)
    pins = tmp_path / "pins.toml"
    pins.write_text(
        'version = 1\n[[hosts]]\nhost = "y0.test"\n'
        'pins = [{ pin = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=" }]\n'
    )
    metrics = tmp_path / "pinctl.prom"
    args = ["verify", "--pin-file", str(pins), "--chain", str(chain), "--ca-file", str(roots)]
    result = invoke([*args, "--textfile", str(metrics), "y0.test"])
    assert result.exit_code == ExitCode.FAILED, result.stderr
    assert "untrusted: certificate CN=y0 expired on 0000-01-01\n" in result.stdout
    assert "warning: leaf certificate CN=y0 expired on 0000-01-01\n" in result.stdout
    assert "internal error" not in result.stdout + result.stderr
    assert 'position="0",spki=' in metrics.read_text()
    assert "} -62167219200\n" in metrics.read_text()
