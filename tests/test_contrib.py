"""contrib/prometheus/pinctl-rules.yml: the alert rules the README gives, as Prometheus reads them.

Parsed as YAML, checked by Debian's `promtool check rules`, and run by `promtool test rules`
over series shaped like pinctl's: each alert fires on its failing series and stays quiet
on the passing twin beside it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pinctl.output.prometheus import FAMILIES, LAST_RUN

RULES = Path(__file__).resolve().parent.parent / "contrib" / "prometheus" / "pinctl-rules.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)"
)
DAY = 86_400
NOW = 3 * 3600
"""The evaluation time of the promtool tests, in seconds since the epoch (promtool's clock)."""


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    [group] = document["groups"]
    found: list[dict[str, Any]] = group["rules"]
    return found


def by_name() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules()}


def test_the_rules_are_yaml_with_the_alerts_the_issue_asks_for() -> None:
    """Every alert SPEC.md's monitoring asks for is there, with a severity and a summary."""
    alerts = by_name()
    assert {
        "PinctlCheckFailing",
        "PinctlNoBackupPin",
        "PinctlLeafExpiringSoon",
        "PinctlPinExpiringSoon",
        "PinctlCertificateRevoked",
        "PinctlRevocationUnavailable",
        "PinctlClientRejects",
        "PinctlNotRun",
    } <= set(alerts)
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"].startswith("pinctl"), name


def test_every_metric_a_rule_names_is_one_pinctl_writes() -> None:
    """A renamed family cannot leave a rule watching a series that no longer exists."""
    written = {f.name for f in FAMILIES} | {LAST_RUN}
    named = {m for rule in rules() for m in re.findall(r"\bpinctl_\w+", rule["expr"])}
    assert named <= written, named - written
    assert "pinctl_last_run_timestamp_seconds" in named


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    """`promtool check rules` parses every expression and template."""
    assert PROMTOOL is not None
    out = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules())} rules found" in out.stdout


def series(name: str, value: float, **labels: str) -> dict[str, str]:
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{shown}}}", "values": f"{value:g}x200"}


HOST = {"host": "bad.test", "port": "443"}
TWIN = {"host": "good.test", "port": "443"}
NOT_AFTER = "pinctl_cert_not_after_timestamp_seconds"
PIN_EXPIRES = "pinctl_pin_expires_timestamp_seconds"
INPUT = [
    series("pinctl_check_ok", 0, **HOST),
    series("pinctl_check_status", 1, **HOST, status="pin-mismatch"),
    series("pinctl_check_ok", 1, **TWIN),
    series("pinctl_check_status", 1, **TWIN, status="pass"),
    series("pinctl_backup_pins", 0, **HOST),
    series("pinctl_backup_pins", 1, **TWIN),
    series(NOT_AFTER, NOW + 13 * DAY, **HOST, position="0", spki="L"),
    series(NOT_AFTER, NOW + 15 * DAY, **TWIN, position="0", spki="L"),
    series(NOT_AFTER, NOW + 5 * DAY, **TWIN, position="1", spki="I"),
    series(PIN_EXPIRES, NOW + 99 * DAY, **HOST, pin="P", level="leaf", backup="false"),
    series(PIN_EXPIRES, NOW + 101 * DAY, **TWIN, pin="P", level="leaf", backup="false"),
    series("pinctl_revocation_status", 1, **HOST, position="0"),
    series("pinctl_revocation_status", 3, **HOST, position="1"),
    series("pinctl_revocation_status", 0, **TWIN, position="0"),
    series("pinctl_revocation_status", 2, **TWIN, position="1"),
    series("pinctl_client_accepts", 0, **HOST, client="ios"),
    series("pinctl_client_accepts", 1, **TWIN, client="ios"),
    series("pinctl_ct_compliant", 0, **HOST, policy="chrome"),
    series("pinctl_ct_compliant", 1, **TWIN, policy="chrome"),
    series(LAST_RUN, NOW - 2 * 3600 - 60, instance="stale"),
    series(LAST_RUN, NOW - 2 * 3600 + 60, instance="fresh"),
]  # fmt: skip
EXPECTED: dict[str, list[dict[str, str]]] = {
    "PinctlCheckFailing": [{**HOST, "status": "pin-mismatch"}],
    "PinctlNoBackupPin": [HOST],
    "PinctlLeafExpiringSoon": [{**HOST, "position": "0", "spki": "L"}],
    "PinctlPinExpiringSoon": [{**HOST, "pin": "P", "level": "leaf", "backup": "false"}],
    "PinctlCertificateRevoked": [{**HOST, "position": "0"}],
    "PinctlRevocationUnavailable": [{**HOST, "position": "1"}],
    "PinctlClientRejects": [{**HOST, "client": "ios"}],
    "PinctlCTNonCompliant": [{**HOST, "policy": "chrome"}],
    "PinctlNotRun": [{"instance": "stale"}],
}
"""What fires at NOW: the failing host's series only, never the twin's."""


@needs_promtool
def test_each_alert_fires_on_its_failure_and_not_on_the_twin(tmp_path: Path) -> None:
    """`promtool test rules`: every alert fires for exactly the failing series."""
    assert PROMTOOL is not None
    stripped = yaml.safe_load(RULES.read_text())
    for rule in stripped["groups"][0]["rules"]:
        rule.pop("annotations")  # templates are checked above; here, which series fire
    rules_copy = tmp_path / "rules.yml"
    rules_copy.write_text(yaml.safe_dump(stripped))
    alerts = by_name()
    assert set(EXPECTED) == set(alerts), "every rule has its case here"
    tests = [
        {
            "eval_time": f"{NOW}s",
            "alertname": name,
            "exp_alerts": [
                {"exp_labels": {**labels, "severity": alerts[name]["labels"]["severity"]}}
                for labels in expected
            ],
        }
        for name, expected in EXPECTED.items()
    ]
    unit = {
        "rule_files": [str(rules_copy)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": INPUT, "alert_rule_test": tests}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit))
    out = subprocess.run(
        [PROMTOOL, "test", "rules", str(tmp_path / "test.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
