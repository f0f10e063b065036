"""Adding a live host's pins: fetch each chain, validate it, choose the certificates.

This is the one edit of the pin file that goes on the network and through the chain
validator; the handshakes run together on the pool, and once the pins are chosen it is
`pinctl.pinfile.edit.add_pins`, a pure text edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from pinctl.errors import ConnectError, InputError, UsageError
from pinctl.inspect.report import SourceFailure
from pinctl.pinfile.edit import EditResult, Transaction, absolute_path
from pinctl.pinfile.model import Level, PinEntry

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography import x509

    from pinctl.net.targets import Target
    from pinctl.net.tls import ConnectOptions


def add_targets(
    edit: Transaction,
    targets: Sequence[Target],
    connect: Callable[[Target], ConnectOptions],
    *,
    levels: Sequence[Level],
    note: str | None,
    expires: date | None,
    host_fields: Mapping[str, object],
    verify_chain: bool,
    now: datetime,
) -> EditResult:
    """Fetch each target's chain, validate it, and add the pins of the chosen levels.

    Every target is fetched and checked before anything is written, so one untrusted
    chain refuses the whole command rather than leaving it half done.
    """
    from pinctl.net.tls import handshake_all
    from pinctl.pki.validation import load_roots, signed_prefix, validate

    pin_file = edit.pin_file
    chains: list[tuple[Target, tuple[x509.Certificate, ...]]] = []
    failures = []
    # Every target's options first, so that a bad proxy URL is refused before any dial;
    # then all the handshakes at once: the command takes one handshake's time, not N.
    shakes = handshake_all(targets, [connect(target) for target in targets])
    for target, shake in zip(targets, shakes, strict=True):
        if isinstance(shake, ConnectError):
            failures.append(SourceFailure(target.label, str(shake)))
            continue
        if not verify_chain:
            # Unvalidated, only the leaf and the issuers that really signed it count, as in
            # verify: a served copy of some other certificate proves nothing.
            chains.append((target, signed_prefix(shake.chain)))
            continue
        known = pin_file.find_host(target.host, target.port)
        ca_file = host_fields.get("ca_file") or (
            pin_file.ca_file_for(known) if known else pin_file.defaults.ca_file
        )
        verdict = validate(shake.chain, target.check_name, load_roots(absolute_path(ca_file)), now)
        if not (verdict.validation.trusted and verdict.validation.hostname_match):
            remedy = (
                "check the name (--servername)"
                if verdict.validation.trusted
                else "trust its CA with --ca-file"
            )
            raise InputError(
                f"{target.label}: refusing to pin a chain that fails validation "
                f"({verdict.validation.error}); {remedy}, or pin it anyway with "
                "--no-verify-chain (recorded as verify_chain = false)"
            )
        chains.append((target, verdict.path))
    chosen = []
    for target, chain in chains:
        pins = chain_pins(chain, levels, validated=verify_chain, note=note, expires=expires)
        if not pins:
            served = "validated path" if verify_chain else "served chain"
            raise UsageError(
                f"{target.label}: the {served} has no {' or '.join(levels)} certificate to pin "
                "(without validation, root means a self-signed last certificate); "
                "choose other --level values"
            )
        chosen.append((target, pins))
    fields = dict(host_fields)
    if not verify_chain:
        fields["verify_chain"] = False
    if fields.get("ca_file") and absolute_path(fields["ca_file"]) == pin_file.defaults.ca_file:
        del fields["ca_file"]
    changes = tuple(edit.add_pins(t.host, t.port, pins, host_fields=fields) for t, pins in chosen)
    return EditResult(changes, tuple(failures))


def chain_pins(
    chain: Sequence[x509.Certificate],
    levels: Sequence[Level],
    *,
    validated: bool,
    note: str | None = None,
    expires: date | None = None,
) -> tuple[PinEntry, ...]:
    """SPKI pins of the chosen levels, leaf first; a note defaults to the certificate's CN.

    A validated path ends at its trust anchor, the root, even when the server did not
    send it; an unvalidated chain has a root only if its last certificate is self-signed.
    """
    from pinctl.pki.entries import certificate_entry

    last = len(chain) - 1
    pins: dict[object, PinEntry] = {}
    for index, cert in enumerate(chain):
        is_root = index == last and (validated or cert.issuer == cert.subject)
        level: Level = (
            "root"
            if is_root and (index > 0 or "leaf" not in levels)
            else ("leaf" if index == 0 else "intermediate")
        )
        if level not in levels:
            continue
        entry = certificate_entry(cert, index, ("sha256",))
        pin = PinEntry(
            entry.spki["sha256"],
            level=level,
            note=note or _common_name(cert),
            expires=expires,
            reencoded=(entry.spki_reencoded or {}).get("sha256"),
        )
        pins.setdefault(pin.identity, pin)
    return tuple(pins.values())


def _common_name(cert: x509.Certificate) -> str | None:
    """The CN, else the first subjectAltName (modern leaves often have no CN), else the subject."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        return str(names[0].value)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        san = None  # an unreadable SAN names nothing; the subject still may
    first = next(iter(san), None) if san is not None else None
    return str(first.value) if first is not None else cert.subject.rfc4514_string() or None
