"""Which entries of the pin file a HOST argument names: one reading for every command.

verify, export, remove, promote and backup-keygen all take ``host``, ``host:port``,
``[v6]:port`` or a bare IPv6 address. A name without a port names every entry of that
host; a command that needs exactly one entry says which ports there are to choose from.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinctl.errors import InputError, UsageError
from pinctl.pinfile.model import HostEntry, PinFile

_SHOWN = 10
"""Hosts an unknown-host message lists before it says how many more there are."""


def split_host(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    value = text.strip()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or not host:
            raise UsageError(f"HOST {text!r}: expected [IPv6-address] or [IPv6-address]:port")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise UsageError(f"HOST {text!r}: unexpected {rest!r} after the IPv6 address")
        return host, _port(rest[1:], text)
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, _port(port, text)
    return value, None


def _port(text: str, given: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"HOST {given!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def matching(pin_file: PinFile, text: str, port: int | None = None) -> list[HostEntry]:
    """The entries `text` names, in pin-file order; `port` narrows a name given without one."""
    host, given = split_host(text)
    if given is not None and port is not None and given != port:
        raise UsageError(f"HOST {text!r} says port {given} but --port says {port}")
    wanted, chosen_port = host.lower(), given or port
    return [
        h
        for h in pin_file.hosts
        if h.host.lower() == wanted and (chosen_port is None or h.port == chosen_port)
    ]


def select_hosts(pin_file: PinFile, names: Sequence[str]) -> tuple[HostEntry, ...]:
    """The hosts named, in pin-file order (each once); every host when none is named."""
    if not pin_file.hosts:
        raise InputError(f"{pin_file.path} has no hosts; add one with `pinctl add HOST`")
    if not names:
        return pin_file.hosts
    chosen: set[tuple[str, int]] = set()
    for name in names:
        found = matching(pin_file, name)
        if not found:
            raise unknown_host(pin_file, name)
        chosen.update(entry.key for entry in found)
    return tuple(h for h in pin_file.hosts if h.key in chosen)


def one_host(pin_file: PinFile, text: str, port: int | None = None) -> HostEntry:
    """Exactly one entry, for commands that edit a host: a name on several ports is refused."""
    found = matching(pin_file, text, port)
    if len(found) == 1:
        return found[0]
    if not found:
        raise unknown_host(pin_file, text if port is None else f"{text.strip()}:{port}")
    ports = " and ".join(str(h.port) for h in found)
    raise UsageError(
        f"{found[0].host} is in {pin_file.path} for ports {ports}; "
        f"name one as {found[0].label} (or with --port)"
    )


def unknown_host(pin_file: PinFile, name: str) -> UsageError:
    """The one wording of "no such host", listing what the file has."""
    hosts = pin_file.hosts
    listed = ", ".join(h.label for h in hosts[:_SHOWN]) or "no hosts"
    more = f" and {len(hosts) - _SHOWN} more" if len(hosts) > _SHOWN else ""
    return UsageError(
        f"host {name.strip()!r} is not in {pin_file.path} (it has {listed}{more}); "
        "see `pinctl list`"
    )
