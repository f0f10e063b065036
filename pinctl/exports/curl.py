"""curl: the `--pinnedpubkey` value, `sha256//A;sha256//B`, for exactly one host.

curl compares the value's text byte for byte, so there is no space after a `;`. It
checks the public key of the leaf only: a CA pin can never match there, so CA pins are
left out, with a warning. One value holds the pins of one server, so the output is that
value alone (for `--pinnedpubkey "$(pinctl export --format curl HOST)"`), and a
selection of several hosts is an error naming them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pinctl.errors import InputError, UsageError
from pinctl.exports.base import Export, ExportOptions, Target, targets, trust_warnings
from pinctl.exports.verdicts import NO_LEAF, ClientVerdict, Covering, Served, first_match
from pinctl.pinfile.model import PinEntry, PinFile

LEAF_ONLY = "curl checks the leaf key only"
REENCODES = False
"""curl hashes the key as the certificate carries it (`i2d_X509_PUBKEY` of the parsed
certificate), as RFC 7469 and pinctl do."""
CURL_TRUST = "give curl that CA with --cacert; --pinnedpubkey adds no trust"


def export(pinfile: PinFile, hosts: Sequence[str], options: ExportOptions) -> Export:
    found, warnings = targets(pinfile, hosts, options, "curl", by_port=True, reencodes=REENCODES)
    if len(found) > 1:
        names = ", ".join(t.entries[0].label for t in found)
        raise UsageError(
            f"curl's --pinnedpubkey holds the pins of one server, and {len(found)} are "
            f"selected ({names}); name one: pinctl export --format curl HOST[:PORT]"
        )
    target = found[0]
    for pin in target.ca_pins:
        warnings.append(
            f"{target.name}: left out {pin.pin} ({pin.level}): curl checks the leaf key only, "
            "so a CA pin never matches there"
        )
    if not pinned(target):
        raise InputError(
            f"{target.where}: {target.name} has no leaf pin, and {LEAF_ONLY}; "
            f"add one with `pinctl add --level leaf {target.name}`"
        )
    value = ";".join(f"sha256//{pin.pin.base64}" for pin in pinned(target))
    warnings += trust_warnings(pinfile, found, CURL_TRUST)
    return Export(value + "\n", tuple(warnings))


def pinned(target: Target) -> tuple[PinEntry, ...]:
    """What the --pinnedpubkey value holds: the leaf pins, since a CA pin never matches."""
    return target.leaf_pins


def judge(host: str, covering: Sequence[Covering], served: Served, at: date) -> ClientVerdict:
    """curl compares the leaf's public key with the value; nothing else of the chain counts."""
    own = [c.target for c in covering if c.depth == 0]
    pins = pinned(own[0]) if own else ()
    if not pins:
        return ClientVerdict("curl", "not-pinned", f"{host} has no leaf pin, and {LEAF_ONLY}")
    matched = first_match(pins, served.pins[:1])
    if matched is None:
        return ClientVerdict("curl", "reject", NO_LEAF)
    return ClientVerdict("curl", "accept", matched=matched)
