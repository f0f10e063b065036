"""A host's status follows from its verdicts: SPEC.md section 5's precedence, failing closed."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, cast

import pytest

from pinctl.errors import ExitCode
from pinctl.pinfile.model import HostEntry
from pinctl.verify.results import Crashed, HostResult, Reached, Unreached
from pinctl.verify.verdicts import (
    PRECEDENCE,
    Failed,
    Passed,
    Skipped,
    Unchecked,
    Verdict,
    deciding,
    result_name,
)
from tests.support.hosts import host_result

ENTRY = HostEntry("a.test")
FAILING = PRECEDENCE[: PRECEDENCE.index("unreachable")]
NOT_CHECKED = PRECEDENCE[PRECEDENCE.index("unreachable") :]


def verdict(status: str) -> Verdict:
    if status in NOT_CHECKED:
        return Unchecked(cast(Any, status), f"because {status}")
    return Failed(cast(Any, status), f"because {status}")


def reached(*checks: tuple[str, Verdict]) -> HostResult:
    return HostResult(ENTRY, cast(Any, checks), Reached((), None, None))


def test_precedence_is_specs_order() -> None:
    """Statuses rank as SPEC.md section 5 lists them, every exit-1 one before every exit-3 one."""
    assert FAILING == (
        "tls-policy",
        "untrusted",
        "hostname-mismatch",
        "revoked",
        "pin-mismatch",
        "client-reject",
        "ct-noncompliant",
        "starttls-unsupported",
    )
    assert NOT_CHECKED == ("unreachable", "timeout", "tls-error", "revocation-unavailable")


@pytest.mark.parametrize("status", PRECEDENCE)
def test_every_status_names_the_host_and_its_exit_code(status: str) -> None:
    """Each status a check gives becomes the host's: exit 1 for a failure, 3 for could-not-check."""
    host = reached(("connect", Passed()), ("x", verdict(status)), ("pins", Passed()))
    assert (host.status, host.ok, host.error) == (status, False, f"because {status}")
    expected = ExitCode.UNREACHABLE if status in NOT_CHECKED else ExitCode.FAILED
    assert host.exit_code == expected


@pytest.mark.parametrize(("higher", "lower"), list(itertools.pairwise(PRECEDENCE)))
def test_the_more_serious_verdict_wins_whatever_the_order(higher: str, lower: str) -> None:
    """Of two verdicts the one earlier in the precedence names the status, wherever it stands."""
    for checks in ([verdict(lower), verdict(higher)], [verdict(higher), verdict(lower)]):
        host = reached(*(("c", v) for v in checks))
        assert host.status == higher


@pytest.mark.parametrize("status", ["pin-mismatch", "timeout"])
def test_on_a_tie_the_earliest_check_names_the_reason(status: str) -> None:
    """Two checks with the same status: the host's reason is the one the pipeline met first
    (the one a fix must start with), not the last."""
    first = verdict(status)
    second = replace(cast(Failed | Unchecked, first), reason="found later")
    host = reached(("a", first), ("b", second))
    assert deciding(((cast(Any, "a"), first), (cast(Any, "b"), second))) is first
    assert (host.status, host.error) == (status, f"because {status}")


def test_a_failure_wins_over_a_host_that_could_not_be_checked() -> None:
    """1 wins over 3 within a host: a pin-mismatch beats an unavailable revocation answer."""
    host = reached(
        ("revocation", verdict("revocation-unavailable")), ("pins", verdict("pin-mismatch"))
    )
    assert (host.status, host.exit_code) == ("pin-mismatch", ExitCode.FAILED)


def test_passes_and_skips_pass() -> None:
    """A host whose verdicts all passed or were skipped passes, with no error."""
    host = reached(("connect", Passed()), ("ct", Skipped("not built")), ("pins", Passed("matched")))
    assert (host.status, host.ok, host.error, host.exit_code) == ("pass", True, None, ExitCode.OK)


def test_no_pass_without_the_pins_check() -> None:
    """The twin: with every check skipped (or the pins check missing), the host fails closed."""
    host = reached(("connect", Passed()), ("pins", Skipped("no input")))
    assert (host.status, host.ok, host.exit_code) == ("pin-mismatch", False, ExitCode.FAILED)
    assert "fails closed" in (host.error or "")
    assert reached().ok is False


def test_a_crashed_check_fails_closed() -> None:
    """An internal error is exit 1 even though its status is the could-not-check tls-error."""
    host = HostResult(ENTRY, (), Crashed("internal error (RuntimeError: boom)"))
    assert (host.status, host.ok, host.exit_code) == ("tls-error", False, ExitCode.FAILED)
    assert host.error == "internal error (RuntimeError: boom)"


def test_an_unreached_host_carries_no_chain() -> None:
    """A host that was not reached has no session, chain or matched pin to show."""
    host = HostResult(ENTRY, (("connect", Unchecked("timeout", "timed out")),), Unreached())
    assert (host.tls, host.chain, host.matched, host.status) == (None, (), None, "timeout")


def test_matched_pin_only_on_a_pass() -> None:
    """A pin that matched on a host failed by an earlier check is not reported as its match."""
    from pinctl.pinfile.model import PinEntry
    from pinctl.pki.pins import Pin

    pin = PinEntry(Pin("sha256", bytes(range(32))))
    passing = HostResult(ENTRY, (("pins", Passed()),), Reached((), None, pin))
    failing = HostResult(
        ENTRY, (("tls-policy", verdict("tls-policy")), ("pins", Passed())), Reached((), None, pin)
    )
    assert (passing.matched, failing.matched) == (pin, None)


def test_result_names() -> None:
    """JSON spells the four verdicts pass, fail, unchecked and skipped."""
    names = [
        result_name(v) for v in (Passed(), verdict("untrusted"), verdict("timeout"), Skipped("-"))
    ]
    assert names == ["pass", "fail", "unchecked", "skipped"]
    assert deciding([]) is None


def test_strict_warnings_fail_a_pass() -> None:
    """Under --strict a pass with warnings is not ok and says why; without them it is."""
    warned = host_result(ENTRY, "pass")
    assert warned.ok
    strict = replace(warned, warnings=("no backup pin",), strict=True)
    assert (strict.status, strict.ok, strict.exit_code) == ("pass", False, ExitCode.FAILED)
    assert (strict.error or "").startswith("--strict: 1 warning(s)")
