"""verify's ct check in the pipeline: the stapled OCSP response's SCTs reach the verdict.

No server here staples (net/tls.py asks for staples on the revocation branch), so the
handshake's result is given as a saved observation with `TlsInfo.stapled_ocsp` set,
the shape the TLS layer hands over; everything after it is the real pipeline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pinctl.ct import loglist
from pinctl.ct.report import CtSetting
from pinctl.errors import ConnectError
from pinctl.net.session import TlsInfo
from pinctl.net.steps import Steps
from pinctl.net.targets import parse_target
from pinctl.pinfile.model import Defaults, HostEntry, PinEntry
from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute
from pinctl.verify.evidence import Subject
from pinctl.verify.observation import Observed
from pinctl.verify.pipeline import check_host
from pinctl.verify.results import HostResult
from pinctl.verify.rules import OkHttpRule
from pinctl.verify.verdicts import Failed, Passed, Skipped
from tests.support.ct import NOW, MintCa, MintLog, Stamp, log_list, ocsp_with_scts


def _run(
    ca: MintCa,
    stapled: bool,
    tmp_path: Path,
    logs: list[MintLog],
    mode: str,
    *,
    reached: bool = True,
    trusted: bool = True,
) -> HostResult:
    leaf, _ = ca.leaf(None, host="api.test")
    listed = loglist.load(log_list(logs, tmp_path / "l.json"))
    staple = ocsp_with_scts(ca, leaf, [Stamp(log) for log in logs]) if stapled else None
    tls = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", stapled_ocsp=staple)

    def observe(target: object, deadline: float) -> Steps[Observed]:
        if not reached:
            raise ConnectError("connection refused", "unreachable")
        return Observed((leaf,), tls, True)
        yield

    entry = HostEntry("api.test", pins=(PinEntry(compute(spki_der(leaf.public_key()))),))
    subject = Subject(
        entry,
        parse_target("api.test"),
        Defaults(),
        (ca.cert,) if trusted else (),
        OkHttpRule(),
        observe,
        0.0,
        NOW,
        ct=CtSetting(mode, ("chrome", "apple"), listed),
    )
    steps = check_host(subject, strict=False)
    try:
        while True:
            steps.send(None)
    except StopIteration as stop:
        result: HostResult = stop.value
    return result


@pytest.fixture(scope="module")
def ca() -> MintCa:
    return MintCa()


def test_stapled_scts_make_a_leaf_without_embedded_ones_compliant(
    ca: MintCa, tmp_path: Path
) -> None:
    """A leaf with no embedded SCTs, stapled with two logs' SCTs: `require` passes."""
    logs = [MintLog("A", "Operator A"), MintLog("B", "Operator B")]
    result = _run(ca, True, tmp_path, logs, "require")
    verdict = dict(result.checks)["ct"]
    assert isinstance(verdict, Passed), verdict
    assert result.ct is not None
    assert [(s.sct.source, s.signature) for s in result.ct.scts] == [("ocsp", "valid")] * 2
    assert result.status == "pass"


def test_no_staple_and_no_embedded_scts_fail_require(ca: MintCa, tmp_path: Path) -> None:
    """Failing twin: the same leaf without the staple is ct-noncompliant."""
    logs = [MintLog("A", "Operator A"), MintLog("B", "Operator B")]
    result = _run(ca, False, tmp_path, logs, "require")
    verdict = dict(result.checks)["ct"]
    assert isinstance(verdict, Failed)
    assert verdict.status == "ct-noncompliant"
    assert result.status == "ct-noncompliant"
    assert "carries no SCTs" in verdict.reason


@pytest.mark.parametrize(
    ("reached", "trusted", "status", "reason"),
    [
        (False, True, "unreachable", "no chain: the host was not reached"),
        (
            True,
            False,
            "untrusted",
            "no validated path to take the issuer from: the chain check failed",
        ),
    ],
    ids=["unreached", "untrusted"],
)
def test_ct_without_a_chain_or_a_path_is_skipped_and_never_passes(
    ca: MintCa, tmp_path: Path, reached: bool, trusted: bool, status: str, reason: str
) -> None:
    """With ct = require, a host that was not reached, or whose chain has no path to a
    trusted root, gets no CT verdict of its own: the check says why it was skipped, and
    the host fails on what did go wrong (the twins above reach a verdict)."""
    logs = [MintLog("A", "Operator A"), MintLog("B", "Operator B")]
    result = _run(ca, True, tmp_path, logs, "require", reached=reached, trusted=trusted)
    assert dict(result.checks)["ct"] == Skipped(reason)
    assert result.status == status
    assert not result.ok
