"""The chain and TLS policy checks, on saved chains and sessions."""

from __future__ import annotations

from pathlib import Path

import trustme

from pinctl.net.session import TlsInfo
from pinctl.verify.checks.tls_policy import policy
from pinctl.verify.observation import Observed
from pinctl.verify.verdicts import Failed, Passed, Skipped
from tests.support.hosts import (
    ServedPki,
    other_pin,
    pin,
    verify_saved_chain,
)


class TestChecks:
    def test_untrusted_chain(self, tmp_path: Path, pki: ServedPki) -> None:
        """A chain from another CA is untrusted even when a pin would match."""
        _, _, served = pki
        host = verify_saved_chain(tmp_path, trustme.CA(), served, [pin(served[0])])
        assert (host.status, host.ok) == ("untrusted", False)
        assert host.error

    def test_untrusted_chain_ignored_without_verify_chain(
        self, tmp_path: Path, pki: ServedPki
    ) -> None:
        """The twin: verify_chain = false pins by key alone and passes."""
        _, _, served = pki
        pins = [pin(served[0]), other_pin()]
        host = verify_saved_chain(tmp_path, trustme.CA(), served, pins, verify_chain=False)
        assert host.status == "pass"

    def test_hostname_mismatch(self, tmp_path: Path, pki: ServedPki) -> None:
        """A trusted chain for another name is a hostname-mismatch."""
        root, _, served = pki
        host = verify_saved_chain(tmp_path, root, served, [pin(served[0])], servername="other.test")
        assert host.status == "hostname-mismatch"
        assert "other.test" in (host.error or "")

    def test_tls_policy(self) -> None:
        """min_tls and forward secrecy are enforced; an unknown protocol fails closed."""
        tls12 = Observed((), TlsInfo("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), True)
        assert policy(tls12, "1.2", True) == Passed()
        below = policy(tls12, "1.3", True)
        assert isinstance(below, Failed)
        assert (below.status, "below min_tls" in below.reason) == ("tls-policy", True)
        rsa = Observed((), TlsInfo("TLSv1.2", "AES128-GCM-SHA256"), False)
        weak = policy(rsa, "1.2", True)
        assert isinstance(weak, Failed)
        assert "forward secrecy" in weak.reason
        assert policy(rsa, "1.2", False) == Passed()
        odd = Observed((), TlsInfo("SSLv3", "RC4-MD5"), True)
        assert isinstance(policy(odd, "1.0", False), Failed)
        assert isinstance(policy(Observed(()), "1.3", True), Skipped)
