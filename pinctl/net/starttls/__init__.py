"""STARTTLS: the plain-text dialogue some protocols speak before their TLS handshake.

A dialogue is one more step between the connection (direct or through a proxy tunnel)
and the handshake in `pinctl.net.tls`, written as a generator of waits like the rest,
so it runs under the host's one deadline. Each protocol family has its module, imported
only when a target speaks it; this module holds what targets and the pin file need to
know without any of them: the protocol names, their default ports and URL schemes.

Every dialogue fails closed. A server that does not offer STARTTLS, or refuses it, raises
`ConnectError` with status ``starttls-unsupported`` (on a pinned host that is a
downgrade); a byte the server sends after its go-ahead and before the handshake is a
``tls-error`` (it may be injected, and TLS would authenticate nothing of it).
"""

from __future__ import annotations

PORTS: dict[str, int] = {
    "smtp": 25,
    "imap": 143,
    "pop3": 110,
    "ftp": 21,
    "ldap": 389,
    "xmpp": 5222,
    "xmpp-server": 5269,
    "postgres": 5432,
    "mysql": 3306,
}
"""Every protocol `--starttls` and the pin file's ``starttls`` accept, with its port."""

PROTOCOLS: tuple[str, ...] = tuple(PORTS)

SCHEMES: dict[str, tuple[str, int]] = {
    **{name: (name, port) for name, port in PORTS.items()},
    "submission": ("smtp", 587),
    "postgresql": ("postgres", 5432),
}
"""URL schemes that speak a dialogue first: the protocol and the scheme's default port."""


LABELS: dict[str, str] = {
    "smtp": "SMTP",
    "imap": "IMAP",
    "pop3": "POP3",
    "ftp": "FTP",
    "ldap": "LDAP",
    "xmpp": "XMPP",
    "xmpp-server": "XMPP",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
}
