"""Host names and IP literals as every layer reads them: the pin file, path validation, dialling.

A name and an address are told apart once, here, so that the pin file's schema, the
certificate name check and the connection code cannot disagree about what `::1` or
`10.0.0.5` is.
"""

from __future__ import annotations

import functools
import ipaddress


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
