"""Pin files as users write them, and malformed ones with the line each error must name."""

from __future__ import annotations

from pathlib import Path

import trustme
from cryptography import x509

from pinctl.pki.entries import spki_der
from pinctl.pki.pins import compute

LEAF = "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="
INTER = "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="
PAY = "sha256/Vjs8r4z+80wjNcr1YKepWQboSIRi63WsWXhIMN+eWys="
NEW = compute(b"new key")
BACKUP = compute(b"backup key")
SHA512 = str(compute(b"a key", "sha512"))
"""95 characters, the longest pin."""

COMMENTED = f"""\
# Pins for the payments team; reviewed like code.
version = 1

[defaults]
warn_days = 30  # a month
# ca_file = "certs/internal-root.pem"

# Main API
[[hosts]]
host = "api.example.com"   # prod
pins = [
  # primary
  {{ pin = "{LEAF}", level = "leaf", note = "k1" }},  # leaf key
  {{ pin = "{INTER}", level = "intermediate" }},
]

# Payments
[[hosts]]
host = "pay.example.com"
port = 8443
pins = [{{ pin = "{PAY}" }}]
# the end
"""

HOST = 'version = 1\n[[hosts]]\nhost = "a.example"\n'
PIN_AT_5 = HOST + "pins = [\n  {{ pin = {} }},\n]\n"

# (name, file text, line the error must name, words the message must contain)
MALFORMED = [
    ("bad TOML", 'version = 1\n\n[[hosts]\nhost = "a"\n', 3, "invalid TOML"),
    ("unclosed string", 'version = 1\n[[hosts]]\nhost = "a\n', 3, "invalid TOML"),
    ("duplicate key", "version = 1\nversion = 1\n", 2, "already exists"),
    ("missing version", '[[hosts]]\nhost = "a"\n', 1, "missing `version = 1`"),
    ("version as string", 'version = "1"\n', 1, "version must be the integer 1"),
    ("unsupported version", "\nversion = 2\n", 2, "unsupported version 2"),
    ("unknown top key", "version = 1\ncolour = 1\n", 2, "unknown key 'colour' in the top level"),
    ("unknown defaults key", "version = 1\n[defaults]\nwarn = 3\n", 3, "allowed: warn_days"),
    ("unknown host key", HOST + "verify_chian = false\n", 4, "did you mean 'verify_chain'"),
    ("unknown pin key", PIN_AT_5.format(f'"{LEAF}", lvl = "leaf"'), 5, "unknown key 'lvl'"),
    ("sub-table in a host", HOST + "[hosts.extra]\nx = 1\n", 4, "unknown key 'extra'"),
    (
        "sub-tables of [defaults] split by a host",
        'version = 1\n[defaults.x]\n[[hosts]]\nhost = "a"\n[defaults.y]\n',
        1,
        "unknown key 'x' in [defaults]; allowed: warn_days",
    ),
    ("port as string", HOST + 'port = "443"\n', 4, "port must be an integer"),
    (
        "a long string cut at 57 characters",
        HOST + 'port = "' + "abcdefghij" * 7 + '"\n',
        4,
        "not the string '" + ("abcdefghij" * 6)[:57] + "...'",
    ),
    ("a string of 60 shown whole", HOST + 'port = "' + "x" * 60 + '"\n', 4, "'" + "x" * 60 + "'"),
    ("a string of 61 cut", HOST + 'port = "' + "y" * 61 + '"\n', 4, "'" + "y" * 57 + "...'"),
    ("port out of range", HOST + "port = 70000\n", 4, "from 1 to 65535"),
    ("port as a date-time", HOST + "port = 2026-03-01T00:00:00Z\n", 4, "65535, not a date-time"),
    ("port as a date", HOST + "port = 2026-03-01\n", 4, "65535, not a date"),
    ("port as a time", HOST + "port = 07:00:00\n", 4, "65535, not a time"),
    ("port as an array", HOST + "port = [443]\n", 4, "65535, not an array"),
    ("port as a table", HOST + "port = { n = 443 }\n", 4, "65535, not a table"),
    ("host as integer", "version = 1\n[[hosts]]\nhost = 5\n", 3, "not the integer 5"),
    ("host with port", 'version = 1\n[[hosts]]\nhost = "a.example:8443"\n', 3, "port = N"),
    ("host as URL", 'version = 1\n[[hosts]]\nhost = "https://a.example/"\n', 3, "port = N"),
    ("no host", "version = 1\n\n[[hosts]]\nport = 8443\n", 3, "has no host"),
    ("empty host table", HOST + "\n[[hosts]]\n", 5, "has no host"),
    ("bool as string", HOST + 'verify_chain = "no"\n', 4, "true or false"),
    ("hosts as a table", 'version = 1\n[hosts]\nhost = "a"\n', 2, "[[hosts]] tables"),
    ("defaults as integer", "version = 1\ndefaults = 5\n", 2, "[defaults] must be a table, not"),
    ("host as a number", "version = 1\nhosts = [5]\n", 2, "[[hosts]] must be a table, not"),
    ("pin as a number", HOST + "pins = [5]\n", 4, "a pin must be a table, not the integer 5"),
    ("pins as string", HOST + 'pins = "x"\n', 4, "pins must be an array"),
    ("pin as bare string", HOST + f'pins = [\n  "{LEAF}",\n]\n', 5, "as a table"),
    (
        "a bare sha512 pin is the table to write, whole",
        HOST + f'pins = [\n  "{SHA512}",\n]\n',
        5,
        f'write each pin as a table: {{ pin = "{SHA512}" }}',
    ),
    (
        "a bare string of 101 characters cut",
        HOST + 'pins = ["' + "z" * 101 + '"]\n',
        4,
        '{ pin = "' + "z" * 97 + '..." }',
    ),
    ("a bare string of 100 whole", HOST + 'pins = ["' + "w" * 100 + '"]\n', 4, "w" * 100 + '" }'),
    ("a bare string's quote escaped", HOST + "pins = ['a\"b']\n", 4, '{ pin = "a\\"b" }'),
    ("pin missing", PIN_AT_5.format('"x"').replace("pin = ", "note = "), 5, "has no pin"),
    ("pin as integer", PIN_AT_5.format("5"), 5, "pin must be a string"),
    (
        "truncated pin",
        PIN_AT_5.format('"sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibi"'),
        5,
        "has 30 bytes",
    ),
    ("short pin", PIN_AT_5.format('"sha256/abc="'), 5, "a sha256 pin has 32"),
    ("unknown algorithm", PIN_AT_5.format(f'"md5/{LEAF[7:]}"'), 5, "unknown hash algorithm 'md5'"),
    (
        "url-safe base64",
        PIN_AT_5.format('"sha256/r_mIkG3eEpVdm-u_ko_cwxzOMo1bk4TyHIlByibiA5E="'),
        5,
        "URL-safe",
    ),
    (
        "empty-input hash",
        PIN_AT_5.format('"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="'),
        5,
        "hash of empty input",
    ),
    (
        "placeholder",
        PIN_AT_5.format('"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'),
        5,
        "placeholder",
    ),
    ("unknown kind", PIN_AT_5.format(f'"{LEAF}", kind = "key"'), 5, 'kind must be one of "spki"'),
    ("unknown level", PIN_AT_5.format(f'"{LEAF}", level = "ca"'), 5, "level must be one of"),
    ("date as string", PIN_AT_5.format(f'"{LEAF}", expires = "2026-03-01"'), 5, "has no quotes"),
    ("impossible date", PIN_AT_5.format(f'"{LEAF}", expires = 2026-02-30'), 5, "Invalid date"),
    ("date-time", PIN_AT_5.format(f'"{LEAF}", expires = 2026-03-01T00:00:00Z'), 5, "a date-time"),
    (
        "duplicate host",
        HOST + '\n[[hosts]]\nhost = "A.example"\nport = 443\n',
        5,
        "duplicate host A.example:443 (first at line 2)",
    ),
    (
        "duplicate pin",
        HOST + f'pins = [\n  {{ pin = "{LEAF}" }},\n  {{ pin = "{LEAF}" }},\n]\n',
        6,
        "listed twice for a.example:443 (first at line 5)",
    ),
    (
        "min_tls unquoted",
        "version = 1\n[defaults]\nmin_tls = 1.2\n",
        3,
        'quote it: min_tls = "1.2"',
    ),
    ("min_tls unknown", 'version = 1\n[defaults]\nmin_tls = "1.4"\n', 3, "min_tls must be one of"),
    ("negative warn_days", "version = 1\n[defaults]\nwarn_days = -1\n", 3, "0 or more"),
    ("warn_days as bool", "version = 1\n[defaults]\nwarn_days = true\n", 3, "not the boolean true"),
    ("bad connect_to", HOST + 'connect_to = "10.0.0.5:99999"\n', 4, "connect_to must be"),
    ("connect_to port 65536", HOST + 'connect_to = "b.test:65536"\n', 4, "connect_to must be"),
    ("empty ca_file", HOST + 'ca_file = ""\n', 4, "ca_file must be a path"),
    (
        "inline host table",
        'version = 1\nhosts = [\n  { host = "a" },\n  { host = "b", x = 1 },\n]\n',
        4,
        "unknown key 'x'",
    ),
]


ANOTHER_KEY = str(compute(b"a key that no server in these tests has"))
"""Stands for a backup key held offline: `host` writes it as ``backup = true``."""


def spki_pin(pem: trustme.Blob) -> str:
    cert = x509.load_pem_x509_certificate(pem.bytes())
    return str(compute(spki_der(cert.public_key())))


def write_pins(path: Path, *hosts: str, defaults: str = "", ca: Path | None = None) -> Path:
    """A pin file with `hosts` blocks; `ca` becomes [defaults] ca_file."""
    head = "version = 1\n\n[defaults]\n" + defaults
    if ca is not None:
        head += f'ca_file = "{ca}"\n'
    path.write_text(head + "\n" + "\n".join(hosts))
    return path


def host(name: str, port: int, *pins: str, extra: str = "") -> str:
    # ANOTHER_KEY stands for a backup key held offline (SPEC.md section 10: backup = true)
    body = "".join(f'  {{ pin = "{p}"{", backup = true" * (p == ANOTHER_KEY)} }},\n' for p in pins)
    return f'[[hosts]]\nhost = "{name}"\nport = {port}\n{extra}pins = [\n{body}]\n'
