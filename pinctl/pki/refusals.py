"""Why a chain is refused, in the words of the problem rather than the verifier's.

The verifier's messages name Rust types and dump key parameters; users need to read
"expired on", "not in the trust store" or "a DNS name, not an IP address" instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pinctl.hostnames import ip_address
from pinctl.pki.entries import YearZero, date_text, validity

if TYPE_CHECKING:
    from cryptography import x509

_SHOWN_NAMES = 4


def unreadable(served: Sequence[x509.Certificate]) -> str | None:
    """Why a served certificate cannot be validated at all, such as a duplicated extension.

    cryptography parses extensions lazily and raises from wherever they are first read; a
    certificate that no client would accept is this target's verdict, never the run's crash.
    """
    from cryptography import x509

    for cert in served:
        try:
            cert.extensions  # noqa: B018 - parsed here, lazily, or never
        except x509.DuplicateExtension as exc:
            return (
                f"certificate {_name(cert)} has a duplicated extension ({exc.oid.dotted_string}); "
                "RFC 5280 forbids it and no client accepts it"
            )
        except ValueError as exc:
            from pinctl.pki.der import plain_reason

            reason = plain_reason(exc)
            return f"certificate {_name(cert)} has extensions that cannot be parsed ({reason})"
    return None


def _allows_servers(cert: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return True
    return serves(eku)


def serves(eku: x509.ExtendedKeyUsage) -> bool:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    wanted = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    return bool(wanted.intersection(eku))


def name_mismatch(name: str, dns: list[str], ips: list[str]) -> str:
    if ip_address(name) is not None and name in dns:
        return (
            f"name {name} not in the certificate: it lists {name} as a DNS name, and an IP "
            "address matches only an IP address subjectAltName (RFC 6125), in every client"
        )
    names = dns + ips
    if not names:
        return (
            f"name {name} not in the certificate (it has no subjectAltName; clients "
            "ignore the subject's CN)"
        )
    shown = ", ".join(names[:_SHOWN_NAMES])
    more = f" and {len(names) - _SHOWN_NAMES} more" if len(names) > _SHOWN_NAMES else ""
    return f"name {name} not in the certificate (it is valid for {shown}{more})"


def why_untrusted(
    served: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime,
    message: str,
) -> str:
    """Say why in the words of the problem, falling back on the verifier's own."""
    leaf = served[0]
    if leaf.issuer == leaf.subject and leaf not in roots:
        return "self-signed certificate not in the trust store"
    for cert in served:
        not_before, not_after = validity(cert)
        if isinstance(not_after, YearZero) or now > not_after:
            return f"certificate {_name(cert)} expired on {date_text(not_after)}"
        if isinstance(not_before, datetime) and now < not_before:
            return f"certificate {_name(cert)} is not valid before {date_text(not_before)}"
    top = _top(served)
    anchors = [root for root in roots if root.subject == top.issuer]
    if top.issuer == top.subject and top not in roots:
        return f"the chain ends in {_name(top)}, a root that is not in the trust store"
    if not anchors:
        return (
            f"unable to find the issuer of {_name(top)} ({_shown(top.issuer)}): "
            "the server did not send it and it is not in the trust store"
        )
    for anchor in anchors:
        not_after = validity(anchor)[1]
        if isinstance(not_after, YearZero) or now > not_after:
            return f"trust anchor {_name(anchor)} expired on {date_text(not_after)}"
    if "EKU" in message:
        for cert in served[1:]:
            if not _allows_servers(cert):
                return (
                    f"certificate {_name(cert)} has an extendedKeyUsage that does not allow "
                    "TLS server authentication"
                )
    return clean(message)


def _top(served: Sequence[x509.Certificate]) -> x509.Certificate:
    """Follow issuers through the served certificates, whatever order they came in.

    At most one step per served certificate, each visited once: an issuer loop (A names B,
    B names A) ends where it closes, and the walk costs time linear in what was served.
    """
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for cert in served:
        by_subject.setdefault(cert.subject, []).append(cert)
    current, seen = served[0], {id(served[0])}
    for _ in range(len(served)):
        if current.issuer == current.subject:
            break
        parent = next((c for c in by_subject.get(current.issuer, ()) if id(c) not in seen), None)
        if parent is None:
            break
        seen.add(id(parent))
        current = parent
    return current


def clean(message: str) -> str:
    """The verifier's message without its prefix and object reprs."""
    import re

    text = message.removeprefix("validation failed: ").replace("candidates exhausted: ", "")
    text = _algorithm_words(text)
    text = re.sub(
        r" \(encountered processing <Certificate\(subject=<Name\((.*?)\)>, \.\.\.\)>\)",
        r" (certificate \1)",
        text,
    )
    text = text.replace("Forbidden ", "forbidden ")
    return text or "the chain does not validate"


_ALGORITHMS = {
    "Dsa": "DSA",
    "DsaWithSha1": "DSA with SHA-1",
    "DsaWithSha224": "DSA",
    "DsaWithSha256": "DSA",
    "Ed25519": "Ed25519",
    "Ed448": "Ed448",
    "Ec": "EC on a curve the Web PKI does not allow",
    "Rsa": "RSA with parameters the Web PKI does not allow",
    "RsaPss": "RSA-PSS with parameters the Web PKI does not allow",
    "RsaWithSha1": "RSA with SHA-1",
    "EcDsaWithSha1": "ECDSA with SHA-1",
}


def _algorithm_words(text: str) -> str:
    """The verifier's Rust debug text for an algorithm (``AlgorithmIdentifier { oid: ...``),
    which can run to kilobytes of key parameters, as the algorithm's name."""
    import re

    marker = "AlgorithmIdentifier {"
    while marker in text:
        start = text.index(marker)
        depth, end = 0, len(text)
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    end = pos + 1
                    break
        found = re.search(r"params: (\w+)", text[start:end])
        variant = found.group(1) if found else ""
        word = _ALGORITHMS.get(variant, "an algorithm pinctl's verifier does not support")
        text = text[:start] + word + text[end:]
    return text


def _name(cert: x509.Certificate) -> str:
    return _shown(cert.subject)


def _shown(name: x509.Name) -> str:
    """A name for a message, cut short: it is whatever the certificate's maker wrote.

    (A name that cannot be decoded never gets here: every chain is checked where it is
    read, by `pinctl.pki.entries.decodable`.)"""
    text = name.rfc4514_string() or "(empty subject)"
    return text if len(text) <= 200 else text[:197] + "..."
