"""The real servers users pin through STARTTLS, started by the tests on loopback ports.

Each daemon runs from its Debian package's binary with a configuration written into a
temporary directory, serving a test certificate; nothing of the machine's own service
configuration is read or started. A missing binary skips its tests with the reason; a
daemon that is installed but does not come up fails them with the end of its log.
Starting one costs a second or three (PostgreSQL's initdb the most), so the fixtures
that use these are session-scoped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP = 20.0
"""Seconds a daemon may take to listen: far more than any needs on an idle machine."""


@dataclass(frozen=True)
class Served:
    """A daemon listening on loopback, and the files of the certificate it serves."""

    protocol: str
    port: int
    ca: Path
    name: str = "localhost"


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    ca: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(*candidates: str) -> str:
    """The first installed candidate, else skip naming the Debian package to install."""
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    pytest.skip(f"{candidates[0]} is not installed (see the apt line in .ci/run)")


def _as_user(user: str) -> list[str]:
    _needs_root(f"starting this daemon as user {user}")
    return ["runuser", "-u", user, "--"]


def _needs_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (it drops to its own users)")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running(
    argv: Sequence[str], ports: Sequence[int], log: Path, ready: str | None = None
) -> Iterator[None]:
    """Run `argv` in its own process group until the block ends; wait for its ports (and
    for `ready` in its log: a port may accept before the daemon serves)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP
        while not all(_listening(port) for port in ports) or (
            ready is not None and ready not in log.read_text(errors="replace")
        ):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"{argv[0]} did not start listening on {ports}:\n{tail}")
            time.sleep(0.05)
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the daemon and its children: the process group this module started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _copy(cert: Certificate, into: Path, owner: str | None = None) -> Certificate:
    """The certificate files where the daemon's user may read them (keys 0600 to it)."""
    into.mkdir(parents=True, exist_ok=True)
    copied = Certificate(into / "cert.pem", into / "key.pem", cert.ca)
    shutil.copyfile(cert.cert, copied.cert)
    shutil.copyfile(cert.key, copied.key)
    os.chmod(copied.key, 0o600)
    if owner is not None:
        shutil.chown(copied.key, owner)
        shutil.chown(copied.cert, owner)
    return copied


@contextlib.contextmanager
def postfix(work: Path, cert: Certificate) -> Iterator[Served]:
    """Postfix's master with one smtpd service on a loopback port, logging to a file."""
    master = binary("/usr/lib/postfix/sbin/master")
    _needs_root("postfix's master")
    port = free_port()
    etc, queue, data = work / "etc", work / "queue", work / "data"
    for folder in (etc, queue / "pid", queue / "private", queue / "public", data):
        folder.mkdir(parents=True)
    for folder in (queue, queue / "private", queue / "public", data):
        shutil.chown(folder, "postfix")
    tls = _copy(cert, work / "tls")
    (etc / "main.cf").write_text(
        f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
myhostname = mail.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_protocols = ipv4
maillog_file = /dev/stdout
smtpd_banner = $myhostname ESMTP pinctl-test
smtpd_tls_cert_file = {tls.cert}
smtpd_tls_key_file = {tls.key}
smtpd_tls_security_level = may
smtpd_tls_session_cache_database =
"""
    )
    (etc / "master.cf").write_text(
        f"""127.0.0.1:{port} inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
tlsmgr unix - - n 1000? 1 tlsmgr
"""
    )
    with running([master, "-c", str(etc), "-d"], [port], work / "log"):
        yield Served("smtp", port, cert.ca)


@contextlib.contextmanager
def dovecot(work: Path, cert: Certificate) -> Iterator[tuple[Served, Served]]:
    """Dovecot's IMAP and POP3 logins on loopback ports, with no mail users at all."""
    daemon = binary("/usr/sbin/dovecot", "dovecot")
    _needs_root("dovecot")
    imap, pop3 = free_port(), free_port()
    tls = _copy(cert, work / "tls")
    for folder in ("run", "state"):
        (work / folder).mkdir()
    (work / "dovecot.conf").write_text(
        f"""protocols = imap pop3
listen = 127.0.0.1
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/log
ssl = required
ssl_cert = <{tls.cert}
ssl_key = <{tls.key}
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = static
  args = password=unused-in-these-tests
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={work}/home
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""
    )
    with running([daemon, "-F", "-c", str(work / "dovecot.conf")], [imap, pop3], work / "out"):
        yield Served("imap", imap, cert.ca), Served("pop3", pop3, cert.ca)


@contextlib.contextmanager
def slapd(work: Path, cert: Certificate) -> Iterator[Served]:
    """slapd with no database: enough to answer the StartTLS extended operation."""
    daemon = binary("/usr/sbin/slapd", "slapd")
    port = free_port()
    tls = _copy(cert, work / "tls")
    (work / "slapd.conf").write_text(
        f"pidfile {work}/slapd.pid\nTLSCertificateFile {tls.cert}\n"
        f"TLSCertificateKeyFile {tls.key}\n"
    )
    argv = [daemon, "-d", "0", "-f", str(work / "slapd.conf"), "-h", f"ldap://127.0.0.1:{port}/"]
    with running(argv, [port], work / "log"):
        yield Served("ldap", port, cert.ca)


@contextlib.contextmanager
def vsftpd(work: Path, cert: Certificate) -> Iterator[Served]:
    """vsftpd in the foreground with AUTH TLS and no logins allowed."""
    daemon = binary("/usr/sbin/vsftpd", "vsftpd")
    _needs_root("vsftpd")
    port = free_port()
    tls = _copy(cert, work / "tls")
    (work / "empty").mkdir()
    (work / "vsftpd.conf").write_text(
        f"""listen=YES
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=NO
local_enable=YES
ssl_enable=YES
rsa_cert_file={tls.cert}
rsa_private_key_file={tls.key}
secure_chroot_dir={work}/empty
seccomp_sandbox=NO
"""
    )
    with running([daemon, str(work / "vsftpd.conf")], [port], work / "log"):
        yield Served("ftp", port, cert.ca)


@contextlib.contextmanager
def prosody(work: Path, cert: Certificate) -> Iterator[tuple[Served, Served]]:
    """Prosody serving the domain localhost, client and server streams, as user prosody."""
    daemon = binary("/usr/bin/prosody", "prosody")
    c2s, s2s = free_port(), free_port()
    work.mkdir(exist_ok=True)
    (work / "data").mkdir()
    tls = _copy(cert, work / "tls", owner="prosody")
    shutil.chown(work / "data", "prosody")
    (work / "prosody.cfg.lua").write_text(
        f"""pidfile = "{work}/data/prosody.pid"
data_path = "{work}/data"
log = {{ info = "*console" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
s2s_ports = {{ {s2s} }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "tls", "saslauth", "disco", "dialback" }}
c2s_require_encryption = true
ssl = {{ certificate = "{tls.cert}", key = "{tls.key}" }}
VirtualHost "localhost"
"""
    )
    argv = [*_as_user("prosody"), daemon, "-F", "--config", str(work / "prosody.cfg.lua")]
    with running(argv, [c2s, s2s], work / "log"):
        yield Served("xmpp", c2s, cert.ca), Served("xmpp-server", s2s, cert.ca)


@contextlib.contextmanager
def postgres(work: Path, cert: Certificate) -> Iterator[Served]:
    """A fresh cluster (initdb, no fsync) run by user postgres with ssl = on."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        pytest.skip("PostgreSQL is not installed (see the apt line in .ci/run)")
    bin_dir = found[-1].parent
    port = free_port()
    user = _as_user("postgres")
    work.mkdir(exist_ok=True)
    shutil.chown(work, "postgres")
    tls = _copy(cert, work / "tls", owner="postgres")
    subprocess.run(
        [*user, str(bin_dir / "initdb"), "-D", str(work / "data"), "-A", "trust", "--no-sync",
         "-U", "postgres", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    settings = {
        "ssl": "on",
        "ssl_cert_file": tls.cert,
        "ssl_key_file": tls.key,
        "port": port,
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": work,
        "fsync": "off",
    }
    argv = [*user, str(bin_dir / "postgres"), "-D", str(work / "data")]
    argv += [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    with running(argv, [port], work / "log", ready="ready to accept connections"):
        yield Served("postgres", port, cert.ca)


@contextlib.contextmanager
def mariadb(work: Path, cert: Certificate) -> Iterator[Served]:
    """mariadbd on an empty data directory without grant tables: it greets and does TLS."""
    daemon = binary("/usr/sbin/mariadbd", "mariadbd", "/usr/sbin/mysqld")
    port = free_port()
    (work / "data").mkdir(parents=True)
    tls = _copy(cert, work / "tls")
    argv = [
        daemon, "--no-defaults", "--user=root", f"--datadir={work}/data",
        f"--socket={work}/sock", f"--port={port}", "--bind-address=127.0.0.1",
        "--skip-grant-tables", f"--ssl-cert={tls.cert}", f"--ssl-key={tls.key}",
        "--innodb-buffer-pool-size=8M", "--skip-log-bin", f"--pid-file={work}/pid",
    ]  # fmt: skip
    with running(argv, [port], work / "log"):
        yield Served("mysql", port, cert.ca)
