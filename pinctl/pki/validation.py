"""Path validation with cryptography's X.509 verifier, and the reasons in plain words.

The policy is the Web PKI's with the relaxations OpenSSL-based clients (curl, Python,
OkHttp on the JVM) accept from private CAs: a critical subjectAltName or extendedKeyUsage,
a leaf without authorityKeyIdentifier, a self-signed leaf that is itself a trust anchor,
a leaf asserting cA=TRUE, and an empty subject beside a non-critical subjectAltName
(the README lists them). The time is always passed in, so expiry needs no clock tricks to test.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinctl.errors import InputError
from pinctl.hostnames import ip_address
from pinctl.pki.refusals import clean, name_mismatch, serves, unreadable, why_untrusted

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store

SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # Alpine, macOS, BSDs
)


@dataclass(frozen=True)
class Validation:
    """The verdict of path validation; fetch reports it, verify enforces it."""

    trusted: bool
    """The chain leads to a trusted root, whatever the name."""
    hostname_match: bool
    """The leaf is valid for the name checked."""
    error: str | None = None
    """Why `trusted` or `hostname_match` is false."""


@dataclass(frozen=True)
class ChainVerdict:
    """What validation concluded, and the path it reached."""

    validation: Validation
    path: tuple[x509.Certificate, ...]
    """The validated path, leaf to trust anchor, when trusted; else the served chain."""
    anchor_served: bool
    """False when the trust anchor came from the store rather than from the server."""


def load_roots(ca_file: Path | None, what: str = "--ca-file") -> tuple[x509.Certificate, ...]:
    """The trust anchors: the certificates in `ca_file` (`what` names it in messages),
    else the system store."""
    if ca_file is not None:
        return _load_bundle(str(ca_file), what)
    env = os.environ.get("SSL_CERT_FILE")
    if env:
        return _load_bundle(env, "SSL_CERT_FILE")
    import ssl  # only to ask where OpenSSL keeps the system bundle

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if candidate and os.path.isfile(candidate):
            return _load_bundle(candidate, "the system trust store")
    raise InputError(
        "no system trust store found (tried " + ", ".join(SYSTEM_BUNDLES) + "); "
        "install ca-certificates, set SSL_CERT_FILE, or pass --ca-file"
    )


@functools.lru_cache(maxsize=8)
def _load_bundle(path: str, what: str) -> tuple[x509.Certificate, ...]:
    """Cached: the same roots serve every host of a run, and the verifier's store for them
    is built once per set (`_store`)."""
    from pinctl.pki.bundle import read_certificates

    return read_certificates(
        Path(path), what=what, remedy="it must be a PEM bundle of trusted roots"
    )


def validate(
    served: Sequence[x509.Certificate],
    name: str | None,
    roots: Sequence[x509.Certificate],
    now: datetime,
) -> ChainVerdict:
    """Does the served chain lead to one of `roots` at `now`, and is its leaf valid for `name`?

    Only a server verifier ever decides: a client verifier's CA policy accepts intermediates
    restricted to clientAuth, which no TLS client accepts for a server.
    """
    from cryptography.x509.verification import VerificationError

    damaged = unreadable(served)
    if damaged is not None:
        return ChainVerdict(Validation(False, False, damaged), tuple(served), True)
    leaf, intermediates = served[0], list(served[1:])
    dns, ips = _san_names(leaf)
    named = name is not None and _matches(name, dns, ips)
    store = _store(roots)
    refused: str | None = None
    invalid: str | None = None
    if store is not None and name is not None and named:
        # The common case, a good chain for its name, costs one verification; a failure is
        # then diagnosed below with a name the leaf claims, to tell "untrusted" from "wrong name".
        try:
            verifier = _builder(store, now).build_server_verifier(_subject(name))
        except ValueError:
            invalid = _invalid_name(name)
        else:
            try:
                path = tuple(verifier.verify(leaf, intermediates))
                return ChainVerdict(Validation(True, True, None), path, path[-1] in served)
            except VerificationError as exc:
                refused = f"name {name} is refused: {clean(str(exc))}"
    errors: list[str] = []
    path, trusted = tuple(served), False
    if store is None:
        errors.append("no trust anchors to validate against")
    else:
        verified, why = _own_name_path(leaf, intermediates, store, now, dns, ips)
        if verified is None:
            errors.append(why if not (dns or ips) else why_untrusted(served, roots, now, why))
        else:
            path, trusted = verified, True
    name_error = _name_error(name, named, dns, ips, invalid or (refused if trusted else None))
    if name_error:
        errors.append(name_error)
    return ChainVerdict(
        validation=Validation(trusted, name_error is None, "; ".join(errors) or None),
        path=path,
        anchor_served=not trusted or path[-1] in served,
    )


def _own_name_path(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    store: Store,
    now: datetime,
    dns: list[str],
    ips: list[str],
) -> tuple[tuple[x509.Certificate, ...] | None, str]:
    """The path a server verifier finds for a name the leaf claims: trust whatever the name."""
    from cryptography.x509.verification import VerificationError

    candidates = [_concrete(value) for value in dns] + ips
    if not candidates:
        return None, "the leaf has no subjectAltName naming a host"
    why = "the leaf names no valid DNS name or IP address (" + ", ".join(candidates) + ")"
    # A DNS name that looks like an IP address is still asked about as a DNS name; one that
    # is not ASCII (a U-label where RFC 5280 wants an A-label) cannot be asked about at all.
    subjects = [_dns_name(c) for c in candidates[: len(dns)]]
    for subject in [*filter(None, subjects), *(_subject(ip) for ip in ips)]:
        try:
            verifier = _builder(store, now).build_server_verifier(subject)
        except ValueError:
            continue
        try:
            return tuple(verifier.verify(leaf, intermediates)), ""
        except VerificationError as exc:
            why = str(exc)
            if "no matching subjectAltName" not in why:
                break
    return None, why


def _dns_name(value: str) -> x509.DNSName | None:
    from cryptography import x509

    try:
        return x509.DNSName(value.rstrip("."))
    except ValueError:
        return None


def _concrete(pattern: str) -> str:
    """A name a wildcard pattern covers, so the verifier can be asked about it."""
    return "wildcard." + pattern[2:] if pattern.startswith("*.") else pattern


def _name_error(
    name: str | None, named: bool, dns: list[str], ips: list[str], refused: str | None
) -> str | None:
    if name is None:
        return "no name to check: an IP address target needs --servername"
    if not named:
        return name_mismatch(name, dns, ips)
    return refused


def _invalid_name(name: str) -> str:
    return (
        f"name {name} is refused: not a valid DNS name "
        "(letters, digits and hyphens only, no label starting with a hyphen)"
    )


_STORES: dict[int, tuple[Sequence[x509.Certificate], Store | None]] = {}


def _store(roots: Sequence[x509.Certificate]) -> Store | None:
    """One Store per set of roots: building one from a system bundle's roots costs more
    than the handshake it would serve. Roots come from `load_roots`'s cache, so the same
    set is the same object, kept alive here with its store."""
    from cryptography.x509.verification import Store

    kept = _STORES.get(id(roots))
    if kept is not None and kept[0] is roots:
        return kept[1]
    store = Store(list(roots)) if roots else None
    if len(_STORES) >= 8:
        _STORES.clear()
    _STORES[id(roots)] = (roots, store)
    return store


@functools.lru_cache(maxsize=8)
def _builder(store: Store, now: datetime) -> PolicyBuilder:
    from cryptography import x509
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder

    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _server_auth)
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
    )
    return (
        PolicyBuilder()
        .store(store)
        .time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
    )


def _server_auth(policy: Any, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is not None and not serves(eku):
        raise ValueError("the leaf's extendedKeyUsage does not allow TLS server authentication")


def _subject(name: str) -> x509.DNSName | x509.IPAddress:
    from cryptography import x509

    address = ip_address(name)
    return x509.DNSName(name.rstrip(".")) if address is None else x509.IPAddress(address)


def _san_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return [], []
    dns = [value for value in san.get_values_for_type(x509.DNSName) if isinstance(value, str)]
    ips = [str(value) for value in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def _matches(name: str, dns: list[str], ips: list[str]) -> bool:
    """RFC 6125: exact names, or one wildcard as the whole leftmost label; IPs only as IP SANs."""
    address = ip_address(name)
    if address is not None:
        return any(address == ip_address(ip) for ip in ips)
    wanted = name.rstrip(".").lower()
    for pattern in (value.rstrip(".").lower() for value in dns):
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            head, dot, rest = wanted.partition(".")
            if dot and head and rest == pattern[2:] and "." in rest:
                return True
    return False


@functools.lru_cache(maxsize=256)
def signed_prefix(served: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
    """The leaf and the served certificates that signed it, link by link in served order.

    The handshake proves only the leaf's key; anything after it is what the server says.
    A man in the middle can append a copy of the genuine leaf or intermediate, so without
    a validated path only a certificate whose key signed the one before it may count.
    """
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    kept = list(served[:1])
    for issuer in served[1:]:
        try:
            kept[-1].verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            break
        kept.append(issuer)
    return tuple(kept)
