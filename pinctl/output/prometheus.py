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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from pinctl.pki.entries import epoch_seconds, validity
from pinctl.verify.rules import pin_matches
from pinctl.verify.verdicts import Passed, result_name

if TYPE_CHECKING:
    from cryptography import x509

    from pinctl.output.terminal import Sink
    from pinctl.pinfile.model import PinEntry
    from pinctl.pki.pins import Pin
    from pinctl.verify.results import ChainCert, HostResult, VerifyResult

Sample = tuple[str, str]
"""A sample's own labels, written and escaped (``,status="pass"``; empty for none), and
its value as the format spells it. Text, not numbers: a fleet's metrics are tens of
thousands of lines, and a certificate or pin shared by many hosts is spelt once."""
Samples = Callable[["HostResult", "Run"], Iterable[Sample]]
"""A family's samples for one host."""

ONE, ZERO = "1", "0"
REVOCATION_VALUES = {"good": 0, "revoked": 1, "unknown": 2, "unavailable": 3}
"""`pinctl_revocation_status`'s values (SPEC.md section 13); `no-source` is left out:
a certificate that names no source has no status to alert on."""


@dataclass(frozen=True)
class Family:
    name: str
    help: str
    samples: Samples
    type: str = "gauge"


class Run:
    """What the families of one run share: its day, and the spelling of each certificate
    and pin already written (keyed by identity: the same objects recur across hosts)."""

    def __init__(self, today: date) -> None:
        self.today = today
        self._certs: dict[int, tuple[Pin, str, str, x509.Certificate]] = {}
        self._pins: dict[int, tuple[str, str, PinEntry]] = {}

    def cert(self, cert: ChainCert) -> tuple[Pin, str, str]:
        """The sha256 SPKI pin, `,spki="…"` and notAfter, for one certificate."""
        known = self._certs.get(id(cert.cert))
        if known is None:
            spki = cert.spki
            after = number(epoch_seconds(validity(cert.cert)[1]))
            known = (spki, labels(spki=str(spki)), after, cert.cert)
            self._certs[id(cert.cert)] = known
        return known[0], known[1], known[2]

    def pin(self, entry: PinEntry) -> tuple[str, str]:
        """`,pin="…",level="…",backup="…"` and the first second the pin no longer counts."""
        known = self._pins.get(id(entry))
        if known is None:
            text = labels(pin=str(entry.pin), level=entry.level, backup=_bool(entry.backup))
            if entry.expires is None:
                dead = "+Inf"
            else:
                end = datetime.combine(entry.expires + timedelta(days=1), time(), timezone.utc)
                dead = number(end.timestamp())
            known = self._pins[id(entry)] = (text, dead, entry)
        return known[0], known[1]


def labels(**values: str) -> str:
    return "".join(f',{k}="{escape(v)}"' for k, v in values.items())


def _check_ok(host: HostResult, run: Run) -> Iterable[Sample]:
    return (("", ONE if host.ok else ZERO),)


def _status(host: HostResult, run: Run) -> Iterable[Sample]:
    return ((f',status="{host.status}"', ONE),)


def _checks(host: HostResult, run: Run) -> Iterable[Sample]:
    """One series per check that ran or was skipped, labelled with its result."""
    return ((f',check="{name}",result="{result_name(v)}"', ONE) for name, v in host.checks)


def _pin_matched(host: HostResult, run: Run) -> Iterable[Sample]:
    """1 when the pins check found a pin on the chain, whatever the other checks said."""
    matched = any(name == "pins" and isinstance(v, Passed) for name, v in host.checks)
    return (("", ONE if matched else ZERO),)


def _backup_pins(host: HostResult, run: Run) -> Iterable[Sample]:
    """Backups that still are backups: not retired, not expired, and not in the chain judged."""
    count = 0
    spkis: set[Pin] | None = None
    for p in host.entry.pins:
        if not p.backup or p.retired or p.expired(run.today):
            continue
        if p.kind == "spki" and p.pin.alg == "sha256":  # nearly every pin: no hashing again
            if spkis is None:
                spkis = {run.cert(c)[0] for c in host.chain}
            count += p.pin not in spkis
        else:
            count += not any(pin_matches(p, c.cert) for c in host.chain)
    return (("", str(count)),)


def _cert_not_after(host: HostResult, run: Run) -> Iterator[Sample]:
    for position, cert in enumerate(host.chain):
        _, spki, after = run.cert(cert)
        yield f',position="{position}"{spki}', after


def _pin_expires(host: HostResult, run: Run) -> Iterator[Sample]:
    """The first second a pin no longer counts (00:00 UTC the day after `expires`);
    +Inf for a pin without `expires`, so every pin of every host has its series."""
    return (run.pin(p) for p in host.entry.pins)


def _duration(host: HostResult, run: Run) -> Iterable[Sample]:
    return (("", number(round(max(host.elapsed, 0.0), 6))),)


# The families of the checks still being built (#16 revocation, #18 CT). Each is filled
# from that check's own result once HostResult carries it, as `_clients` is; until then
# it has no samples, and a family without samples is not written at all.


def _revocation(host: HostResult, run: Run) -> Iterable[Sample]:
    """`,position="N"` and REVOCATION_VALUES[status] for each certificate of the host's
    revocation result (`no-source` certificates give no sample)."""
    if host.revocation is None:
        return ()
    return (
        (f',position="{c.position}"', str(REVOCATION_VALUES[c.status]))
        for c in host.revocation.certs
        if c.status in REVOCATION_VALUES
    )


def _ct(host: HostResult, run: Run) -> Iterable[Sample]:
    """`,policy="chrome"|"apple"` and 1 when the host meets that policy, 0 when it does not
    (no sample while the verdict is unknown: `compliant` null)."""
    if host.ct is None:
        return ()
    return (
        (f',policy="{name}"', ONE if verdict.compliant else ZERO)
        for name, verdict in host.ct.verdicts.items()
        if verdict.compliant is not None
    )


def _clients(host: HostResult, run: Run) -> Iterable[Sample]:
    """`,client="ios"` for each client `verify --as` (or `clients`) judged: 1 when its app
    would connect (accept, accept-expired, not-pinned), 0 when it would not (reject,
    config-error). None for a host whose chain no client judged (unreached, untrusted)."""
    return ((f',client="{v.client}"', ZERO if v.breaks else ONE) for v in host.clients)


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
    Family(
        "pinctl_client_accepts",
        "1 when the client's app would connect (verify --as), 0 when it would refuse.",
        _clients,
    ),
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
    run = Run(result.checked_at.date())
    for family in FAMILIES:
        lines = _family_lines(family, result.hosts, heads, run)
        if lines:
            out.write(_header(family.name, family.help, family.type) + "".join(lines))
    help_text = "When this run judged the hosts (Unix time); alert when it gets old."
    stamp = number(round(result.checked_at.timestamp(), 3))
    out.write(_header(LAST_RUN, help_text, "gauge") + f"{LAST_RUN} {stamp}\n")


def _family_lines(
    family: Family, hosts: Sequence[HostResult], heads: list[str], run: Run
) -> list[str]:
    """The family's sample lines; a label set seen before (the same host twice, a pin
    listed twice) is dropped, so that no two series of the family share one."""
    seen: set[str] = set()
    lines: list[str] = []
    prefix = family.name + "{"
    for host, head in zip(hosts, heads, strict=True):
        for extra, value in family.samples(host, run):
            line = f"{prefix}{head}{extra}}} "
            if line in seen:
                continue
            seen.add(line)
            lines.append(f"{line}{value}\n")
    return lines


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
