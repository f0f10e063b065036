"""`verify --as`: which apps would break. One judge per client, beside its exporter.

Each verdict is made from the very `Target` the client's export writes for the host (the
same `pinctl.exports.base.build`, the same left-out pins), plus what the app applies to
a host name it has no entry for: a parent's subdomain rule. `Apps` indexes a pin file
once per run, so a fleet's verdicts cost a dictionary look-up per host and client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pinctl.errors import UsageError
from pinctl.exports import android, curl, ios, okhttp, trustkit
from pinctl.exports.base import Target, build
from pinctl.exports.verdicts import ClientVerdict, Covering, Judge, Served
from pinctl.hostnames import is_ip_address
from pinctl.pinfile.model import CLIENTS, Client, HostEntry, PinFile


@dataclass(frozen=True)
class App:
    """One client: how it groups and judges a host."""

    name: Client
    judge: Judge
    by_port: bool = False
    """curl's value is one server's (host and port); the apps pin a host name."""
    reencodes: bool = True
    """Whether it hashes its own encoding of the key (see `Served.reencoded`)."""


APPS: dict[Client, App] = {
    "okhttp": App("okhttp", okhttp.judge, reencodes=okhttp.REENCODES),
    "curl": App("curl", curl.judge, by_port=True, reencodes=curl.REENCODES),
    "android": App("android", android.judge, reencodes=android.REENCODES),
    "ios": App("ios", ios.judge, reencodes=ios.REENCODES),
    "trustkit": App("trustkit", trustkit.judge, reencodes=trustkit.REENCODES),
}


def parse_clients(values: Sequence[str], where: str = "--as") -> tuple[Client, ...]:
    """`okhttp,ios`, repeated or not, and `all`; an unknown name is a usage error naming all."""
    chosen: list[Client] = []
    for value in values:
        for word in (w.strip().lower() for w in value.split(",")):
            if word == "all":
                chosen += CLIENTS
            elif word in APPS:
                chosen.append(APPS[word].name)
            else:
                raise UsageError(
                    f"{where}: unknown client {word!r}; the clients are "
                    f"{', '.join(CLIENTS)} (or all)"
                )
    return tuple(dict.fromkeys(chosen))


def selected(
    entry: HostEntry, pinfile: PinFile, given: tuple[Client, ...] | None
) -> tuple[Client, ...]:
    """`--as` wins; else the host's own `clients`, else [defaults]."""
    if given is not None:
        return given
    names = entry.clients if entry.clients is not None else pinfile.defaults.clients
    return parse_clients(names, "clients") if names else ()


class Apps:
    """The pin file as the apps would hold it, for the verdicts of one run."""

    def __init__(self, pinfile: PinFile, today: date) -> None:
        self.pinfile = pinfile
        self.today = today
        """The day the export is made: pins expired by then are not in the app."""
        self._names: dict[str, list[HostEntry]] = {}
        for entry in pinfile.hosts:
            self._names.setdefault(entry.host.lower(), []).append(entry)
        self._built: dict[tuple[str, int, bool], Target | None] = {}

    def verdicts(
        self, entry: HostEntry, clients: Sequence[Client], served: Served, at: date
    ) -> tuple[ClientVerdict, ...]:
        """Each client's verdict on `served` for `entry`, judged at `at`."""
        return tuple(
            APPS[name].judge(
                entry.host.lower(),
                self.covering(entry, name),
                served.as_reencoded() if APPS[name].reencodes else served,
                at,
            )
            for name in clients
        )

    def covering(self, entry: HostEntry, client: Client) -> list[Covering]:
        """The host's own pins if the client has any, then each parent name whose pins
        cover subdomains, closest first; curl has no subdomain rule."""
        by_port, reencodes = APPS[client].by_port, APPS[client].reencodes
        name = entry.host.lower()
        found = []
        own = self._target(name, entry.port if by_port else 0, reencodes)
        if own is not None:
            found.append(Covering(own, 0))
        if by_port or is_ip_address(name):
            return found
        labels = name.rstrip(".").split(".")
        for depth in range(1, len(labels)):
            parent_name = ".".join(labels[depth:])
            parent = self._target(parent_name, 0, reencodes) if parent_name in self._names else None
            if parent is not None and parent.include_subdomains:
                found.append(Covering(parent, depth))
        return found

    def _target(self, name: str, port: int, reencodes: bool) -> Target | None:
        """Built once per name (and port, for curl) for every client: which pins a client
        can use is the same rule for all of them; only the words of the export differ,
        and which spelling of a pin it can match."""
        key = (name, port, reencodes)
        if key not in self._built:
            group = [e for e in self._names.get(name, ()) if not port or e.port == port]
            self._built[key] = (
                build(self.pinfile, group, self.today, "the app", reencodes)[0] if group else None
            )
        return self._built[key]
