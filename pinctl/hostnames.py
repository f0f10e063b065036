"""Host names and IP literals as every layer reads them: the pin file, path validation, dialling.

A name and an address are told apart once, here, so that the pin file's schema, the
certificate name check and the connection code cannot disagree about what `::1` or
`10.0.0.5` is.
"""

from __future__ import annotations

import functools
import ipaddress
import re


def is_ip_address(text: str) -> bool:
    return ip_address(text) is not None


@functools.lru_cache(maxsize=4096)
def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `text` spells, or None for a name. Cached: verify asks several times
    per host, and a parse costs more than a handshake's Python."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_ipv6(text: str) -> bool:
    """An IPv6 address, with or without a %zone."""
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def a_label(name: str) -> str | None:
    """The ASCII form of a host name (IDNA A-labels, lower case), or None when `name` is not a
    valid internationalised name. The one conversion for SNI, the CONNECT line, name checks
    and CSR names, so that all of them put the same bytes on the wire."""
    if name.isascii():
        return name.lower()
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
"""An LDH label; the underscore too, which internal names (`_srv`, `my_host`) carry."""


def is_host_name(text: str) -> bool:
    """An IP literal, or a DNS name whose A-label form is LDH labels of at most 63 characters
    and 253 in all (a trailing dot allowed). Nothing else: no control or format characters
    (U+202E), no `*`, no spaces, which would end up in SNI, exports and XML."""
    if is_ip_address(text) or is_ipv6(text):
        return True
    if not text.isprintable():
        return False
    ascii_name = a_label(text)
    if ascii_name is None:
        return False
    name = ascii_name[:-1] if ascii_name.endswith(".") else ascii_name
    return 0 < len(name) <= 253 and re.fullmatch(rf"{_LABEL}(?:\.{_LABEL})*", name) is not None
