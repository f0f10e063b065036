"""Chrome's and Apple's policies on minted certificates: every branch, each with its twin."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pinctl.ct import loglist
from pinctl.ct.report import CtReport, evaluate
from tests.support.ct import NOW, T0, MintCa, MintLog, Stamp, log_list, ocsp_with_scts


@pytest.fixture(scope="module")
def ca() -> MintCa:
    return MintCa()


@pytest.fixture(scope="module")
def logs() -> dict[str, MintLog]:
    """Three operators' RFC 6962 logs, a second log of operator A, two static-CT logs."""
    return {
        "a1": MintLog("A 2026", "Operator A"),
        "a2": MintLog("A 2026b", "Operator A"),
        "b1": MintLog("B 2026", "Operator B", rsa=True),
        "c1": MintLog("C 2026", "Operator C"),
        "ta": MintLog("A tiles", "Operator A", tiled=True),
        "tb": MintLog("B tiles", "Operator B", tiled=True),
    }


def _judge(
    ca: MintCa,
    listed: list[MintLog],
    stamps: list[Stamp],
    tmp_path: Path,
    *,
    days: int = 90,
    **kwargs: object,
) -> CtReport:
    leaf, _ = ca.leaf(stamps, days=days)
    path = log_list(listed, tmp_path / "list.json", **kwargs)  # type: ignore[arg-type]
    return evaluate(leaf, ca.cert, None, loglist.load(path), NOW)


def _both(report: CtReport) -> tuple[bool | None, bool | None]:
    return report.chrome.compliant, report.apple.compliant


def test_two_scts_of_two_operators_meet_both_for_90_days(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Two verified SCTs from two operators' logs: a 90-day leaf meets both policies."""
    report = _judge(ca, list(logs.values()), [Stamp(logs["a1"]), Stamp(logs["b1"])], tmp_path)
    assert [s.signature for s in report.scts] == ["valid", "valid"]
    assert report.lifetime_days == 90
    assert _both(report) == (True, True)


def test_two_scts_are_too_few_beyond_180_days(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Failing twin: the same two SCTs on a 181-day leaf; it needs three."""
    report = _judge(
        ca, list(logs.values()), [Stamp(logs["a1"]), Stamp(logs["b1"])], tmp_path, days=181
    )
    assert _both(report) == (False, False)
    assert "2 of the 3 SCTs" in (report.chrome.reason or "")
    assert "181-day" in (report.apple.reason or "")


def test_three_scts_meet_both_beyond_180_days(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Three SCTs from distinct logs of three operators meet both for a 200-day leaf."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["b1"]), Stamp(logs["c1"])]
    assert _both(_judge(ca, list(logs.values()), stamps, tmp_path, days=200)) == (True, True)


def test_two_logs_of_one_operator(ca: MintCa, logs: dict[str, MintLog], tmp_path: Path) -> None:
    """Two logs of one operator: Chrome wants two operators, Apple counts one per operator."""
    report = _judge(ca, list(logs.values()), [Stamp(logs["a1"]), Stamp(logs["a2"])], tmp_path)
    assert _both(report) == (False, False)
    assert "one operator" in (report.chrome.reason or "")
    assert "at most 1 per operator" in (report.apple.reason or "")


def test_long_lifetime_lets_apple_count_two_of_one_operator(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Beyond 180 days Apple counts two SCTs per operator: A, A and B are enough for both."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["a2"]), Stamp(logs["b1"])]
    assert _both(_judge(ca, list(logs.values()), stamps, tmp_path, days=300)) == (True, True)


def test_the_same_log_twice_counts_once(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Two SCTs from one log are one log: a third from another log is still missing."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["a1"], at=T0 + timedelta(seconds=1))]
    stamps.append(Stamp(logs["b1"]))
    report = _judge(ca, list(logs.values()), stamps, tmp_path, days=200)
    assert _both(report) == (False, False)


def test_a_retired_log_counts_for_scts_issued_before_it_retired(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """An SCT from a log retired after it was issued still counts."""
    retired = MintLog("R 2026", "Operator R", state="retired", state_at=T0 + timedelta(days=5))
    report = _judge(ca, [logs["a1"], retired], [Stamp(logs["a1"]), Stamp(retired)], tmp_path)
    assert report.scts[1].log is not None
    assert report.scts[1].log.state == "retired"
    assert _both(report) == (True, True)


def test_an_sct_issued_after_retirement_does_not_count(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Failing twin: the log retired before the SCT; the SCT is valid but does not count."""
    retired = MintLog("R 2025", "Operator R", state="retired", state_at=T0 - timedelta(days=1))
    report = _judge(ca, [logs["a1"], retired], [Stamp(logs["a1"]), Stamp(retired)], tmp_path)
    assert report.scts[1].signature == "valid"
    assert _both(report) == (False, False)
    assert "issued after the log retired on" in (report.chrome.reason or "")


def test_only_retired_logs_is_not_enough(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Both policies want one SCT from a log approved now, not only once-approved ones."""
    later = T0 + timedelta(days=5)
    r1 = MintLog("R1", "Operator R", state="retired", state_at=later)
    r2 = MintLog("S1", "Operator S", state="retired", state_at=later)
    report = _judge(ca, [r1, r2], [Stamp(r1), Stamp(r2)], tmp_path)
    assert _both(report) == (False, False)
    assert "now" in (report.chrome.reason or "")


def test_an_unknown_log(ca: MintCa, logs: dict[str, MintLog], tmp_path: Path) -> None:
    """An SCT from a log the list does not name is `unknown-log` and does not count."""
    report = _judge(ca, [logs["a1"]], [Stamp(logs["a1"]), Stamp(logs["b1"])], tmp_path)
    assert [s.signature for s in report.scts] == ["valid", "unknown-log"]
    assert report.scts[1].log is None
    assert _both(report) == (False, False)
    assert "not in the log list" in (report.chrome.reason or "")


def test_pending_and_rejected_logs_do_not_count(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Logs not (yet, or ever) approved give valid SCTs that count for nothing."""
    pending = MintLog("P", "Operator P", state="pending")
    rejected = MintLog("X", "Operator X", state="rejected")
    report = _judge(
        ca,
        [logs["a1"], pending, rejected],
        [Stamp(logs["a1"]), Stamp(pending), Stamp(rejected)],
        tmp_path,
    )
    assert [s.signature for s in report.scts] == ["valid"] * 3
    assert _both(report) == (False, False)


def test_static_ct_logs_only_fail_apples_rfc6962_rule(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Two tiled logs of two operators meet Chrome's counts but not Apple's RFC 6962 rule."""
    report = _judge(ca, list(logs.values()), [Stamp(logs["ta"]), Stamp(logs["tb"])], tmp_path)
    assert [s.log.rfc6962 for s in report.scts if s.log] == [False, False]
    assert _both(report) == (True, False)
    assert "RFC 6962" in (report.apple.reason or "")


def test_one_rfc6962_log_beside_a_tiled_one_meets_apple(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Twin: one RFC 6962 SCT beside a static-CT one is enough for Apple."""
    report = _judge(ca, list(logs.values()), [Stamp(logs["ta"]), Stamp(logs["b1"])], tmp_path)
    assert _both(report) == (True, True)


def test_a_stale_list_leaves_the_verdicts_unknown(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """A list older than 70 days: compliant is None, with a warning to download a new one."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["b1"])]
    report = _judge(ca, list(logs.values()), stamps, tmp_path, timestamp=NOW - timedelta(days=71))
    assert _both(report) == (None, None)
    assert report.age_days is not None
    assert round(report.age_days) == 71
    assert any("71 days old" in w for w in report.warnings)


def test_a_list_of_70_days_is_still_judged(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Twin: at exactly 70 days the list still judges, without an age warning."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["b1"])]
    report = _judge(ca, list(logs.values()), stamps, tmp_path, timestamp=NOW - timedelta(days=70))
    assert _both(report) == (True, True)
    assert report.warnings == ()


def test_a_list_without_a_timestamp_is_used_with_a_warning(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """No log_list_timestamp (Apple's file): judged, and the unknown age is a warning."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["b1"])]
    report = _judge(ca, list(logs.values()), stamps, tmp_path, timestamp=None)
    assert _both(report) == (True, True)
    assert report.age_days is None
    assert any("age is unknown" in w for w in report.warnings)


def test_no_scts_at_all(ca: MintCa, logs: dict[str, MintLog], tmp_path: Path) -> None:
    """A leaf without an SCT extension meets neither policy, and says so."""
    leaf, _ = ca.leaf(None)
    listed = loglist.load(log_list(list(logs.values()), tmp_path / "l.json"))
    report = evaluate(leaf, ca.cert, None, listed, NOW)
    assert report.scts == ()
    assert _both(report) == (False, False)
    assert report.chrome.reason == "the certificate carries no SCTs"


def test_a_bad_signature(ca: MintCa, logs: dict[str, MintLog], tmp_path: Path) -> None:
    """One flipped signature byte: that SCT is `invalid` and the leaf falls short."""
    stamps = [Stamp(logs["a1"]), Stamp(logs["b1"], spoil=True)]
    report = _judge(ca, list(logs.values()), stamps, tmp_path)
    assert [s.signature for s in report.scts] == ["valid", "invalid"]
    assert _both(report) == (False, False)
    assert "bad signature" in (report.chrome.reason or "")


def test_the_wrong_issuer_makes_every_signature_invalid(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """The issuer key hash is part of what the log signed: another CA's key breaks it."""
    leaf, _ = ca.leaf([Stamp(logs["a1"]), Stamp(logs["b1"])])
    listed = loglist.load(log_list(list(logs.values()), tmp_path / "l.json"))
    report = evaluate(leaf, MintCa().cert, None, listed, NOW)
    assert [s.signature for s in report.scts] == ["invalid", "invalid"]
    report = evaluate(leaf, None, None, listed, NOW)
    assert [s.signature for s in report.scts] == ["no-issuer", "no-issuer"]


def test_scts_of_a_stapled_ocsp_response(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """SCTs in a stapled OCSP response are verified over the certificate and can carry it."""
    leaf, _ = ca.leaf(None)
    listed = loglist.load(log_list(list(logs.values()), tmp_path / "l.json"))
    staple = ocsp_with_scts(ca, leaf, [Stamp(logs["a1"]), Stamp(logs["b1"])])
    report = evaluate(leaf, ca.cert, staple, listed, NOW)
    assert [(s.sct.source, s.signature) for s in report.scts] == [("ocsp", "valid")] * 2
    assert _both(report) == (True, True)


def test_stapled_scts_for_another_certificate_are_invalid(
    ca: MintCa, logs: dict[str, MintLog], tmp_path: Path
) -> None:
    """Failing twin: a staple whose SCTs were made for another leaf verifies nothing."""
    leaf, _ = ca.leaf(None)
    other, _ = ca.leaf(None)
    listed = loglist.load(log_list(list(logs.values()), tmp_path / "l.json"))
    staple = ocsp_with_scts(ca, other, [Stamp(logs["a1"]), Stamp(logs["b1"])])
    report = evaluate(leaf, ca.cert, staple, listed, NOW)
    assert [s.signature for s in report.scts] == ["invalid", "invalid"]
    assert _both(report) == (False, False)
