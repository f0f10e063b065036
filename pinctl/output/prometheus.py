"""verify's result as Prometheus metrics (SPEC.md section 13), for `-o prometheus` and `--textfile`.

The text exposition format, version 0.0.4, as node_exporter's textfile collector and
Prometheus's scraper read it: each family once, its `# HELP` and `# TYPE` lines, then
its samples for every host, so a family's samples are never split across the file.

A family is a name, a help line and one function from a host to its samples; adding
the metrics of a new check is one such function and one entry in `FAMILIES`. Every
host gets its check_ok, status, pin_matched, backup_pins, pin_expires and duration
series whatever its status: an unreachable host is not a missing host, and an alert
on `pinctl_check_ok == 0` must fire for it. No two samples of a family share a label
set (a later duplicate is dropped), and label values are escaped: a host name or a
subject is text from a file or a server.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from pinctl.verify.rules import pin_matches
from pinctl.verify.verdicts import result_name

if TYPE_CHECKING:
    from pinctl.output.terminal import Sink
    from pinctl.verify.results import HostResult, VerifyResult

Labels = tuple[tuple[str, str], ...]
"""A sample's own labels, after the host's `host` and `port`."""
Sample = tuple[Labels, float]
Samples = Callable[["HostResult", date], Iterable[Sample]]
"""A family's samples for one host, judged on the run's day (pin expiry)."""

REVOCATION_VALUES = {"good": 0, "revoked": 1, "unknown": 2, "unavailable": 3}
"""`pinctl_revocation_status`'s values (SPEC.md section 13); `no-source` is left out:
a certificate that names no source has no status to alert on."""


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    samples: Samples
    type: str = "gauge"


def _check_ok(host: HostResult, today: date) -> Iterable[Sample]:
    return (((), 1.0 if host.ok else 0.0),)


def _status(host: HostResult, today: date) -> Iterable[Sample]:
    return (((("status", host.status),), 1.0),)


def _checks(host: HostResult, today: date) -> Iterable[Sample]:
    """One series per check that ran or was skipped, labelled with its result."""
    return (((("check", name), ("result", result_name(v))), 1.0) for name, v in host.checks)


def _pin_matched(host: HostResult, today: date) -> Iterable[Sample]:
    """1 when the pins check found a pin on the chain, whatever the other checks said."""
    matched = any(name == "pins" and result_name(v) == "pass" for name, v in host.checks)
    return (((), 1.0 if matched else 0.0),)


def _backup_pins(host: HostResult, today: date) -> Iterable[Sample]:
    """Backups that still are backups: not expired, and not found in the chain judged."""
    chain = [c.cert for c in host.chain]
    count = sum(
        1
        for p in host.entry.pins
        if p.backup and not p.expired(today) and not any(pin_matches(p, c) for c in chain)
    )
    return (((), float(count)),)


def _cert_not_after(host: HostResult, today: date) -> Iterator[Sample]:
    for position, cert in enumerate(host.chain):
        labels = (("position", str(position)), ("spki", str(cert.spki)))
        yield labels, cert.cert.not_valid_after_utc.timestamp()


def _pin_expires(host: HostResult, today: date) -> Iterator[Sample]:
    """The first second a pin no longer counts (00:00 UTC the day after `expires`);
    +Inf for a pin without `expires`, so every pin of every host has its series."""
    for p in host.entry.pins:
        labels = (("pin", str(p.pin)), ("level", p.level), ("backup", _bool(p.backup)))
        if p.expires is None:
            yield labels, math.inf
        else:
            dead = datetime.combine(p.expires + timedelta(days=1), time(), timezone.utc)
            yield labels, dead.timestamp()


def _duration(host: HostResult, today: date) -> Iterable[Sample]:
    return (((), max(host.elapsed, 0.0)),)


# The families of the checks still being built. Each is filled from that check's own
# result once it is on HostResult; until then it has no samples, and a family without
# samples is not written at all.


def _revocation(host: HostResult, today: date) -> Iterable[Sample]:
    """`{position}`: REVOCATION_VALUES of each certificate's revocation status."""
    return ()


def _ct(host: HostResult, today: date) -> Iterable[Sample]:
    """`{policy}`: 1 when the host meets the policy (chrome, apple), 0 when it does not."""
    return ()


def _clients(host: HostResult, today: date) -> Iterable[Sample]:
    """`{client}`: 1 for `accept`/`accept-expired`, 0 for `reject`/`config-error`."""
    return ()


FAMILIES: tuple[Family, ...] = (
    Family("pinctl_check_ok", "1 when the host passed every check, else 0.", _check_ok),
    Family(
        "pinctl_check_status",
        "The host's status (verify's JSON status), as a label; always 1.",
        _status,
    ),
    Family(
        "pinctl_check_result",
        "Each check's result (pass, fail, unchecked, skipped), as a label; always 1.",
        _checks,
    ),
    Family("pinctl_pin_matched", "1 when a pin matched the chain, else 0.", _pin_matched),
    Family(
        "pinctl_backup_pins",
        "Unexpired backup = true pins not found in the live chain (all when unreached).",
        _backup_pins,
    ),
    Family(
        "pinctl_cert_not_after_timestamp_seconds",
        "notAfter of each certificate of the chain judged, position 0 the leaf.",
        _cert_not_after,
    ),
    Family(
        "pinctl_pin_expires_timestamp_seconds",
        "The first second a pin no longer counts (the day after expires); +Inf: no expiry.",
        _pin_expires,
    ),
    Family(
        "pinctl_revocation_status",
        "Revocation of each certificate: 0 good, 1 revoked, 2 unknown, 3 unavailable.",
        _revocation,
    ),
    Family("pinctl_ct_compliant", "1 when the host meets the CT policy, else 0.", _ct),
    Family("pinctl_client_accepts", "1 when the client accepts the host, else 0.", _clients),
    Family(
        "pinctl_check_duration_seconds",
        "Seconds the host's checks took, connect included.",
        _duration,
    ),
)
LAST_RUN = "pinctl_last_run_timestamp_seconds"


def render_prometheus(result: VerifyResult, sink: Sink) -> None:
    """Every family for every host, then the run's timestamp; one write per family."""
    heads = [f'host="{escape(h.entry.host)}",port="{h.entry.port}"' for h in result.hosts]
    out = sink.out
    today = result.checked_at.date()
    for family in FAMILIES:
        lines = list(_family_lines(family, result.hosts, heads, today))
        if lines:
            out.write(_header(family.name, family.help, family.type) + "".join(lines))
    help_text = "When this run judged the hosts (Unix time); alert when it gets old."
    stamp = result.checked_at.timestamp()
    out.write(_header(LAST_RUN, help_text, "gauge") + f"{LAST_RUN} {number(stamp)}\n")


def _family_lines(
    family: Family, hosts: Iterable[HostResult], heads: list[str], today: date
) -> Iterator[str]:
    seen: set[tuple[str, Labels]] = set()
    name = family.name
    for host, head in zip(hosts, heads, strict=True):
        for labels, value in family.samples(host, today):
            key = (head, labels)
            if key in seen:
                continue
            seen.add(key)
            extra = "".join(f',{k}="{escape(v)}"' for k, v in labels)
            yield f"{name}{{{head}{extra}}} {number(value)}\n"


def _header(name: str, help_text: str, kind: str) -> str:
    text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"


def escape(value: str) -> str:
    """A label value as the exposition format quotes it: backslash, quote and newline."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def number(value: float) -> str:
    """Integers without a fraction (timestamps, counts), the format's spelling of infinity."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"
