"""HTTP proxies as curl picks them: the proxy URL, HTTPS_PROXY, and NO_PROXY's exemptions.

The choice is made before anything is dialled, so that a bad proxy URL is a usage error
rather than a connection failure. It needs no socket: those stay in `pinctl.net.tls`, with
the CONNECT tunnel that runs on the handshake's deadline.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pinctl.errors import UsageError
from pinctl.hostnames import ip_address, join_host_port

_PASSWORD = re.compile(r"^((?:[^:/]+://)?[^/@:]*:)[^/]*@")
"""The password of ``scheme://user:password@``, as urlsplit would read it."""

PROXY_DEFAULT_PORT = 1080
"""curl's default when a proxy URL has no port."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None = None
    """The ``Proxy-Authorization`` value for credentials in the URL."""

    @property
    def label(self) -> str:
        return join_host_port(self.host, self.port)


def parse_proxy(url: str, what: str = "--proxy") -> Proxy:
    """Read an HTTP proxy URL; a bare ``host:port`` means http://, as in curl."""
    from urllib.parse import unquote, urlsplit

    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    url = _PASSWORD.sub(r"\1***@", url.strip(), count=1)  # never echo a proxy password
    try:
        parts = urlsplit(text)
    except ValueError:  # "Invalid IPv6 URL": a '[' with no ']'
        raise UsageError(
            f"{what} {url!r}: the proxy host has an unclosed '['; "
            "write an IPv6 proxy as http://[addr]:port"
        ) from None
    if parts.scheme.lower() != "http":
        raise UsageError(
            f"{what} {url!r}: only http:// proxies (HTTP CONNECT) are supported, "
            f"not {parts.scheme}://"
        )
    try:
        host, port = parts.hostname, parts.port
        if port == 0:
            raise ValueError(port)
    except ValueError:
        raise UsageError(f"{what} {url!r}: the port is not a number from 1 to 65535") from None
    if not host:
        raise UsageError(f"{what} {url!r}: no proxy host; expected http://host:port")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return Proxy(host, port or PROXY_DEFAULT_PORT, authorization)


def proxy_from_env(host: str, environ: Mapping[str, str]) -> str | None:
    """The proxy curl would use for an https:// URL to `host`, or None to go direct.

    Not parsed here: like curl, a malformed HTTPS_PROXY is an error only for a target that
    would use it, so a host NO_PROXY exempts still runs.
    """
    proxy = environ.get("https_proxy") or environ.get("HTTPS_PROXY")
    if not proxy or bypasses_proxy(host, environ.get("no_proxy") or environ.get("NO_PROXY", "")):
        return None
    return proxy


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """curl's NO_PROXY: ``*``, or a comma list of domain suffixes, IP addresses and CIDRs."""
    name = host.strip("[]").rstrip(".").lower()
    address = ip_address(name)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if address is not None:
            if _address_in(address, entry):
                return True
            continue
        entry = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        entry = entry.lstrip(".").rstrip(".")
        if entry and (name == entry or name.endswith("." + entry)):
            return True
    return False


def _address_in(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    if entry.startswith("["):  # [::1]:8080
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:  # 10.0.0.1:8080: curl ignores the port
        entry = entry.split(":", 1)[0]
    try:
        return address in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
